#pragma once
// junit.xml, in the shape that Jenkins, GitLab, GitHub test reporters and Azure read:
//   <testsuites tests failures errors time>   (valid against tests/reports/junit-10.xsd)
//     <testsuite name="run">          whether the run can be trusted (an <error> when not)
//     <testsuite name="thresholds">   one <testcase> per threshold
//     <testsuite name="baseline">     one <testcase> per comparison (only with a baseline)
// A failed check has <failure message type> with the observed and expected figures; each
// suite carries the run's <properties> (scenario, target, seed, shard, start, counts).
#include <string>
#include <string_view>

#include "uptake/reports/gate.hpp"
#include "uptake/reports/results_dir.hpp"

namespace uptake::reports {

std::string junit_xml(const GateResult& gate, const RunResults& run);

// Text made safe for XML character data and attribute values: & < > " ' escaped; characters
// XML 1.0 does not allow (control characters but tab, line feed and carriage return) replaced
// with U+FFFD.
std::string xml_escape(std::string_view text);

}  // namespace uptake::reports
