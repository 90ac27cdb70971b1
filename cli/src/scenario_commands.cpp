// Commands that read a scenario and need no network: new, check, forecast, schedule.
#include <fmt/format.h>

#include <charconv>
#include <cmath>
#include <cstdio>
#include <filesystem>

#include "command.hpp"
#include "uptake/base/files.hpp"
#include "uptake/base/input_error.hpp"
#include "uptake/loadgen/request_plan.hpp"
#include "uptake/reports/forecast_report.hpp"
#include "uptake/reports/text_table.hpp"
#include "uptake/sim/arrivals.hpp"
#include "uptake/sim/forecast.hpp"
#include "uptake/sim/scenario_loader.hpp"

namespace uptake::cli {
namespace {

// "2023..2030", "2027" -> {from, to}
std::pair<int, int> parse_years(const std::string& text) {
  const auto dots = text.find("..");
  const auto parse = [&](std::string_view part) {
    int value = 0;
    const auto [end, ec] = std::from_chars(part.data(), part.data() + part.size(), value);
    if (ec != std::errc{} || end != part.data() + part.size() || value < 1900 || value > 2200) {
      throw InputError({}, "--years", fmt::format("'{}' is not a year range", text), "FROM..TO such as 2021..2030, or one year");
    }
    return value;
  };
  if (dots == std::string::npos) {
    const int year = parse(text);
    return {year, year};
  }
  const int from = parse(std::string_view(text).substr(0, dots));
  const int to = parse(std::string_view(text).substr(dots + 2));
  if (to < from) throw InputError({}, "--years", fmt::format("'{}' ends before it starts", text), "FROM..TO with FROM <= TO");
  return {from, to};
}

void emit(const std::string& text, const std::string& out_path) {
  if (out_path.empty()) {
    std::fputs(text.c_str(), stdout);
  } else {
    write_file_atomically(out_path, text);
    fmt::print(stderr, "wrote {}\n", out_path);
  }
}

int run_new(const po::variables_map& values) {
  const auto name = values["name"].as<std::string>();
  if (!sim::is_usable_scenario_name(name)) {
    throw InputError({}, "NAME", fmt::format("'{}' is not a usable scenario name", name), sim::kUsableScenarioName);
  }
  const auto path = values.count("out") ? values["out"].as<std::string>() : name + ".yaml";
  if (std::filesystem::exists(path) && !values.count("force")) {
    throw InputError({path, 0, 0}, "", "already exists; not overwritten", "another name, --out FILE, or --force");
  }
  write_file_atomically(path, sim::scenario_template(name));
  fmt::print("wrote {}: an annotated starting scenario. Next: edit it, then 'uptake check {}' and 'uptake forecast {}'.\n", path, path, path);
  return kExitOk;
}

// What loads but may not be what the author meant (the scenario's own warnings, and what its
// forecast finds), on standard error so that a table or JSON on standard output stays clean.
void print_warnings(const std::vector<std::string>& warnings) {
  for (const auto& warning : warnings) fmt::print(stderr, "warning: {}\n", warning);
}

int run_check(const po::variables_map& values) {
  for (const auto& path : values["scenario"].as<std::vector<std::string>>()) {
    const auto scenario = sim::load_scenario(path);
    print_warnings(scenario.warnings);
    // The environment a run would read ({{env.NAME}}): a missing variable fails here as it would
    // before a run's load. Only whether each is set is looked at; no value is printed.
    loadgen::environment_values(scenario);
    // Fitting belongs to checking: a series that no model can fit is an invalid scenario.
    const auto forecast = sim::make_forecast(scenario, scenario.growth.project_to_year, scenario.growth.project_to_year);
    print_warnings(forecast.warnings);
    const auto window = sim::replay_window(scenario, *forecast.rate_model);
    const sim::ArrivalSchedule schedule(*forecast.rate_model, window, scenario.seed);
    fmt::print("ok: {} ({}): {} series, {} endpoint(s), {} flow(s), {} event(s), {} SLO(s); replay of {:.0f} s of demand in {} "
               "at scale {:g}: about {} requests\n",
               path, scenario.name, scenario.series.size(), forecast.rate_model->endpoints().size(), scenario.flows.size(),
               scenario.events.size(), scenario.slo.size(), window.to - window.from, format_duration(window.duration), window.scale,
               reports::group_thousands(schedule.expected_arrivals()));
  }
  return kExitOk;
}

int run_forecast(const po::variables_map& values) {
  const auto scenario = sim::load_scenario(values["scenario"].as<std::string>());
  print_warnings(scenario.warnings);
  const auto format = values["format"].as<std::string>();
  if (format != "table" && format != "json") throw InputError({}, "--format", fmt::format("'{}' is not a format", format), "table or json");
  const auto out = values.count("out") ? values["out"].as<std::string>() : std::string();
  if (values.count("backtest")) {
    std::vector<sim::Backtest> backtests;
    for (const auto& series : scenario.series) backtests.push_back(sim::backtest_series(series, scenario.growth, scenario.seed));
    const double level = scenario.growth.interval_level;
    emit(format == "json" ? reports::render_backtest_json(backtests, level) : reports::render_backtest_text(backtests, level), out);
    return kExitOk;
  }
  auto [from, to] = values.count("years") ? parse_years(values["years"].as<std::string>()) : std::pair<int, int>{0, 0};
  if (values.count("years")) {
    const auto [first, last] = sim::forecast_years(scenario);
    if (from < first || to > last) {
      throw InputError({}, "--years", fmt::format("'{}' reaches beyond the history and projection of {}", values["years"].as<std::string>(), scenario.file),
                       fmt::format("years from {} (its first year of history) to {} (its growth.project_to)", first, last));
    }
  }
  // The report carries the warnings itself, beside the series they concern.
  const auto forecast = sim::make_forecast(scenario, from, to);
  emit(format == "json" ? reports::render_forecast_json(forecast) : reports::render_forecast_text(forecast), out);
  return kExitOk;
}

int run_schedule(const po::variables_map& values) {
  const auto scenario = sim::load_scenario(values["scenario"].as<std::string>());
  print_warnings(scenario.warnings);
  const auto forecast = sim::make_forecast(scenario, scenario.growth.project_to_year, scenario.growth.project_to_year);
  const auto& model = *forecast.rate_model;
  const auto window = sim::replay_window(scenario, model);
  sim::Shard shard;
  if (values.count("shard")) {
    const auto parsed = sim::parse_shard(values["shard"].as<std::string>());
    if (!parsed) throw InputError({}, "--shard", fmt::format("'{}' is not a shard", values["shard"].as<std::string>()), "K/N with 0 <= K < N, such as 0/4");
    shard = *parsed;
  }
  const auto seed = values.count("seed") ? values["seed"].as<std::uint64_t>() : scenario.seed;
  sim::ArrivalSchedule schedule(model, window, seed, shard);
  const auto format = values["format"].as<std::string>();
  if (format != "summary" && format != "csv") throw InputError({}, "--format", fmt::format("'{}' is not a format", format), "summary or csv");
  sim::Arrival arrival;
  if (format == "csv") {
    const auto limit = values["limit"].as<std::uint64_t>();
    std::string out = "intended_offset_ns,endpoint,sequence\n";
    for (std::uint64_t n = 0; n < limit && schedule.next(arrival); ++n) {
      out += fmt::format("{},{},{}\n", arrival.intended_offset.count(), model.endpoints()[arrival.endpoint], arrival.sequence);
      if (out.size() > (1 << 20)) {
        std::fputs(out.c_str(), stdout);
        out.clear();
      }
    }
    std::fputs(out.c_str(), stdout);
    return kExitOk;
  }
  std::vector<std::uint64_t> counts(model.endpoints().size(), 0);
  std::uint64_t total = 0;
  while (schedule.next(arrival)) {
    ++counts[arrival.endpoint];
    ++total;
  }
  const auto local = [&](double instant) {
    return format_date_time(std::chrono::sys_seconds{std::chrono::seconds{std::llround(scenario.calendar.time_zone.to_local(instant))}});
  };
  fmt::print("Arrival schedule of {} (seed {}, shard {}/{})\n", scenario.name, seed, shard.index, shard.count);
  fmt::print("  window    {} to {} local ({:.0f} s of demand)\n", local(window.from), local(window.to), window.to - window.from);
  fmt::print("  replay    {} (compression x{:.4g}), scale {:g}\n\n", format_duration(window.duration), window.compression(), window.scale);
  reports::TextTable table({"endpoint", "expected (all shards)", "generated (this shard)", "mean rps"}, {reports::TextTable::Align::left});
  for (std::size_t e = 0; e < counts.size(); ++e) {
    const double expected = model.expected_requests(e, window.from, window.to) * window.scale;
    table.add_row({model.endpoints()[e], reports::group_thousands(expected, 1), reports::group_thousands(static_cast<double>(counts[e])),
                   reports::readable_number(static_cast<double>(counts[e]) / window.duration.count())});
  }
  table.add_row({"total", reports::group_thousands(schedule.expected_arrivals(), 1), reports::group_thousands(static_cast<double>(total)),
                 reports::readable_number(static_cast<double>(total) / window.duration.count())});
  std::fputs(table.render().c_str(), stdout);
  return kExitOk;
}

}  // namespace

std::vector<Command> scenario_commands() {
  return {
      {"new", "Write an annotated starting scenario", "uptake new NAME [--out FILE] [--force]",
       {"uptake new wallet-2027                 # writes wallet-2027.yaml", "uptake new surge --out scenarios/surge.yaml"},
       [](po::options_description& options, po::positional_options_description& positional) {
         options.add_options()("name", po::value<std::string>()->required(), "scenario name (positional)")(
             "out,o", po::value<std::string>(), "file to write (default: NAME.yaml)")("force", "overwrite an existing file");
         positional.add("name", 1);
       },
       run_new},
      {"check", "Validate scenarios without running them (errors name file:line:column)", "uptake check SCENARIO...",
       {"uptake check scenarios/ecert-korea.yaml", "uptake check scenarios/*.yaml          # every scenario; exit 2 on the first bad one"},
       [](po::options_description& options, po::positional_options_description& positional) {
         options.add_options()("scenario", po::value<std::vector<std::string>>()->required()->multitoken(), "scenario files (positional)");
         positional.add("scenario", -1);
       },
       run_check},
      {"forecast", "Fit growth to history, project it, and compute design peaks",
       "uptake forecast SCENARIO [--years FROM..TO] [--format table|json] [--out FILE]\n"
       "       uptake forecast SCENARIO --backtest [--format table|json] [--out FILE]",
       {"uptake forecast scenarios/ecert-korea.yaml", "uptake forecast scenarios/gov24.yaml --years 2022..2030",
        "uptake forecast scenarios/ecert-korea.yaml --format json --out forecast.json",
        "uptake forecast scenarios/gov24.yaml --backtest       # would earlier cuts of the history have foreseen the later years?"},
       [](po::options_description& options, po::positional_options_description& positional) {
         options.add_options()("scenario", po::value<std::string>()->required(), "scenario file (positional)")(
             "years", po::value<std::string>(), "years of design peaks: FROM..TO or one year (default: history to growth.project_to)")(
             "backtest", "refit on every earlier cut of the history, project the points held back, and show the errors and "
                         "whether each interval held them")(
             "format", po::value<std::string>()->default_value("table"), "table (for people) or json (schema uptake.forecast/v1, "
                                                                          "or uptake.backtest/v1 with --backtest)")(
             "out,o", po::value<std::string>(), "write to this file instead of standard output");
         positional.add("scenario", 1);
       },
       run_forecast},
      {"schedule", "Generate the scenario's arrival schedule (counts, or every arrival as CSV)",
       "uptake schedule SCENARIO [--shard K/N] [--seed N] [--format summary|csv] [--limit N]",
       {"uptake schedule scenarios/ecert-korea.yaml                    # planned and generated counts per endpoint",
        "uptake schedule scenarios/ecert-korea.yaml --shard 1/4 --format csv --limit 20"},
       [](po::options_description& options, po::positional_options_description& positional) {
         options.add_options()("scenario", po::value<std::string>()->required(), "scenario file (positional)")(
             "shard", po::value<std::string>(), "K/N: only shard K of N (K from 0)")(
             "seed", po::value<std::uint64_t>(), "random seed (default: the scenario's)")(
             "format", po::value<std::string>()->default_value("summary"), "summary or csv (intended_offset_ns,endpoint,sequence)")(
             "limit", po::value<std::uint64_t>()->default_value(1000000), "csv: at most this many arrivals");
         positional.add("scenario", 1);
       },
       run_schedule},
  };
}

}  // namespace uptake::cli
