#include "uptake/base/input_error.hpp"

#include <fmt/format.h>

namespace uptake {
namespace {

std::string describe(const InputLocation& where, const std::string& field, const std::string& problem,
                     const std::string& expected) {
  std::string text;
  if (!where.file.empty()) {
    text = where.file;
    if (where.line > 0) {
      text += fmt::format(":{}", where.line);
      if (where.column > 0) text += fmt::format(":{}", where.column);
    }
    text += ": ";
  }
  if (!field.empty()) text += fmt::format("field '{}': ", field);
  text += problem;
  if (!expected.empty()) text += fmt::format(" (expected {})", expected);
  return text;
}

}  // namespace

InputError::InputError(InputLocation where, std::string field, std::string problem, std::string expected)
    : std::runtime_error(describe(where, field, problem, expected)),
      where_(std::move(where)),
      field_(std::move(field)),
      problem_(std::move(problem)),
      expected_(std::move(expected)) {}

}  // namespace uptake
