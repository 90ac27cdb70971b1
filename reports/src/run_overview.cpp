#include "run_overview.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>

#include "uptake/reports/capacity_summary.hpp"
#include "uptake/reports/check_result.hpp"
#include "uptake/reports/gate.hpp"
#include "uptake/reports/text_table.hpp"

namespace uptake::reports {
namespace {

using nlohmann::ordered_json;

// A thresholds[] entry's observed figure in its unit ("s", "fraction", "requests/s").
std::string observed_of(const loadgen::SummaryThreshold& threshold) {
  if (!threshold.observed) return "—";
  const double observed = *threshold.observed;
  const auto& unit = threshold.unit;
  if (unit == "s") return format_latency(observed);
  if (unit == "fraction") return format_percent(observed);
  if (unit == "requests/s") return format_rate(observed);
  return readable_number(observed) + (unit.empty() ? "" : " " + unit);
}

}  // namespace

std::optional<double> number_at(const ordered_json& json, const std::string& pointer) {
  const ordered_json::json_pointer where(pointer);
  if (!json.contains(where)) return std::nullopt;
  const auto& value = json.at(where);
  if (!value.is_number()) return std::nullopt;
  return value.get<double>();
}

std::chrono::sys_seconds started_at_of(const loadgen::Summary& summary) {
  return std::chrono::sys_seconds{std::chrono::seconds{static_cast<long long>(std::floor(summary.started_at))}};
}

std::string milliseconds_text(std::optional<double> milliseconds) {
  if (!milliseconds) return "—";
  if (*milliseconds >= 1000) return fmt::format("{:.2f} s", *milliseconds / 1000);
  if (*milliseconds >= 100) return fmt::format("{:.0f} ms", *milliseconds);
  return fmt::format("{:.2f} ms", *milliseconds);
}

std::string run_name(const RunResults& results) {
  const auto& name = results.summary.scenario;
  return name.empty() || name == "ad hoc" ? std::string("ad hoc run") : name;
}

RunOverview overview_of(const RunResults& results) {
  const auto& summary = results.summary;
  RunOverview overview;
  for (const auto& threshold : summary.thresholds) {
    overview.thresholds.push_back({threshold.expression, observed_of(threshold), threshold.passed, threshold.message});
  }
  for (const auto& [error_class, count] : summary.errors) {
    if (count > 0) overview.errors_by_class.emplace_back(error_class, count);
  }
  overview.generator_trusted = summary.generator.trusted;
  const auto lag_p99 = summary.schedule_lag_ms.p99;
  if (!overview.generator_trusted) {
    overview.generator_note = summary.generator.reason.empty() ? std::string("the generator fell behind its schedule") : summary.generator.reason;
  } else if (lag_p99) {
    overview.generator_note = fmt::format("schedule lag p99 {} within the bound of {}", milliseconds_text(lag_p99), milliseconds_text(summary.generator.lag_bound_ms));
  } else {
    overview.generator_note = "kept to its schedule";
  }

  // The same judgement as the gate's: a run whose partial results were allowed (merge
  // --allow-missing) says so in its recorded trust.
  const auto trust = judge_trust(results, summary.trust && summary.trust->partial_allowed ? PartialAllowance::all() : PartialAllowance{});
  const auto failed = std::count_if(overview.thresholds.begin(), overview.thresholds.end(), [](const ThresholdRow& row) { return !row.passed; });
  const auto total = overview.thresholds.size();
  if (!trust.trusted) {
    overview.outcome = RunOutcome::untrusted;
    overview.verdict = "untrusted: " + trust.reason;
  } else if (failed > 0) {
    overview.outcome = RunOutcome::fail;
    overview.verdict = fmt::format("failed: {} of {} threshold{} failed", failed, total, total == 1 ? "" : "s");
  } else if (total > 0) {
    overview.verdict = fmt::format("passed: {} of {} threshold{} hold", total, total, total == 1 ? "" : "s");
  } else {
    overview.verdict = "completed: no thresholds to judge";
  }
  if (const auto& aborted = summary.aborted) {
    overview.verdict += fmt::format(" (aborted at {:.1f} s by --abort-on-fail: {} can no longer hold)", aborted->at_s, aborted->threshold);
  }
  if (trust.trusted && trust.partial) overview.verdict += " (partial results, allowed: " + trust.partial_note + ")";
  return overview;
}

std::optional<CapacityOverview> capacity_overview_of(const loadgen::Summary& summary) {
  if (!summary.capacity) return std::nullopt;
  const auto& capacity = *summary.capacity;
  const auto text_at = [](const nlohmann::ordered_json& json, const char* key) {
    return json.contains(key) && json[key].is_string() ? json[key].get<std::string>() : std::string();
  };
  const auto rate_at = [](const nlohmann::ordered_json& json, const std::string& pointer) {
    const auto value = number_at(json, pointer);
    return value ? readable_number(*value) + "/s" : std::string("—");
  };
  CapacityOverview overview;
  std::string slo;
  if (capacity.contains("slo") && capacity["slo"].is_array()) {
    for (const auto& threshold : capacity["slo"]) {
      if (threshold.is_string()) slo += (slo.empty() ? "" : ", ") + threshold.get<std::string>();
    }
  }
  // Led by the interval; a lower bound says it is one.
  const auto lower = number_at(capacity, "/lower_rps"), upper = number_at(capacity, "/upper_rps"), confidence = number_at(capacity, "/confidence");
  const bool lower_bound_only = capacity.contains("lower_bound_only") && capacity["lower_bound_only"].is_boolean() && capacity["lower_bound_only"].get<bool>();
  std::string interval;
  if (lower_bound_only) interval = " (a lower bound)";
  else if (lower && upper && confidence) interval = fmt::format(" ({:.0f}% interval {} to {})", *confidence * 100, rate_at(capacity, "/lower_rps"), rate_at(capacity, "/upper_rps"));
  overview.headline = fmt::format("{}{}{} within {} ({})", lower_bound_only ? "at least " : "", rate_at(capacity, "/rps"), interval, slo.empty() ? "its SLO" : slo,
                                  text_at(capacity, "outcome"));
  overview.explanation = text_at(capacity, "explanation");
  if (capacity.contains("prediction") && capacity["prediction"].is_object()) {
    const auto& prediction = capacity["prediction"];
    const auto at = [&](const std::string& pointer) {
      const auto value = number_at(prediction, pointer);
      return value ? milliseconds_text(value) : std::string("saturated");
    };
    overview.models.push_back({"measured", rate_at(capacity, "/rps"), "within the SLO"});
    overview.models.push_back({"Erlang C (M/M/c)", rate_at(prediction, "/erlang_c_rps"), at("/erlang_c_objective_at_measured_ms")});
    if (number_at(prediction, "/simulated_rps")) {
      overview.models.push_back({"simulated M/G/c", rate_at(prediction, "/simulated_rps"), at("/simulated_objective_at_measured_ms")});
    }
    if (const auto usl_peak = number_at(capacity, "/usl/peak_rps")) {
      overview.models.push_back({"USL fit (peak throughput)", readable_number(*usl_peak) + "/s", "—"});
    }
    const auto servers = number_at(prediction, "/servers");
    const bool estimated = prediction.value("servers_estimated", false);
    overview.models_note = fmt::format("Service times measured at {} (mean {}), {} server(s){}, objective {}.", rate_at(capacity, "/low_load_rps"),
                                       milliseconds_text(number_at(prediction, "/mean_service_ms")), servers ? fmt::format("{:.0f}", *servers) : "—",
                                       estimated ? " (estimated from Erlang C)" : "", text_at(prediction, "objective"));
    if (const auto verdict = text_at(prediction, "verdict"); !verdict.empty()) overview.models_note += " " + verdict;
  }
  if (capacity.contains("steps") && capacity["steps"].is_array()) {
    for (const auto& step : capacity["steps"]) {
      if (!step.is_object()) continue;
      const auto whole = [&](const char* pointer) {
        const auto value = number_at(step, pointer);
        return value ? fmt::format("{:.0f}", *value) : std::string("—");
      };
      const auto error_rate = number_at(step, "/error_rate");
      overview.steps.push_back({whole("/step") + "." + whole("/trial"), text_at(step, "phase"), rate_at(step, "/offered_rps"), rate_at(step, "/achieved_rps"),
                                milliseconds_text(number_at(step, "/p50_ms")), milliseconds_text(number_at(step, "/p99_ms")),
                                error_rate ? fmt::format("{:.2f}%", *error_rate * 100) : std::string("—"), text_at(step, "verdict")});
    }
  }
  const nlohmann::ordered_json::json_pointer years_at("/plan/years");
  if (capacity.contains(years_at) && capacity.at(years_at).is_array()) {
    for (const auto& year : capacity.at(years_at)) {
      const auto headroom = number_at(year, "/headroom");
      const auto instances = number_at(year, "/instances_needed");
      overview.plan.push_back({number_at(year, "/year") ? fmt::format("{:.0f}", *number_at(year, "/year")) : "—", rate_at(year, "/design_peak_rps"),
                               rate_at(year, "/capacity_rps"), headroom ? format_headroom(*headroom) : "no demand",
                               instances ? group_thousands(*instances) : "—"});
    }
    const nlohmann::ordered_json::json_pointer exhaustion_at("/plan/exhaustion/text");
    if (capacity.contains(exhaustion_at) && capacity.at(exhaustion_at).is_string()) overview.exhaustion = capacity.at(exhaustion_at).get<std::string>();
    const nlohmann::ordered_json::json_pointer quantiles_at("/plan/uncertainty/exhaustion_quantiles");
    if (capacity.contains(quantiles_at) && capacity.at(quantiles_at).is_array()) {
      std::vector<std::string> parts;
      for (const auto& quantile : capacity.at(quantiles_at)) {
        const auto probability = number_at(quantile, "/probability");
        if (probability && quantile.contains("text") && quantile["text"].is_string()) {
          parts.push_back(fmt::format("P{:.0f} {}", *probability * 100, quantile["text"].get<std::string>()));
        }
      }
      overview.exhaustion_quantiles = fmt::format("{}", fmt::join(parts, ", "));
    }
  }
  return overview;
}

}  // namespace uptake::reports
