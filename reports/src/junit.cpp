#include "uptake/reports/junit.hpp"

#include <fmt/format.h>

#include <vector>

#include "run_overview.hpp"
#include "uptake/base/civil_time.hpp"

namespace uptake::reports {
namespace {

struct Suite {
  std::string name;
  std::vector<CheckResult> cases;
};

// A number or true/false as summary.json spells it ("1790000000.0", "true").
template <class Value>
std::string as_in_summary(Value value) {
  return nlohmann::ordered_json(value).dump();
}

std::string properties(const RunResults& run) {
  const auto& summary = run.summary;
  const std::vector<std::pair<std::string, std::string>> items{{"folder", run.folder.string()},
                                                               {"scenario", summary.scenario},
                                                               {"target", summary.target},
                                                               {"mode", summary.mode},
                                                               {"seed", as_in_summary(summary.seed)},
                                                               {"shard", summary.shard},
                                                               {"started_at", as_in_summary(summary.started_at)},
                                                               {"duration_s", as_in_summary(summary.duration_s)},
                                                               {"requests.planned", as_in_summary(summary.requests.planned)},
                                                               {"requests.sent", as_in_summary(summary.requests.sent)},
                                                               {"requests.completed", as_in_summary(summary.requests.completed)},
                                                               {"requests.errors", as_in_summary(summary.requests.errors)},
                                                               {"generator.trusted", as_in_summary(summary.generator.trusted)}};
  std::string out = "    <properties>\n";
  for (const auto& [name, value] : items) out += fmt::format("      <property name=\"{}\" value=\"{}\"/>\n", xml_escape(name), xml_escape(value));
  return out + "    </properties>\n";
}

// The suites' timestamp: when the run's schedule started, in UTC, as JUnit's schema writes it
// (ISO 8601 without a zone).
std::string suite_timestamp(const RunResults& run) {
  auto text = format_date_time(started_at_of(run.summary));
  text[text.find(' ')] = 'T';
  return text;
}

}  // namespace

std::string xml_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      default:
        if ((static_cast<unsigned char>(c) < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7f) out += "\xEF\xBF\xBD";
        else out += c;
    }
  }
  return out;
}

std::string junit_xml(const GateResult& gate, const RunResults& run) {
  CheckResult trust;
  trust.suite = "run";
  trust.name = "the run can be trusted as a measurement of the target";
  trust.passed = gate.trust.trusted;
  trust.observed = gate.trust.trusted ? "trusted" : "untrusted";
  trust.expected = "trusted";
  trust.message = gate.trust.trusted ? "the generator kept its schedule and the target answered" : gate.trust.reason;
  std::vector<Suite> suites{{"run", {trust}}, {"thresholds", gate.thresholds}};
  if (gate.has_baseline) suites.push_back({"baseline", gate.baseline});

  std::size_t tests = 0, failures = 0, errors = 0;
  std::string body;
  const auto run_properties = properties(run);
  const auto timestamp_attribute = fmt::format(" timestamp=\"{}\"", suite_timestamp(run));
  // The run suite took the run's time; the checks of the others take none worth counting.
  const double run_seconds = run.summary.duration_s;
  for (const auto& suite : suites) {
    std::size_t suite_failures = 0, suite_errors = 0, suite_skipped = 0;
    std::string cases;
    for (const auto& check : suite.cases) {
      const auto name = xml_escape(check.name);
      cases += fmt::format("    <testcase classname=\"uptake.{}\" name=\"{}\" time=\"0\">\n", xml_escape(suite.name), name);
      const auto figures = xml_escape(fmt::format("observed: {}\nexpected: {}\n{}", check.observed, check.expected, check.message));
      if (check.skipped) {
        ++suite_skipped;
        cases += fmt::format("      <skipped message=\"{}\"/>\n", xml_escape(check.message));
      } else if (!check.passed && suite.name == "run") {
        // Not a failed check but a measurement that cannot be judged: CI systems show errors apart.
        ++suite_errors;
        cases += fmt::format("      <error message=\"{}\" type=\"untrusted\">{}</error>\n", xml_escape(check.message), figures);
      } else if (!check.passed) {
        ++suite_failures;
        cases += fmt::format("      <failure message=\"{}\" type=\"{}\">{}</failure>\n", xml_escape(check.message),
                             suite.name == "baseline" ? "regression" : "threshold", figures);
      } else {
        cases += fmt::format("      <system-out>{}</system-out>\n", figures);
      }
      cases += "    </testcase>\n";
    }
    body += fmt::format("  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\" time=\"{:.3f}\"{}>\n", xml_escape(suite.name),
                        suite.cases.size(), suite_failures, suite_errors, suite_skipped, suite.name == "run" ? run_seconds : 0.0, timestamp_attribute);
    body += run_properties + cases + "  </testsuite>\n";
    tests += suite.cases.size();
    failures += suite_failures;
    errors += suite_errors;
  }
  // No `skipped` here: the JUnit schema of Jenkins' xUnit plugin (tests/reports/junit-10.xsd)
  // allows it on <testsuite> only, and refuses the whole file otherwise.
  return fmt::format("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"uptake gate\" tests=\"{}\" failures=\"{}\" errors=\"{}\" time=\"{:.3f}\">\n{}</testsuites>\n",
                     tests, failures, errors, run_seconds, body);
}

}  // namespace uptake::reports
