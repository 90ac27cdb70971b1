#pragma once
// The fuzz targets' entry functions, one per input format uptake reads from outside. Each takes
// arbitrary bytes and must return normally: rejecting bad input the documented way (InputError,
// an error value, a 4xx answer) is fine; crashing, hanging, throwing anything else, or breaking
// an invariant the entry checks (it aborts through fuzz_require) is a finding.
//
// The libFuzzer programs (tests/fuzz/libfuzzer_main.cpp, built with UPTAKE_FUZZ) and the normal
// suite's replay of tests/fuzz/regressions/ and tests/fuzz/corpus/ (regressions_test.cpp) call
// the same functions, so a fixed crash stays covered without clang.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace uptake::fuzz {

using Entry = void (*)(std::string_view input);

void scenario(std::string_view input);            // sim::parse_scenario
void threshold(std::string_view input);           // sim::parse_threshold
void service(std::string_view input);             // ecert::Service::handle
void credential(std::string_view input);          // ecert::verify_credential, sign_credential
void histogram_log(std::string_view input);       // read_histogram_log, try_decode_*
void csv(std::string_view input);                 // parse_csv
void response_parser(std::string_view input);     // loadgen::ResponseParser
void access_log(std::string_view input);          // calibrate::LineParser, Calibrator

struct Target {
  std::string_view name;  // the folder under tests/fuzz/corpus/ and tests/fuzz/regressions/
  Entry entry;
};

inline constexpr Target kTargets[] = {
    {"scenario", scenario},   {"threshold", threshold}, {"service", service},
    {"credential", credential}, {"histogram_log", histogram_log}, {"csv", csv},
    {"response_parser", response_parser}, {"access_log", access_log},
};

// Stops the process with `what` when an invariant does not hold: libFuzzer keeps the input as a
// crash, and the replay test dies pointing at it.
void fuzz_require(bool holds, const char* what);

}  // namespace uptake::fuzz
