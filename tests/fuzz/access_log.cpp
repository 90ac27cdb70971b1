// Access log lines come from outside: whatever a web server (or an attacker's request line)
// wrote. Each line goes through the parser, and what parses through the calibration.
#include <string>

#include "entries.hpp"
#include "uptake/base/input_error.hpp"
#include "uptake/calibrate/calibration.hpp"

namespace uptake::fuzz {

void access_log(std::string_view input) {
  calibrate::LineParser parser(calibrate::LogFormat::automatic, {}, "");
  calibrate::Calibrator calibrator(calibrate::CalibrationOptions{});
  calibrate::LogRecord record;
  std::uint64_t lines = 0, kept = 0;
  while (!input.empty()) {
    const auto end = input.find('\n');
    const auto line = input.substr(0, end);
    input.remove_prefix(end == std::string_view::npos ? input.size() : end + 1);
    ++lines;
    calibrator.add_line();
    const auto outcome = parser.parse(line, record);
    if (outcome != calibrate::Malformed::none) {
      if (outcome != calibrate::Malformed::empty) calibrator.add_malformed(outcome, "fuzz.log", lines);
      continue;
    }
    fuzz_require(record.status >= 100 && record.status <= 599, "a parsed line has a status from 100 to 599");
    fuzz_require(!record.method.empty() && !record.target.empty(), "a parsed line has a method and a target");
    if (calibrator.add(record) == calibrate::Malformed::none) ++kept;
  }
  try {
    const auto calibration = calibrator.finish({"fuzz.log"});
    fuzz_require(calibration.requests == kept, "every request added is counted");
    fuzz_require(calibration.requests + calibration.malformed_lines() <= lines, "no line counts twice");
    std::uint64_t by_endpoint = 0;
    for (const auto& endpoint : calibration.endpoints) by_endpoint += endpoint.requests;
    fuzz_require(by_endpoint == calibration.requests, "endpoints' requests add up to the requests");
  } catch (const InputError&) {
    fuzz_require(kept == 0, "only a log without requests is refused");
  }
}

}  // namespace uptake::fuzz
