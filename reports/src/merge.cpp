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

std::string describe(const std::string& text) { return fmt::format("'{}'", text); }
std::string describe(std::uint64_t number) { return fmt::format("{}", number); }
std::string describe(const std::optional<std::string>& text) { return text ? describe(*text) : "absent"; }
std::string describe(const std::optional<sim::ReplayContext>& replay) {
  if (!replay) return "null (no replayed window)";
  return fmt::format("{} {:.3f}..{:.3f} into {:g} s at scale {:g} (modelled mean {:g}/s, peak {:g}/s, {} event(s))", sim::to_string(replay->window), replay->from,
                     replay->to, replay->duration.count(), replay->scale, replay->modelled_mean_rps, replay->modelled_peak_rps, replay->events.size());
}

// Every shard must agree with the first on `field` (`member` of its summary): they are parts of
// one seeded schedule.
template <class Value>
void require_same(const std::vector<RunResults>& shards, const char* field, Value loadgen::Summary::*member, const char* why) {
  const auto& first = shards.front().summary.*member;
  for (std::size_t i = 1; i < shards.size(); ++i) {
    const auto& value = shards[i].summary.*member;
    if (value == first) continue;
    throw InputError(summary_of(shards[i]), field, fmt::format("is {}, but it is {} in {}", describe(value), describe(first), shards.front().folder.string()),
                     fmt::format("shards of one run: {}", why));
  }
}

sim::Shard shard_of(const RunResults& shard) {
  const auto& summary = shard.summary;
  if (!summary.shard_index) {
    throw InputError(summary_of(shard), "shard_index", "is null: this folder is not one shard's results",
                     "the results of uptake run --shard K/N (a merged folder cannot be merged again)");
  }
  return {*summary.shard_index, summary.shard_count};
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
  require_same(shards, "scenario", &loadgen::Summary::scenario, "one scenario");
  require_same(shards, "seed", &loadgen::Summary::seed, "one seed, or the shards are parts of different schedules");
  require_same(shards, "shard_count", &loadgen::Summary::shard_count, "one count N of --shard K/N");
  require_same(shards, "mode", &loadgen::Summary::mode, "one mode (open or closed loop)");
  require_same(shards, "replay", &loadgen::Summary::replay, "one replayed window, compression, scale and demand model");
  require_same(shards, "replay_overridden_by", &loadgen::Summary::replay_overridden_by, "one set of replay options (run SCENARIO --window, --year, --replay-duration, --scale)");

  MergedRun merged;
  auto& result = merged.result;
  auto& context = merged.context;
  const auto& first = shards.front().summary;
  const std::uint32_t count = first.shard_count;
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

  context.scenario = first.scenario;
  context.scenario_file = first.scenario_file;
  context.seed = first.seed;
  context.shard = {0, count};
  context.lag_bound_seconds = first.generator.lag_bound_ms / 1e3;
  context.slo = first.slo;
  context.replay = first.replay;
  context.replay_overridden_by = first.replay_overridden_by.value_or("");
  // The lowest shard's first refused answer stands for the merge: one example, as in a run.
  const RunResults* lowest_refusing = nullptr;
  for (const auto& shard : shards) {
    if (shard.summary.check_failure && (!lowest_refusing || shard_of(shard).index < shard_of(*lowest_refusing).index)) lowest_refusing = &shard;
  }
  if (lowest_refusing) result.check_failure = lowest_refusing->summary.check_failure;
  if (std::all_of(shards.begin(), shards.end(), [&](const RunResults& s) { return s.summary.start_at == first.start_at; })) context.start_at = first.start_at;

  // The merged run starts with its earliest shard; the others' seconds shift by whole seconds.
  std::int64_t start_ns = shards.front().started_at_ns();
  for (const auto& shard : shards) start_ns = std::min(start_ns, shard.started_at_ns());
  // Shards of one schedule start together (--start-at); one that started much later belongs to
  // another run, and its offset would stretch every merged series over the gap.
  constexpr std::int64_t kLatestStartNs = 3600'000'000'000;
  for (const auto& shard : shards) {
    if (shard.started_at_ns() - start_ns > kLatestStartNs) {
      throw InputError(summary_of(shard), "started_at_ns",
                       fmt::format("is {:.0f} s after the earliest shard's start", static_cast<double>(shard.started_at_ns() - start_ns) / 1e9),
                       "shards of one schedule, started within an hour of each other (uptake run --start-at)");
    }
  }
  result.started_at = std::chrono::system_clock::time_point(std::chrono::duration_cast<std::chrono::system_clock::duration>(std::chrono::nanoseconds(start_ns)));
  result.closed_loop = first.mode == "closed_loop";

  std::vector<std::string> targets;
  std::vector<std::string> untrusted;
  std::map<std::string, Series> series;  // "total" and endpoint names
  std::vector<std::string> endpoint_order;
  for (const auto& shard : shards) {
    const auto& summary = shard.summary;
    const double offset_seconds = static_cast<double>(shard.started_at_ns() - start_ns) / 1e9;
    const auto offset = static_cast<std::size_t>(std::llround(offset_seconds));
    if (std::find(targets.begin(), targets.end(), summary.target) == targets.end()) targets.push_back(summary.target);
    result.duration_seconds = std::max(result.duration_seconds, offset_seconds + summary.duration_s);
    // Seconds of the merged run, like its rows: a shard that started later ends its schedule
    // later too (an interrupted one still plans to its end).
    result.schedule_seconds = std::max(result.schedule_seconds, offset_seconds + summary.schedule_s);
    result.interrupted = result.interrupted || summary.interrupted;
    result.planned_is_lower_bound = result.planned_is_lower_bound || summary.requests.planned_is_lower_bound;
    // A shard that --abort-on-fail stopped: the first one's reason stands for the merge.
    if (summary.aborted && result.aborted_threshold.empty()) {
      result.aborted_threshold = summary.aborted->threshold;
      result.aborted_reason = fmt::format("shard {}: {}", shard_of(shard).index, summary.aborted->reason);
      result.aborted_at_seconds = offset_seconds + summary.aborted->at_s;
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
      part.redirects = counters.redirects;
      part.response_time.add(shard.response_time_of(name));
      part.service_time.add(shard.service_time_of(name));
      endpoint->add(part);
    }
    result.schedule_lag.add(shard.schedule_lag);
    result.busiest_thread_fraction = std::max(result.busiest_thread_fraction, summary.generator.busiest_thread_fraction);
    result.pacing = summary.generator.pacing;
    result.batch_window = std::chrono::microseconds(static_cast<std::int64_t>(std::llround(summary.generator.batch_window_ms * 1e3)));
    for (std::size_t i = 0; i < result.errors.size(); ++i) result.errors[i] += summary.errors_of(static_cast<loadgen::ErrorClass>(i));
    result.connections_opened += summary.connections.opened;
    result.protocol = summary.connections.protocol;
    result.streams_per_connection = summary.connections.streams;
    result.waited_for_connection += summary.connections.requests_that_waited;
    if (summary.sessions) {
      if (!result.sessions) result.sessions.emplace();
      result.sessions->add(*summary.sessions);
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
