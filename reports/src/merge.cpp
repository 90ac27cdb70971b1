#include "uptake/reports/merge.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include "uptake/base/files.hpp"
#include "uptake/base/input_error.hpp"
#include "uptake/loadgen/histogram_log.hpp"
#include "uptake/reports/gate.hpp"

namespace uptake::reports {
namespace {

InputLocation summary_of(const RunResults& shard) { return {(shard.folder / loadgen::kSummaryFile).string(), 0, 0}; }

std::string describe(const nlohmann::ordered_json& value) { return value.is_string() ? fmt::format("'{}'", value.get<std::string>()) : value.dump(); }

// Every shard must agree with the first on `field`: they are parts of one seeded schedule.
void require_same(const std::vector<RunResults>& shards, const char* field, const char* why) {
  const auto& first = shards.front().summary.at(field);
  for (std::size_t i = 1; i < shards.size(); ++i) {
    const auto& value = shards[i].summary.at(field);
    if (value == first) continue;
    throw InputError(summary_of(shards[i]), field, fmt::format("is {}, but it is {} in {}", describe(value), describe(first), shards.front().folder.string()),
                     fmt::format("shards of one run: {}", why));
  }
}

sim::Shard shard_of(const RunResults& shard) {
  const auto& summary = shard.summary;
  if (!summary.contains("shard_index") || !summary["shard_index"].is_number_unsigned()) {
    throw InputError(summary_of(shard), "shard_index", fmt::format("is {}: this folder is not one shard's results", describe(summary.value("shard_index", nlohmann::ordered_json()))),
                     "the results of uptake run --shard K/N (a merged folder cannot be merged again)");
  }
  return {summary["shard_index"].get<std::uint32_t>(), summary["shard_count"].get<std::uint32_t>()};
}

// The per-second series being built: counters and a compressed histogram by second.
struct Series {
  std::vector<loadgen::Interval> intervals;

  loadgen::Interval& at(std::size_t second) {
    if (intervals.size() <= second) intervals.resize(second + 1);
    return intervals[second];
  }
};

}  // namespace

MergedRun merge_shards(const std::vector<RunResults>& shards) {
  if (shards.empty()) throw InputError({}, "DIR", "no shard folders were given", "one results folder per shard");
  require_same(shards, "scenario", "one scenario");
  require_same(shards, "seed", "one seed, or the shards are parts of different schedules");
  require_same(shards, "shard_count", "one count N of --shard K/N");
  require_same(shards, "mode", "one mode (open or closed loop)");

  MergedRun merged;
  auto& result = merged.result;
  auto& context = merged.context;
  const auto& first = shards.front().summary;
  const std::uint32_t count = first.at("shard_count").get<std::uint32_t>();
  std::map<std::uint32_t, std::string> seen;
  for (const auto& shard : shards) {
    const auto part = shard_of(shard);
    if (const auto [at, inserted] = seen.emplace(part.index, shard.folder.string()); !inserted) {
      throw InputError(summary_of(shard), "shard_index", fmt::format("is {}, as in {}: the same shard twice", part.index, at->second),
                       fmt::format("each shard of 0..{} at most once", count - 1));
    }
    context.merged_from.emplace_back(shard.folder.string(), part);
  }
  // Shards missing from 0..N-1 are recorded by the summary writer (shards_missing) and make the
  // merge partial: untrusted unless allowed (judge_trust).

  context.scenario = first.at("scenario").get<std::string>();
  context.scenario_file = first.value("scenario_file", std::string());
  context.seed = first.at("seed").get<std::uint64_t>();
  context.shard = {0, count};
  context.lag_bound_seconds = first.at("generator").at("lag_bound_ms").get<double>() / 1e3;
  context.slo = first.at("slo").get<std::vector<std::string>>();
  if (std::all_of(shards.begin(), shards.end(), [&](const RunResults& s) { return s.summary.value("start_at", nlohmann::ordered_json()) == first.value("start_at", nlohmann::ordered_json()); }) &&
      first.value("start_at", nlohmann::ordered_json()).is_number()) {
    context.start_at = first["start_at"].get<double>();
  }

  // The merged run starts with its earliest shard; the others' seconds shift by whole seconds.
  std::int64_t start_ns = shards.front().started_at_ns();
  for (const auto& shard : shards) start_ns = std::min(start_ns, shard.started_at_ns());
  result.started_at = std::chrono::system_clock::time_point(std::chrono::duration_cast<std::chrono::system_clock::duration>(std::chrono::nanoseconds(start_ns)));
  result.closed_loop = first.at("mode") == "closed_loop";

  std::vector<std::string> targets;
  std::vector<std::string> untrusted;
  std::map<std::string, Series> series;  // "total" and endpoint names
  std::vector<std::string> endpoint_order;
  for (const auto& shard : shards) {
    const auto& summary = shard.summary;
    const double offset_seconds = static_cast<double>(shard.started_at_ns() - start_ns) / 1e9;
    const auto offset = static_cast<std::size_t>(std::llround(offset_seconds));
    if (const auto target = summary.at("target").get<std::string>(); std::find(targets.begin(), targets.end(), target) == targets.end()) targets.push_back(target);
    result.duration_seconds = std::max(result.duration_seconds, offset_seconds + summary.at("duration_s").get<double>());
    // Seconds of the merged run, like its rows: a shard that started later ends its schedule
    // later too (an interrupted one still plans to its end).
    result.schedule_seconds = std::max(result.schedule_seconds, offset_seconds + summary.at("schedule_s").get<double>());
    result.interrupted = result.interrupted || summary.at("interrupted").get<bool>();
    result.planned_is_lower_bound = result.planned_is_lower_bound || summary.at("requests").value("planned_is_lower_bound", false);
    // A shard that --abort-on-fail stopped: the first one's reason stands for the merge.
    if (const auto aborted = summary.find("aborted"); aborted != summary.end() && aborted->is_object() && result.aborted_threshold.empty()) {
      result.aborted_threshold = aborted->value("threshold", std::string());
      result.aborted_reason = fmt::format("shard {}: {}", shard_of(shard).index, aborted->value("reason", std::string()));
      result.aborted_at_seconds = offset_seconds + aborted->value("at_s", 0.0);
    }
    // A shard judged as a run of its own: its generator fell behind, or its target answered
    // nothing (one pod that could not reach the service). Its being partial (interrupted)
    // carries into the merge as such, and is judged there.
    if (const auto trust = judge_trust(shard, PartialAllowance::all()); !trust.trusted) {
      untrusted.push_back(fmt::format("shard {} ({}): {}", shard_of(shard).index, shard.folder.string(), trust.reason));
    }
    for (const auto& name : shard.endpoint_names()) {
      auto endpoint = std::find_if(result.endpoints.begin(), result.endpoints.end(), [&](const auto& e) { return e.name == name; });
      if (endpoint == result.endpoints.end()) {
        result.endpoints.emplace_back();
        result.endpoints.back().name = name;
        endpoint_order.push_back(name);
        endpoint = std::prev(result.endpoints.end());
      }
      const auto counters = shard.counters_of(name);
      loadgen::EndpointResult part;
      static_cast<loadgen::RequestCounts&>(part) = counters;
      part.tampered = counters.tampered;
      part.revoked = counters.revoked;
      part.response_time.add(shard.response_time_of(name));
      part.service_time.add(shard.service_time_of(name));
      endpoint->add(part);
    }
    result.schedule_lag.add(shard.schedule_lag);
    result.busiest_thread_fraction = std::max(result.busiest_thread_fraction, summary.at("generator").value("busiest_thread_fraction", 0.0));
    // read_summary refused any other name; a summary from before --pacing slept.
    result.pacing = loadgen::parse_pacing(summary.at("generator").value("pacing", std::string("sleep"))).value_or(loadgen::Pacing::sleep);
    for (std::size_t i = 0; i < result.errors.size(); ++i) {
      result.errors[i] += summary.at("errors").value(loadgen::to_string(static_cast<loadgen::ErrorClass>(i)), std::uint64_t{0});
    }
    if (const auto connections = summary.find("connections"); connections != summary.end()) {
      result.connections_opened += connections->value("opened", std::uint64_t{0});
      result.waited_for_connection += connections->value("requests_that_waited", std::uint64_t{0});
    }
    for (const auto& row : shard.timeseries) {
      series[row.endpoint].at(static_cast<std::size_t>(row.second) + offset) += row;
    }
    for (const auto& [name, by_second] : shard.response_time_by_second) {
      for (const auto& [second, compressed] : by_second) {
        RunResults::add_compressed(series[name].at(static_cast<std::size_t>(second) + offset).response_time, loadgen::decode_compressed(compressed));
      }
    }
  }
  result.intervals = std::move(series["total"].intervals);
  for (const auto& name : endpoint_order) result.endpoint_intervals.push_back(std::move(series[name].intervals));
  // Every series spans the whole run, as the engine writes them.
  for (auto& endpoint_series : result.endpoint_intervals) endpoint_series.resize(std::max(endpoint_series.size(), result.intervals.size()));
  result.target = targets.front();
  for (std::size_t i = 1; i < targets.size(); ++i) result.target += ", " + targets[i];
  if (targets.size() > 1) merged.warnings.push_back(fmt::format("the shards loaded different targets: {}", result.target));

  if (!untrusted.empty()) {
    merged.verdict.generator_behind = true;
    merged.verdict.reason = "not every shard can be trusted: ";
    for (std::size_t i = 0; i < untrusted.size(); ++i) merged.verdict.reason += (i ? "; " : "") + untrusted[i];
  }
  return merged;
}

MergedRun merge_folders(const std::vector<std::filesystem::path>& folders, const std::filesystem::path& out, bool force) {
  std::error_code error;
  for (const auto& folder : folders) {
    if (std::filesystem::exists(out, error) && std::filesystem::equivalent(folder, out, error)) {
      throw InputError({}, "--out", fmt::format("'{}' is one of the shard folders", out.string()), "a folder for the merged results apart from the shards'");
    }
  }
  std::vector<RunResults> shards;
  for (const auto& folder : folders) shards.push_back(read_results(folder));
  auto merged = merge_shards(shards);
  loadgen::claim_results_folder(out.string(), "--out", force);
  loadgen::write_results(out.string(), merged.result, merged.context, merged.verdict);
  // The demand behind the schedule is the same for every shard of one scenario: the merged
  // report draws it from the first shard's (read and checked with the shard, and written as
  // `uptake run` writes it).
  if (const auto& forecast = shards.front().forecast) write_file_atomically((out / loadgen::kForecastFile).string(), forecast->dump(2) + "\n");
  return merged;
}

}  // namespace uptake::reports
