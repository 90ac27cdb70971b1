#pragma once
// Joining the results of the shards of one run (`uptake run --shard K/N`, possibly on many
// machines) exactly: counters add, histograms add bucket by bucket, per-second rows align by
// wall clock (started_at + second), and every percentile is recomputed from the merged
// histograms. The merged result is written by the same writer as a run's (loadgen/results.hpp),
// so it is read, gated and reported like any other results folder.
#include <filesystem>
#include <string>
#include <vector>

#include "uptake/loadgen/results.hpp"
#include "uptake/loadgen/run_result.hpp"
#include "uptake/reports/results_dir.hpp"

namespace uptake::reports {

struct MergedRun {
  loadgen::RunResult result;
  loadgen::RunContext context;
  loadgen::Verdict verdict;            // trusted only if every shard was
  std::vector<std::string> warnings;   // for people: differing targets
};

// Throws InputError naming the folder and the summary.json field when the shards cannot be
// one run's: no shards, different scenarios, seeds, modes or shard counts, the same shard
// index twice, or a folder that is itself a merge. Missing shards are not an input error: the
// merged summary lists them (shards_missing), and judge_trust calls such a merge partial.
MergedRun merge_shards(const std::vector<RunResults>& shards);

// Reads each folder, merges, and writes the merged results into `out` (created if missing;
// refused when it is one of the shard folders, or holds another run's results unless `force`:
// loadgen::claim_results_folder). Nothing is written unless the merge succeeds.
MergedRun merge_folders(const std::vector<std::filesystem::path>& folders, const std::filesystem::path& out, bool force = false);

}  // namespace uptake::reports
