// uptake gate and uptake merge: judging a results folder, and joining the folders of shards.
#include <fmt/format.h>

#include <charconv>
#include <cstdio>
#include <filesystem>

#include "command.hpp"
#include "uptake/base/files.hpp"
#include "uptake/base/input_error.hpp"
#include "uptake/loadgen/results.hpp"
#include "uptake/reports/gate.hpp"
#include "uptake/reports/junit.hpp"
#include "uptake/reports/merge.hpp"
#include "uptake/reports/results_dir.hpp"
#include "uptake/reports/threshold_check.hpp"
#include "uptake/workflow/judge.hpp"

namespace uptake::cli {
namespace {

std::vector<std::string> strings_of(const po::variables_map& values, const char* name) {
  return values.count(name) ? values[name].as<std::vector<std::string>>() : std::vector<std::string>{};
}

int gate(const po::variables_map& values) {
  const auto folder = std::filesystem::path(values["dir"].as<std::string>());
  const auto run = reports::read_results(folder);
  const auto thresholds = reports::thresholds_for(run, strings_of(values, "threshold"));
  std::optional<reports::RunResults> baseline;
  if (values.count("baseline")) baseline = reports::read_results(values["baseline"].as<std::string>());
  if (baseline && !values.count("force")) reports::check_comparable(run, *baseline);
  reports::BaselineTolerances tolerances;
  tolerances.latency_increase = percentage_of(values, "latency-tolerance");
  tolerances.throughput_decrease = percentage_of(values, "throughput-tolerance");
  tolerances.significance = percentage_of(values, "significance");
  if (!(tolerances.significance > 0 && tolerances.significance < 0.5)) {
    throw InputError({}, "--significance", fmt::format("{}% is out of range", tolerances.significance * 100), "a percentage above 0 and below 50, such as 1 or 5");
  }
  const auto verdict = reports::evaluate_gate(run, thresholds, baseline ? &*baseline : nullptr, tolerances,
                                              values.count("allow-partial") ? reports::PartialAllowance::all() : reports::PartialAllowance{});
  const auto junit = values.count("junit") ? values["junit"].as<std::string>() : (folder / loadgen::kJunitFile).string();
  write_file_atomically(junit, reports::junit_xml(verdict, run));
  fmt::print("uptake gate: {}{}\n", folder.string(), baseline ? fmt::format(" against the baseline {}", baseline->folder.string()) : "");
  fmt::print("{}", reports::render_gate(verdict));
  fmt::print("  junit.xml: {}\n", junit);
  return verdict.exit_code();
}

int merge(const po::variables_map& values) {
  const auto folders = strings_of(values, "dir");
  if (folders.empty()) throw InputError({}, "DIR", "no shard folders were given", "uptake merge DIR... --out DIR");
  const std::filesystem::path out = values["out"].as<std::string>();
  const auto merged = reports::merge_folders({folders.begin(), folders.end()}, out, values.count("force") > 0);
  for (const auto& warning : merged.warnings) fmt::print(stderr, "warning: {}\n", warning);
  const auto total = merged.result.total();
  fmt::print("uptake merge: {} shard folder(s) of '{}' into {}: {} planned, {} completed, {} errors\n", folders.size(), merged.context.scenario,
             out.string(), total.planned, total.completed, total.errors);
  const auto verdict = workflow::judge_results_folder(out.string(), strings_of(values, "threshold"), {.missing_shards = values.count("allow-missing") > 0});
  print_verdict(verdict);
  return verdict.exit_code();
}

}  // namespace

void print_verdict(const reports::GateResult& verdict) {
  if (!verdict.thresholds.empty() || !verdict.trust.trusted || verdict.trust.partial) fmt::print("\nVerdict:\n{}", reports::render_gate(verdict));
}

std::vector<Command> results_commands() {
  return {
      {"gate", "Judge a results folder against thresholds and a baseline run; write junit.xml; exit 0 pass, 1 fail, 3 untrusted",
       "uptake gate DIR [--baseline DIR] [--threshold EXPR]... [--junit FILE] [--latency-tolerance PCT] [--throughput-tolerance PCT]\n"
       "            [--significance PCT] [--allow-partial] [--force]\n"
       "  With a baseline, a regression is a change both beyond its tolerance and significant: each run's seconds, in blocks,\n"
       "  are replicates, compared by a rank test (Mann-Whitney U); '~' marks a change that noise explains.",
       {"uptake gate results/smoke                                   # the scenario's recorded SLO",
        "uptake gate results/smoke --threshold 'verify.p99<50ms' --threshold 'error_rate<0.1%'",
        "uptake gate results/candidate --baseline results/main --junit reports/junit.xml   # significant regressions beyond +10% latency, -5% throughput",
        "uptake gate results/candidate --baseline results/main --latency-tolerance 20 --throughput-tolerance 2",
        "uptake gate results/interrupted --allow-partial                  # judge what an interrupted run measured"},
       [](po::options_description& options, po::positional_options_description& positional) {
         options.add_options()("dir", po::value<std::string>()->required(), "results folder (positional)")(
             "baseline", po::value<std::string>(), "results folder of a baseline run to compare against")(
             "threshold", po::value<std::vector<std::string>>()->composing(), "threshold expression, such as p99<300ms or verify.error_rate<1% (repeatable; added to the run's SLO)")(
             "junit", po::value<std::string>(), "where to write junit.xml (default: DIR/junit.xml)")(
             "significance", po::value<std::string>()->default_value("1"),
             "percent: the chance that any comparison with the baseline calls noise within the runs a regression (over all of them, Holm's "
             "correction); a change of the machine between the runs is not noise to it")(
             "force", "compare with a baseline of another kind (open against closed loop, other scenario or endpoints)")(
             "allow-partial", "judge partial results (an interrupted run, a merge missing shards) instead of calling them untrusted (exit 3)")(
             "latency-tolerance", po::value<std::string>()->default_value("10"), "percent a latency percentile may rise over the baseline's")(
             "throughput-tolerance", po::value<std::string>()->default_value("5"), "percent the achieved throughput may fall below the baseline's");
         positional.add("dir", 1);
       },
       gate},
      {"merge", "Join the results of a run's shards exactly (histograms and counters add), then judge the whole",
       "uptake merge DIR... --out DIR [--threshold EXPR]...",
       {"uptake merge results/shard-0 results/shard-1 --out results/merged",
        "uptake merge shards/* --out results/whole --threshold 'p999<1s'   # thresholds on the merged whole",
        "uptake gate results/merged --baseline results/last-week           # then gate the merged folder",
        "uptake merge results/shard-0 results/shard-2 --out results/some --allow-missing   # judged, but marked partial"},
       [](po::options_description& options, po::positional_options_description& positional) {
         options.add_options()("dir", po::value<std::vector<std::string>>()->composing(), "results folders of the shards (positional)")(
             "out", po::value<std::string>()->required(), "folder for the merged results")(
             "force", "write into a folder that holds another run's files, removing uptake's files there first")(
             "allow-missing", "judge a merge that lacks some of the N shards instead of calling it untrusted (exit 3); it is still marked partial")(
             "threshold", po::value<std::vector<std::string>>()->composing(), "threshold expression judged on the merged whole, besides the run's SLO (repeatable)");
         positional.add("dir", -1);
       },
       merge},
  };
}

}  // namespace uptake::cli
