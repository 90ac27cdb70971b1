#include "uptake/loadgen/response_checks.hpp"

#include <boost/regex.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include <algorithm>

namespace uptake::loadgen {

class CompiledRegex {
 public:
  explicit CompiledRegex(const std::string& pattern) : regex(pattern, boost::regex::ECMAScript | boost::regex::optimize) {}
  boost::regex regex;
};

std::shared_ptr<const CompiledRegex> compile_regex(const std::string& pattern) { return std::make_shared<const CompiledRegex>(pattern); }

namespace {

// One set of match results per thread, reused: after the first matches it has the room it needs,
// so a search on the hot path does not allocate.
boost::match_results<const char*>& thread_matches() {
  thread_local boost::match_results<const char*> matches;
  return matches;
}

bool search(const CompiledRegex& regex, std::string_view text, boost::match_results<const char*>& matches) {
  try {
    return boost::regex_search(text.data(), text.data() + text.size(), matches, regex.regex);
  } catch (const std::runtime_error&) {
    return false;  // Boost.Regex gave up on a text too complex for the expression: no match
  }
}

bool expected_status(const std::vector<sim::StatusRange>& ranges, int status) {
  return std::any_of(ranges.begin(), ranges.end(), [&](const sim::StatusRange& range) { return status >= range.from && status <= range.to; });
}

}  // namespace

std::optional<std::string_view> regex_first_group(const CompiledRegex& regex, std::string_view text) {
  auto& matches = thread_matches();
  if (!search(regex, text, matches)) return std::nullopt;
  const auto& group = matches.size() > 1 ? matches[1] : matches[0];
  if (!group.matched) return std::string_view();
  return std::string_view(group.first, static_cast<std::size_t>(group.second - group.first));
}

CompiledChecks compile_checks(const sim::Checks& checks) {
  CompiledChecks compiled;
  compiled.status = checks.status;
  for (const auto& check : checks.json) {
    CompiledChecks::Json json{check.pointer, nullptr, check.equals_json};
    if (!check.equals_json.empty()) json.equals = std::make_shared<const nlohmann::json>(nlohmann::json::parse(check.equals_json));
    compiled.json.push_back(std::move(json));
  }
  if (!checks.body_regex.empty()) {
    compiled.body = compile_regex(checks.body_regex);
    compiled.body_pattern = checks.body_regex;
  }
  return compiled;
}

CheckVerdict judge_response(const CompiledChecks& checks, int status, std::string_view /*head*/, std::string_view body) {
  CheckVerdict verdict;
  const auto http_class = [&]() -> std::optional<ErrorClass> {
    if (status >= 500) return ErrorClass::http_5xx;
    if (status >= 400) return ErrorClass::http_4xx;
    return std::nullopt;
  };
  if (checks.status.empty()) {
    // Without a status check, a status of 400 or more is what it is without checks.
    if ((verdict.error = http_class())) return verdict;
  } else if (!expected_status(checks.status, status)) {
    // An unexpected status of 400 or more keeps its HTTP class: it says more than "check failed".
    verdict.error = http_class().value_or(ErrorClass::check_failed);
    verdict.failed_check = kStatusCheck;
    return verdict;
  }
  if (!checks.json.empty()) {
    const auto document = nlohmann::json::parse(body, nullptr, false);
    for (std::size_t i = 0; i < checks.json.size(); ++i) {
      const auto& check = checks.json[i];
      bool passed = false;
      if (!document.is_discarded()) {
        try {
          const auto& value = document.at(nlohmann::json::json_pointer(check.pointer));
          passed = !check.equals || value == *check.equals;
        } catch (const nlohmann::json::exception&) {
          passed = false;  // no such value, or a pointer that does not fit the document
        }
      }
      if (!passed) {
        verdict.error = ErrorClass::check_failed;
        verdict.failed_check = static_cast<int>(i);
        return verdict;
      }
    }
  }
  if (checks.body && !search(*checks.body, body, thread_matches())) {
    verdict.error = ErrorClass::check_failed;
    verdict.failed_check = kBodyCheck;
  }
  return verdict;
}

std::string describe_check(const CompiledChecks& checks, int failed_check) {
  if (failed_check == kStatusCheck) {
    std::vector<std::string> ranges;
    for (const auto& range : checks.status) ranges.push_back(range.from == range.to ? fmt::format("{}", range.from) : fmt::format("{}-{}", range.from, range.to));
    return fmt::format("status in [{}]", fmt::join(ranges, ", "));
  }
  if (failed_check == kBodyCheck) return fmt::format("body matches '{}'", checks.body_pattern);
  if (failed_check >= 0 && static_cast<std::size_t>(failed_check) < checks.json.size()) {
    const auto& check = checks.json[static_cast<std::size_t>(failed_check)];
    return check.equals ? fmt::format("json {} equals {}", check.pointer, check.equals_text) : fmt::format("json {} exists", check.pointer);
  }
  return "?";
}

}  // namespace uptake::loadgen
