#include "uptake/reports/gate.hpp"

#include <fmt/format.h>

#include "uptake/base/input_error.hpp"
#include "uptake/reports/text_table.hpp"
#include "uptake/reports/threshold_check.hpp"

namespace uptake::reports {
namespace {

const char* verdict_word(const CheckResult& check) {
  if (check.skipped) return "skip";
  return check.passed ? "PASS" : "FAIL";
}

}  // namespace

Trust judge_trust(const RunResults& run) {
  const auto& summary = run.summary;
  if (!summary.at("generator").at("trusted").get<bool>()) {
    const auto reason = summary.at("generator").value("reason", std::string());
    return {false, reason.empty() ? "the generator fell behind its schedule" : reason};
  }
  const auto counters = run.counters_of("total");
  if (counters.completed > 0) return {};
  if (counters.planned == 0) return {false, "the run planned no requests: there is nothing to judge"};
  const auto connect_errors = summary.at("errors").value("connect", std::uint64_t{0});
  return {false, fmt::format("the target answered none of {} requests ({} connect errors): it was unreachable or down, so nothing about it was measured",
                             counters.planned, connect_errors)};
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
                         const BaselineTolerances& tolerances) {
  GateResult gate;
  gate.trust = judge_trust(run);
  gate.thresholds = check_thresholds(thresholds, run);
  if (baseline) {
    gate.has_baseline = true;
    gate.baseline = compare_with_baseline(run, *baseline, tolerances);
    if (const auto baseline_trust = judge_trust(*baseline); gate.trust.trusted && !baseline_trust.trusted) {
      gate.trust = {false, fmt::format("the baseline in {} cannot be trusted: {}", baseline->folder.string(), baseline_trust.reason)};
    }
  }
  return gate;
}

std::string render_gate(const GateResult& gate) {
  std::string out;
  if (gate.thresholds.empty() && gate.baseline.empty()) {
    out += "  no thresholds and no baseline: nothing to check\n";
  } else {
    TextTable table({"check", "source", "observed", "expected", "verdict"}, {TextTable::Align::left, TextTable::Align::left});
    for (const auto* checks : {&gate.thresholds, &gate.baseline}) {
      for (const auto& check : *checks) table.add_row({check.name, check.suite, check.observed, check.expected, verdict_word(check)});
    }
    out += table.render();
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
  if (!gate.trust.trusted) out += fmt::format("UNTRUSTED: {} (exit 3)\n", gate.trust.reason);
  else if (failed) out += fmt::format("FAIL: {} of {} checks failed (exit 1)\n", failed, judged);
  else out += fmt::format("PASS: {} checks passed\n", judged);
  return out;
}

}  // namespace uptake::reports
