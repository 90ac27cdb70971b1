#include "uptake/reports/gate.hpp"

#include <fmt/format.h>

#include <optional>

#include "uptake/base/input_error.hpp"
#include "uptake/loadgen/slo.hpp"
#include "uptake/reports/text_table.hpp"
#include "uptake/reports/threshold_check.hpp"

namespace uptake::reports {
namespace {

const char* verdict_word(const CheckResult& check) {
  if (check.skipped) return "skip";
  return check.passed ? "PASS" : "FAIL";
}

}  // namespace

namespace {

// What makes the results partial, for people, by kind; empty when they are whole.
struct PartialNotes {
  std::string interrupted;
  std::string missing_shards;
};

PartialNotes partial_notes_of(const RunResults& run) {
  const auto& summary = run.summary;
  PartialNotes notes;
  if (summary.interrupted) {
    const auto counters = run.counters_of("total");
    notes.interrupted = fmt::format("the run was interrupted after {:.1f} s of its {:.1f} s schedule: {} of {}{} planned requests were sent",
                                    summary.duration_s, summary.schedule_s, counters.sent, summary.requests.planned_is_lower_bound ? "at least " : "",
                                    counters.planned);
  }
  if (summary.shards_missing && !summary.shards_missing->empty()) {
    notes.missing_shards = fmt::format("shard(s) {} of {} are missing from the merge: its counts and rates cover only part of the load",
                                       fmt::join(*summary.shards_missing, ", "), summary.shard_count);
  }
  return notes;
}

// The parts that say something, as one sentence.
std::string joined(std::vector<std::string> parts) {
  std::erase(parts, std::string());
  return fmt::format("{}", fmt::join(parts, "; "));
}

}  // namespace

Trust judge_trust(const RunResults& run, PartialAllowance allow) {
  const auto& summary = run.summary;
  Trust trust;
  const auto notes = partial_notes_of(run);
  trust.partial_note = joined({notes.interrupted, notes.missing_shards});
  trust.partial = !trust.partial_note.empty();
  std::vector<std::string> reasons;
  if (!notes.interrupted.empty() && !allow.interrupted) {
    reasons.push_back(notes.interrupted + " (partial results are never a pass; gate --allow-partial judges them anyway)");
  }
  if (!notes.missing_shards.empty() && !allow.missing_shards) {
    reasons.push_back(notes.missing_shards + " (partial results are never a pass; merge --allow-missing or gate --allow-partial judges them anyway)");
  }
  if (!summary.generator.trusted) {
    const auto& reason = summary.generator.reason;
    reasons.push_back(reason.empty() ? "the generator fell behind its schedule" : reason);
  }
  const auto counters = run.counters_of("total");
  if (counters.completed == 0) {
    if (counters.planned == 0) {
      reasons.push_back("the run planned no requests: there is nothing to judge");
    } else {
      const auto connect_errors = summary.errors_of(loadgen::ErrorClass::connect);
      reasons.push_back(fmt::format("the target answered none of {} requests ({} connect errors): it was unreachable or down, so nothing about it was measured",
                                    counters.planned, connect_errors));
    }
  }
  trust.reason = joined(reasons);
  trust.trusted = reasons.empty();
  return trust;
}

loadgen::SummaryTrust recorded_trust(const Trust& trust) {
  // Allowed: partial, and trusted all the same (what was partial was allowed).
  return {trust.trusted, trust.partial, trust.partial && trust.trusted, trust.trusted ? trust.partial_note : trust.reason};
}

std::optional<CheckResult> aborted_check(const RunResults& run) {
  const auto& aborted = run.summary.aborted;
  if (!aborted) return std::nullopt;
  CheckResult check;
  check.suite = "thresholds";
  check.name = fmt::format("{} (run aborted)", aborted->threshold);
  check.passed = false;
  check.observed = fmt::format("aborted at {:.1f} s", aborted->at_s);
  check.expected = "the whole run";
  check.message = fmt::format("--abort-on-fail stopped the run: {} could no longer hold ({}); the rest of the run was never sent, so nothing else about it "
                              "can pass", aborted->threshold, aborted->reason);
  // In the shape of every other threshold's entry (summary.json's thresholds[]), marked aborted.
  std::string problem;
  const auto parsed = sim::parse_threshold(aborted->threshold, problem);
  if (parsed) {
    check.entry = threshold_entry(*parsed, std::nullopt, false, check.message);
  } else {
    check.entry = loadgen::SummaryThreshold{aborted->threshold, std::nullopt, "aborted", loadgen::symbol(sim::Comparison::less), 0.0, std::nullopt,
                                            loadgen::unit_of(sim::ThresholdMetric::error_rate), false, check.message};
  }
  check.entry->aborted = true;
  return check;
}

bool GateResult::passed() const {
  for (const auto* checks : {&thresholds, &baseline}) {
    for (const auto& check : *checks) {
      if (!check.skipped && !check.passed) return false;
    }
  }
  return true;
}

int GateResult::exit_code() const {
  if (!trust.trusted) return kExitUntrusted;
  return passed() ? kExitOk : kExitThresholdFailed;
}

GateResult evaluate_gate(const RunResults& run, const std::vector<sim::Threshold>& thresholds, const RunResults* baseline,
                         const BaselineTolerances& tolerances, PartialAllowance allow) {
  GateResult gate;
  gate.trust = judge_trust(run, allow);
  gate.thresholds = check_thresholds(thresholds, run);
  // A run that --abort-on-fail stopped failed, whichever thresholds a later gate is given.
  if (auto aborted = aborted_check(run)) gate.thresholds.push_back(std::move(*aborted));
  if (baseline) {
    gate.has_baseline = true;
    gate.baseline = compare_with_baseline(run, *baseline, tolerances);
    if (const auto baseline_trust = judge_trust(*baseline, allow); gate.trust.trusted && !baseline_trust.trusted) {
      gate.trust.trusted = false;
      gate.trust.reason = fmt::format("the baseline in {} cannot be trusted: {}", baseline->folder.string(), baseline_trust.reason);
    }
  }
  return gate;
}

void record_verdict(const std::filesystem::path& folder, const GateResult& gate) {
  loadgen::update_summary_file(folder, [&](loadgen::Summary& summary) {
    summary.thresholds = threshold_entries(gate.thresholds);
    summary.trust = recorded_trust(gate.trust);
  });
}

std::string render_gate(const GateResult& gate) {
  std::string out;
  if (gate.thresholds.empty() && gate.baseline.empty()) {
    out += "  no thresholds and no baseline: nothing to check\n";
  } else {
    if (!gate.thresholds.empty()) {
      TextTable table({"threshold", "observed", "expected", "verdict"}, {TextTable::Align::left});
      for (const auto& check : gate.thresholds) table.add_row({check.name, check.observed, check.expected, verdict_word(check)});
      out += table.render();
    }
    if (!gate.baseline.empty()) {
      // As benchstat shows it: "~" where the change is not distinguishable from noise.
      TextTable table({"against baseline", "baseline", "this run", "change", "noise", "verdict"}, {TextTable::Align::left});
      for (const auto& check : gate.baseline) {
        table.add_row({check.name, check.baseline, check.observed, check.change, check.significance, verdict_word(check)});
      }
      out += (gate.thresholds.empty() ? "" : "\n") + table.render();
    }
    for (const auto* checks : {&gate.thresholds, &gate.baseline}) {
      for (const auto& check : *checks) {
        if (!check.passed || check.skipped) out += fmt::format("  {}: {}\n", check.skipped ? "skipped" : "failed", check.message);
      }
    }
  }
  std::size_t failed = 0;
  std::size_t judged = 0;
  for (const auto* checks : {&gate.thresholds, &gate.baseline}) {
    for (const auto& check : *checks) {
      judged += check.skipped ? 0 : 1;
      failed += !check.skipped && !check.passed ? 1 : 0;
    }
  }
  if (gate.trust.trusted && gate.trust.partial) out += fmt::format("PARTIAL (allowed): {}\n", gate.trust.partial_note);
  if (!gate.trust.trusted) out += fmt::format("UNTRUSTED: {} (exit 3)\n", gate.trust.reason);
  else if (failed) out += fmt::format("FAIL: {} of {} checks failed (exit 1)\n", failed, judged);
  else out += fmt::format("PASS: {} checks passed\n", judged);
  return out;
}

}  // namespace uptake::reports
