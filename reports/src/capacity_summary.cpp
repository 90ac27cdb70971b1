#include "uptake/reports/capacity_summary.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <cmath>

#include "uptake/base/civil_time.hpp"
#include "uptake/base/input_error.hpp"
#include "uptake/reports/text_table.hpp"

namespace uptake::reports {
namespace {

using nlohmann::ordered_json;

// Measured and modelled capacity further apart than this are explained, not just shown.
constexpr double kModelDisagreement = 0.15;

double ms(Seconds value) { return value.count() * 1e3; }

// JSON has no infinity: a figure beyond every bound (Erlang C past saturation, headroom with no
// demand) is null, and the field's documentation says so.
ordered_json finite_or_null(double value) { return std::isfinite(value) ? ordered_json(value) : ordered_json(nullptr); }

ordered_json step_json(const loadgen::CapacityStep& step) {
  return {{"step", step.step},
          {"trial", step.trial},
          {"phase", loadgen::to_string(step.phase)},
          {"offered_rps", step.offered_rps},
          {"planned_rps", step.planned_rps},
          {"achieved_rps", step.achieved_rps},
          {"planned", step.planned},
          {"completed", step.completed},
          {"errors", step.errors},
          {"error_rate", step.error_rate},
          {"p50_ms", ms(step.p50)},
          {"p90_ms", ms(step.p90)},
          {"p99_ms", ms(step.p99)},
          {"p999_ms", ms(step.p999)},
          {"mean_ms", ms(step.mean)},
          {"schedule_lag_p99_ms", ms(step.schedule_lag_p99)},
          {"generator_trusted", step.generator_trusted},
          {"generator_problem", step.generator_problem.empty() ? ordered_json(nullptr) : ordered_json(step.generator_problem)},
          {"trial_passed", step.trial_passed},
          {"worst_threshold", step.worst_threshold},
          {"worst_observed", step.worst_observed},
          {"worst_margin", finite_or_null(step.worst_margin)},
          {"worst_interval", step.worst_interval.empty() ? ordered_json(nullptr) : ordered_json(step.worst_interval)},
          {"warm_up_s", step.warm_up.count()},
          {"measured_s", step.measured.count()},
          {"verdict", loadgen::to_string(step.verdict)}};
}

ordered_json prediction_json(const loadgen::CapacityPrediction& p) {
  return {{"servers", p.servers},
          {"servers_estimated", p.servers_estimated},
          {"mean_service_ms", p.mean_service_seconds * 1e3},
          {"objective", p.objective},
          {"erlang_c_rps", finite_or_null(p.erlang_capacity_rps)},
          {"erlang_c_objective_at_measured_ms", finite_or_null(ms(p.erlang_percentile_at_measured))},
          {"simulated_rps", p.simulated_capacity_rps ? finite_or_null(*p.simulated_capacity_rps) : ordered_json(nullptr)},
          {"simulated_objective_at_measured_ms",
           p.simulated_percentile_at_measured ? finite_or_null(ms(*p.simulated_percentile_at_measured)) : ordered_json(nullptr)},
          {"mean_server_ms", p.mean_server_seconds ? ordered_json(*p.mean_server_seconds * 1e3) : ordered_json(nullptr)},
          {"verdict", models_verdict(p)}};
}

ordered_json scalability_json(const sim::ScalabilityFit& fit) {
  const auto peak = fit.model.peak();
  return {{"contention", fit.model.contention},
          {"coherency", fit.model.coherency},
          {"single_unit_rps", fit.model.single_unit},
          {"points", fit.points},
          {"residual_standard_error_rps", fit.residual_standard_error ? ordered_json(*fit.residual_standard_error) : ordered_json(nullptr)},
          {"peak_load", peak ? ordered_json(peak->load) : ordered_json(nullptr)},
          {"peak_rps", peak ? ordered_json(peak->throughput) : ordered_json(nullptr)}};
}

const char* exhaustion_kind(sim::ExhaustionKind kind) {
  switch (kind) {
    case sim::ExhaustionKind::within_projection: return "within_projection";
    case sim::ExhaustionKind::not_within_projection: return "not_within_projection";
    case sim::ExhaustionKind::already_exceeded: return "already_exceeded";
  }
  return "unknown";
}

ordered_json exhaustion_json(const sim::Exhaustion& exhaustion, const std::vector<sim::YearlyDesignPeak>& peaks) {
  return {{"kind", exhaustion_kind(exhaustion.kind)},
          {"date", exhaustion.date ? ordered_json(format_date(*exhaustion.date)) : ordered_json(nullptr)},
          {"text", sim::describe(exhaustion, peaks)}};
}

ordered_json uncertainty_json(const sim::UncertainPlan& plan, const std::vector<sim::YearlyDesignPeak>& peaks) {
  auto quantiles = ordered_json::array();
  for (const auto& quantile : plan.exhaustion) {
    auto item = exhaustion_json(quantile.exhaustion, peaks);
    item["probability"] = quantile.probability;
    quantiles.push_back(item);
  }
  return {{"draws", plan.draws}, {"risk", plan.risk}, {"exhaustion_quantiles", quantiles}};
}

ordered_json plan_json(const CapacityFindings& findings) {
  const auto& plan = *findings.plan;
  auto years = ordered_json::array();
  for (std::size_t y = 0; y < plan.years.size(); ++y) {
    const auto& year = plan.years[y];
    const auto& peak = findings.peaks[y];
    ordered_json item{{"year", year.year},
                      {"design_peak_rps", year.design_peak_per_second},
                      {"design_peak_rps_lower", peak.lower ? ordered_json(*peak.lower) : ordered_json(nullptr)},
                      {"design_peak_rps_upper", peak.upper ? ordered_json(*peak.upper) : ordered_json(nullptr)},
                      {"capacity_rps", year.capacity_per_second},
                      {"headroom", finite_or_null(year.headroom_fraction)},
                      {"instances_needed", year.instances_needed}};
    if (findings.uncertain_plan) {
      item["exceedance_probability"] = findings.uncertain_plan->years[y].exceedance_probability;
      item["instances_at_risk"] = findings.uncertain_plan->years[y].instances_at_risk;
    }
    years.push_back(item);
  }
  return {{"instances_deployed", findings.plan_options.deployed_instances},
          {"instance_capacity_rps", findings.plan_options.instance_capacity_per_second},
          {"target_utilisation", findings.plan_options.target_utilisation_fraction},
          {"years", years},
          {"exhaustion", exhaustion_json(plan.exhaustion, findings.peaks)},
          {"uncertainty", findings.uncertain_plan ? uncertainty_json(*findings.uncertain_plan, findings.peaks) : ordered_json(nullptr)}};
}

// "in 10% of futures by 2026-03-02, in 50% by 2027-01-30, in 90% not within the projection".
std::string describe_quantiles(const sim::UncertainPlan& plan, const std::vector<sim::YearlyDesignPeak>& peaks) {
  std::vector<std::string> parts;
  for (const auto& quantile : plan.exhaustion) {
    const auto& exhaustion = quantile.exhaustion;
    const std::string when = exhaustion.kind == sim::ExhaustionKind::within_projection ? "by " + format_date(*exhaustion.date)
                             : exhaustion.kind == sim::ExhaustionKind::already_exceeded
                                 ? "already at the first year"
                                 : fmt::format("not by the end of {}", peaks.empty() ? 0 : peaks.back().year);
    parts.push_back(fmt::format("P{:.0f} {}", quantile.probability * 100, when));
  }
  return fmt::format("with the uncertainty of the forecast and of the capacity ({} draws), demand outgrows it: {}", plan.draws,
                     fmt::join(parts, ", "));
}

}  // namespace

ordered_json capacity_json(const CapacityFindings& findings) {
  const auto& search = findings.search;
  auto steps = ordered_json::array();
  for (const auto& step : search.steps) steps.push_back(step_json(step));
  ordered_json classes = ordered_json::object();
  for (const auto& [name, count] : search.failure_classes) classes[name] = count;
  return {{"outcome", loadgen::to_string(search.outcome)},
          {"rps", search.capacity_rps},
          {"lower_rps", search.lower_rps},
          {"upper_rps", search.upper_rps > 0 ? ordered_json(search.upper_rps) : ordered_json(nullptr)},
          {"confidence", search.confidence},
          {"lower_bound_only", loadgen::is_lower_bound(search.outcome)},
          {"slo", search.slo},
          {"explanation", search.explanation},
          {"mix", findings.mix},
          {"undecided_steps", search.undecided_steps},
          {"failure_classes", classes},
          {"sample_failure", search.sample_error.empty() ? ordered_json(nullptr) : ordered_json(search.sample_error)},
          {"trials", search.trials},
          {"search_s", search.elapsed.count()},
          {"low_load_rps", search.low_load_rps},
          {"steps", steps},
          {"prediction", findings.prediction ? prediction_json(*findings.prediction) : ordered_json(nullptr)},
          {"usl", findings.scalability ? scalability_json(*findings.scalability) : ordered_json(nullptr)},
          {"plan", findings.plan ? plan_json(findings) : ordered_json(nullptr)}};
}

std::string render_capacity_text(const CapacityFindings& findings) {
  const auto& search = findings.search;
  std::string out = fmt::format("\nCapacity: {}\n  {}\n", capacity_headline(search), search.explanation);
  out += fmt::format("  {} trial(s) in {:.0f} s; every step replays {}; SLO: {}\n", search.trials, search.elapsed.count(), findings.mix,
                     fmt::join(search.slo, ", "));
  if (const auto& p = findings.prediction) {
    out += fmt::format("\nModels, from the service times measured at {} (mean {:.3f} ms), {} server(s){}, objective {}:\n", readable_number(search.low_load_rps) + "/s",
                       p->mean_service_seconds * 1e3, p->servers, p->servers_estimated ? " (estimated: the fewest that Erlang C says carry the measured rate)" : "", p->objective);
    TextTable table({"", "capacity", fmt::format("{} at {}/s", p->objective.substr(0, p->objective.find_first_of("<>")), readable_number(p->measured_capacity_rps))},
                    {TextTable::Align::left});
    auto at = [](double seconds) { return std::isfinite(seconds) ? fmt::format("{:.2f} ms", seconds * 1e3) : std::string("saturated"); };
    table.add_row({"measured", readable_number(p->measured_capacity_rps) + "/s", "within the SLO"});
    table.add_row({"Erlang C (M/M/c)", readable_number(p->erlang_capacity_rps) + "/s", at(p->erlang_percentile_at_measured.count())});
    if (p->simulated_capacity_rps) {
      table.add_row({"simulated M/G/c", *p->simulated_capacity_rps > 0 ? readable_number(*p->simulated_capacity_rps) + "/s" : "none: the service times alone break it",
                     p->simulated_percentile_at_measured ? at(p->simulated_percentile_at_measured->count()) : "—"});
    }
    out += table.render();
    out += "  " + models_verdict(*p) + "\n";
  }
  if (const auto& fit = findings.scalability) {
    const auto peak = fit->model.peak();
    out += fmt::format("  USL over {} trials (load = achieved rate x mean response time): contention {:.4g}, coherency {:.4g}, {}\n", fit->points,
                       fit->model.contention, fit->model.coherency,
                       peak ? fmt::format("peak {}/s at {:.1f} requests in the system", readable_number(peak->throughput), peak->load)
                            : std::string("no peak (the throughput only rises)"));
  }
  if (findings.plan) {
    const auto& options = findings.plan_options;
    out += fmt::format("\nPlan: {} instance(s) of {}/s each{}{}, against the design peak (busiest hour's mean rate) per year:\n", options.deployed_instances,
                       readable_number(options.instance_capacity_per_second),
                       loadgen::is_lower_bound(search.outcome) ? " (a lower bound: the headroom is at least, and the exhaustion date at the earliest, what follows)" : "",
                       options.target_utilisation_fraction < 1 ? fmt::format(", planned at {:.0f}% utilisation", options.target_utilisation_fraction * 100) : "");
    const auto* uncertain = findings.uncertain_plan ? &*findings.uncertain_plan : nullptr;
    std::vector<std::string> headers{"year", "design peak", "upper", "capacity", "headroom", "instances needed"};
    if (uncertain) {
      headers.push_back("P(peak > capacity)");
      headers.push_back(fmt::format("instances at {:g}% risk", uncertain->risk * 100));
    }
    TextTable table(headers, {TextTable::Align::left});
    for (std::size_t y = 0; y < findings.plan->years.size(); ++y) {
      const auto& year = findings.plan->years[y];
      const auto& peak = findings.peaks[y];
      std::vector<std::string> row{std::to_string(year.year), readable_number(year.design_peak_per_second) + "/s",
                                   peak.upper ? readable_number(*peak.upper) + "/s" : "", readable_number(year.capacity_per_second) + "/s",
                                   format_headroom(year.headroom_fraction), group_thousands(static_cast<double>(year.instances_needed))};
      if (uncertain) {
        row.push_back(fmt::format("{:.0f}%", uncertain->years[y].exceedance_probability * 100));
        row.push_back(group_thousands(static_cast<double>(uncertain->years[y].instances_at_risk)));
      }
      table.add_row(row);
    }
    out += table.render();
    out += fmt::format("  demand exceeds capacity: {} (the point forecast against the capacity's estimate)\n",
                       sim::describe(findings.plan->exhaustion, findings.peaks));
    if (uncertain) out += "  " + describe_quantiles(*uncertain, findings.peaks) + "\n";
  }
  return out;
}

// The low-load service time's split, when the target said its own time (Server-Timing).
static std::string service_time_split(const loadgen::CapacityPrediction& p) {
  if (!p.mean_server_seconds) return "";
  const double outside = p.mean_service_seconds - *p.mean_server_seconds;
  return fmt::format("Of the {:.3f} ms per request measured at low load, the target's own time (its Server-Timing) was {:.3f} ms: {:.3f} ms ({:.0f}%) "
                     "is the network's and the generator's, which occupies no server. ",
                     p.mean_service_seconds * 1e3, *p.mean_server_seconds * 1e3, outside * 1e3,
                     p.mean_service_seconds > 0 ? outside / p.mean_service_seconds * 100 : 0.0);
}

// What the models' agreement with the measurement shows (models_verdict's second part).
static std::string agreement(const loadgen::CapacityPrediction& p) {
  if (p.servers_estimated) {
    return "The server count was estimated as the fewest with which Erlang C carries the measured capacity, so Erlang C is fitted to the "
           "measurement and agrees with it by construction: it checks nothing. Give --servers N to check the measurement against the model.";
  }
  if (!(p.erlang_capacity_rps > 0) || !(p.measured_capacity_rps > 0)) return "Erlang C gives no capacity to compare with.";
  const double ratio = p.measured_capacity_rps / p.erlang_capacity_rps;
  auto text = fmt::format("Measured / Erlang C with {} server(s) as given: {:.2f}.", p.servers, ratio);
  if (std::abs(ratio - 1) > kModelDisagreement) {
    text += fmt::format(" A gap of more than {:.0f}%: the service time is measured at low load from the generator's send to the answer, so it "
                        "includes the network and the generator's own time, which occupy no server; the model then counts too much work per "
                        "request (measured above the model) or the target has fewer servers, or slower ones, than given (measured below).",
                        kModelDisagreement * 100);
  }
  return text;
}

std::string models_verdict(const loadgen::CapacityPrediction& p) { return service_time_split(p) + agreement(p); }

std::string capacity_headline(const loadgen::CapacitySearchResult& search) {
  const auto rate = [](double rps) { return readable_number(rps) + "/s"; };
  switch (search.outcome) {
    case loadgen::CapacityOutcome::found:
      return fmt::format("{} ({:.0f}% interval {} to {})", rate(search.capacity_rps), search.confidence * 100, rate(search.lower_rps), rate(search.upper_rps));
    case loadgen::CapacityOutcome::no_passing_rate: return "none: no rate met the SLO";
    case loadgen::CapacityOutcome::load_independent: return "none: the target fails at any load";
    default: return fmt::format("at least {} (a lower bound: {})", rate(search.capacity_rps), loadgen::to_string(search.outcome));
  }
}

std::string format_headroom(double fraction) {
  if (!std::isfinite(fraction)) return "no demand";
  if (fraction > 9) return fmt::format("{}x the peak", group_thousands(1 + fraction));
  return fmt::format("{:+.0f}%", fraction * 100);
}

int capacity_exit_code(loadgen::CapacityOutcome outcome) {
  switch (outcome) {
    case loadgen::CapacityOutcome::found:
    case loadgen::CapacityOutcome::ceiling: return kExitOk;
    case loadgen::CapacityOutcome::no_passing_rate:
    case loadgen::CapacityOutcome::load_independent: return kExitThresholdFailed;
    case loadgen::CapacityOutcome::generator_limit:
    case loadgen::CapacityOutcome::budget_exhausted:
    case loadgen::CapacityOutcome::interrupted: return kExitUntrusted;
  }
  return kExitUntrusted;
}

}  // namespace uptake::reports
