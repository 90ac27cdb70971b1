#include "uptake/reports/markdown_report.hpp"

#include <fmt/format.h>

#include "run_overview.hpp"
#include "uptake/reports/replay_text.hpp"
#include "uptake/reports/text_table.hpp"

namespace uptake::reports {
namespace {

std::string percentile_text(const loadgen::HdrHistogram& histogram, double percentile) {
  if (histogram.total_count() == 0) return "—";
  return milliseconds_text(static_cast<double>(histogram.value_at_percentile(percentile)) / 1e6);
}

std::string table_row(const std::vector<std::string>& cells) {
  std::string row = "|";
  for (const auto& cell : cells) row += " " + cell + " |";
  return row + "\n";
}

}  // namespace

std::string escape_markdown(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    switch (c) {
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '&': out += "&amp;"; break;
      case '\n':
      case '\r': out += ' '; break;
      case '\\': case '`': case '*': case '_': case '[': case ']': case '|': case '#': case '~': case '!':
        out += '\\';
        out += c;
        break;
      default: out += c;
    }
  }
  return out;
}

// The capacity search's answer, plan and trials: what a capacity report leads with.
std::string capacity_markdown(const CapacityOverview& capacity) {
  std::string md = "\n" + escape_markdown(capacity.explanation) + "\n";
  const auto escaped_rows = [](const std::vector<std::vector<std::string>>& rows) {
    std::string text;
    for (const auto& cells : rows) {
      std::vector<std::string> escaped;
      for (const auto& cell : cells) escaped.push_back(escape_markdown(cell));
      text += table_row(escaped);
    }
    return text;
  };
  if (!capacity.plan.empty()) {
    md += "\n" + table_row({"year", "design peak", "capacity", "headroom", "instances needed"}) + "| --- | ---: | ---: | ---: | ---: |\n";
    md += escaped_rows(capacity.plan);
    md += "\nDemand exceeds capacity: " + escape_markdown(capacity.exhaustion) + " (the point forecast against the capacity's estimate)\n";
    if (!capacity.exhaustion_quantiles.empty()) {
      md += "\nWith the forecast's and the capacity's uncertainty: " + escape_markdown(capacity.exhaustion_quantiles) + "\n";
    }
  }
  if (!capacity.steps.empty()) {
    // Folded: a search has a dozen trials or more, too long for the top of a comment.
    md += fmt::format("\n<details><summary>{} trials of the search</summary>\n\n", capacity.steps.size());
    md += table_row(kCapacityStepColumns) + "| ---: | --- | ---: | ---: | ---: | ---: | ---: | --- |\n";
    md += escaped_rows(capacity.steps);
    md += "\n</details>\n";
  }
  return md;
}

std::string render_markdown_report(const RunResults& results) {
  const auto& summary = results.summary;
  const auto overview = overview_of(results);
  const char* icon = overview.outcome == RunOutcome::pass ? "✅" : overview.outcome == RunOutcome::fail ? "❌" : "⚠️";
  // A capacity search leads with its answer; the run below it is only its last trial.
  const auto capacity = capacity_overview_of(summary);
  std::string md;
  if (capacity) {
    md = fmt::format("### uptake capacity of {}: {}\n", escape_markdown(run_name(results)), escape_markdown(capacity->headline));
    md += capacity_markdown(*capacity);
    md += fmt::format("\n**The last trial** {} {}\n\n", icon, escape_markdown(overview.verdict));
  } else {
    md = fmt::format("### {} uptake run of {}: {}\n\n", icon, escape_markdown(run_name(results)), escape_markdown(overview.verdict));
  }
  if (summary.replay) {
    md += escape_markdown(replay_sentence(*summary.replay, summary.shard_index ? summary.shard_count : 1)) + ".\n";
    if (const auto events = replay_events_text(*summary.replay); !events.empty()) md += "Events in the window: " + escape_markdown(events) + ".\n";
    md += "\n";
  }

  md += table_row({"", "requests", "achieved rate", "p50", "p95", "p99", "p99.9", "errors"});
  md += "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n";
  const auto total = results.counters_of("total");
  std::string rate = readable_number(total.achieved_rps) + "/s";
  if (summary.rate.planned_rps > 0) rate += fmt::format(" of {}/s planned", readable_number(summary.rate.planned_rps));
  rate += fmt::format(" ({:.1f}%)", summary.rate.achieved_ratio * 100);
  const auto row_of = [&](const std::string& label, const RunResults::Counters& counters, const std::string& rate_text, const loadgen::HdrHistogram& histogram) {
    return table_row({label, fmt::format("{} of {}", group_thousands(static_cast<double>(counters.completed)), group_thousands(static_cast<double>(counters.planned))),
                      rate_text, percentile_text(histogram, 50), percentile_text(histogram, 95), percentile_text(histogram, 99), percentile_text(histogram, 99.9),
                      group_thousands(static_cast<double>(counters.errors))});
  };
  md += row_of("**all**", total, rate, results.response_time_of("total"));
  const auto endpoints = results.endpoint_names();
  if (endpoints.size() > 1) {
    for (const auto& endpoint : endpoints) {
      const auto counters = results.counters_of(endpoint);
      md += row_of(escape_markdown(endpoint), counters, readable_number(counters.achieved_rps) + "/s", results.response_time_of(endpoint));
    }
  }
  md += "\nRequests completed of planned; response times from the intended send time.\n";
  if (!overview.errors_by_class.empty()) {
    std::string classes;
    for (const auto& [error_class, count] : overview.errors_by_class) {
      classes += fmt::format("{}{} {}", classes.empty() ? "" : ", ", escape_markdown(error_class), group_thousands(static_cast<double>(count)));
    }
    md += "Errors by class: " + classes + ".\n";
  }

  md += "\n**Thresholds**\n\n";
  if (overview.thresholds.empty()) md += "no thresholds\n";
  for (const auto& threshold : overview.thresholds) {
    const char* mark = threshold.passed ? "✅" : "❌";
    md += fmt::format("- {} {} (observed {})\n", mark, escape_markdown(threshold.text), escape_markdown(threshold.observed));
  }

  md += fmt::format("\n**Generator**: {}{}\n", overview.generator_trusted ? "trusted, " : "⚠️ not trusted: ", escape_markdown(overview.generator_note));
  md += fmt::format("\n<sub>target {} · {} · full report with charts: report.html</sub>\n", escape_markdown(summary.target), escape_markdown(summary.mode));
  return md;
}

}  // namespace uptake::reports
