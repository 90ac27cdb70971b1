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
  if (summary.value("interrupted", false)) {
    const auto counters = run.counters_of("total");
    const auto lower_bound = summary.at("requests").value("planned_is_lower_bound", false);
    notes.interrupted = fmt::format("the run was interrupted after {:.1f} s of its {:.1f} s schedule: {} of {}{} planned requests were sent",
                                    summary.value("duration_s", 0.0), summary.value("schedule_s", 0.0), counters.sent, lower_bound ? "at least " : "",
                                    counters.planned);
  }
  if (const auto missing = summary.find("shards_missing"); missing != summary.end() && missing->is_array() && !missing->empty()) {
    std::vector<std::string> indexes;
    for (const auto& index : *missing) indexes.push_back(index.dump());
    notes.missing_shards = fmt::format("shard(s) {} of {} are missing from the merge: its counts and rates cover only part of the load",
                                       fmt::join(indexes, ", "), summary.value("shard_count", std::uint64_t{0}));
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
  if (!summary.at("generator").at("trusted").get<bool>()) {
    const auto reason = summary.at("generator").value("reason", std::string());
    reasons.push_back(reason.empty() ? "the generator fell behind its schedule" : reason);
  }
  const auto counters = run.counters_of("total");
  if (counters.completed == 0) {
    if (counters.planned == 0) {
      reasons.push_back("the run planned no requests: there is nothing to judge");
    } else {
      const auto connect_errors = summary.at("errors").value("connect", std::uint64_t{0});
      reasons.push_back(fmt::format("the target answered none of {} requests ({} connect errors): it was unreachable or down, so nothing about it was measured",
                                    counters.planned, connect_errors));
    }
  }
  trust.reason = joined(reasons);
  trust.trusted = reasons.empty();
  return trust;
}

nlohmann::ordered_json trust_json(const Trust& trust) {
  // Allowed: partial, and trusted all the same (what was partial was allowed).
  return {{"trusted", trust.trusted}, {"partial", trust.partial}, {"partial_allowed", trust.partial && trust.trusted},
          {"reason", trust.trusted ? trust.partial_note : trust.reason}};
}

std::optional<CheckResult> aborted_check(const RunResults& run) {
  const auto aborted = run.summary.find("aborted");
  if (aborted == run.summary.end() || !aborted->is_object()) return std::nullopt;
  CheckResult check;
  check.suite = "thresholds";
  const auto threshold = aborted->value("threshold", std::string("a threshold"));
  check.name = fmt::format("{} (run aborted)", threshold);
  check.passed = false;
  check.observed = fmt::format("aborted at {:.1f} s", aborted->value("at_s", 0.0));
  check.expected = "the whole run";
  check.message = fmt::format("--abort-on-fail stopped the run: {} could no longer hold ({}); the rest of the run was never sent, so nothing else about it "
                              "can pass", threshold, aborted->value("reason", std::string()));
  // In the shape of every other threshold's entry (summary.json's thresholds[]), marked aborted.
  std::string problem;
  const auto parsed = sim::parse_threshold(threshold, problem);
  check.detail = {{"expression", threshold},
                  {"endpoint", parsed && !parsed->endpoint.empty() ? nlohmann::ordered_json(parsed->endpoint) : nlohmann::ordered_json(nullptr)},
                  {"metric", parsed ? parsed->metric_name : std::string("aborted")},
                  {"comparison", loadgen::symbol(parsed ? parsed->comparison : sim::Comparison::less)},
                  {"bound", parsed ? parsed->bound : 0.0},
                  {"observed", nullptr},
                  {"unit", loadgen::unit_of(parsed ? parsed->metric : sim::ThresholdMetric::error_rate)},
                  {"passed", false},
                  {"message", check.message},
                  {"aborted", true}};
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
  record_thresholds(folder, gate.thresholds);
  set_summary_field(folder.string(), "trust", trust_json(gate.trust));
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
