#pragma once
// The one exception type of uptake's input layer: scenarios, options, result files.
// It is thrown while loading and validating, never on an I/O hot path, and caught once in
// main, which prints what() and exits with code 2.
#include <stdexcept>
#include <string>

namespace uptake {

struct InputLocation {
  std::string file;   // path as the user gave it; empty when the input is not a file
  int line = 0;       // 1-based; 0 when unknown
  int column = 0;     // 1-based; 0 when unknown
};

class InputError : public std::runtime_error {
 public:
  // field: dotted path of the offending field ("calendar.weekday_factors[3]"), may be empty.
  // problem: what is wrong; expected: what would be accepted (may be empty).
  InputError(InputLocation where, std::string field, std::string problem, std::string expected = {});

  const InputLocation& where() const noexcept { return where_; }
  const std::string& field() const noexcept { return field_; }
  const std::string& problem() const noexcept { return problem_; }
  const std::string& expected() const noexcept { return expected_; }

 private:
  InputLocation where_;
  std::string field_;
  std::string problem_;
  std::string expected_;
};

// Exit codes shared by every command (the command contract in the README).
enum ExitCode : int {
  kExitOk = 0,
  kExitThresholdFailed = 1,
  kExitBadInput = 2,
  kExitUntrusted = 3,
};

}  // namespace uptake
