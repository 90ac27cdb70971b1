#pragma once
// The checks of a flow (sim::Checks), compiled once, and the verdict on one answer: a pure
// function of the compiled checks, the status, the response head and the body, so that it is
// tested without a network and the engine only calls it. Boost.Regex and nlohmann::json stay out
// of this header: they are held through pointers to types defined in the source.
//
// Thread-safety: compiled checks are immutable and may be shared by threads; judge_response and
// regex_first_group keep per-thread scratch of their own.
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "uptake/loadgen/run_result.hpp"
#include "uptake/sim/scenario.hpp"

namespace uptake::loadgen {

// A regular expression in ECMAScript syntax (Boost.Regex), compiled once.
class CompiledRegex;
std::shared_ptr<const CompiledRegex> compile_regex(const std::string& pattern);
// The first group's match of the first match of `regex` in `text` (the whole match when the
// expression has no group); std::nullopt when it does not match, or when the expression gives up
// on a text too complex for it. The view points into `text`.
std::optional<std::string_view> regex_first_group(const CompiledRegex& regex, std::string_view text);

struct CompiledChecks {
  struct Json {
    std::string pointer;
    std::shared_ptr<const nlohmann::json> equals;  // null: the value need only exist
    std::string equals_text;                       // as the scenario wrote it, for people
  };
  std::vector<sim::StatusRange> status;  // empty: below 400 is expected
  std::vector<Json> json;
  std::shared_ptr<const CompiledRegex> body;
  std::string body_pattern;

  bool empty() const { return status.empty() && json.empty() && !body; }
  // Whether judging needs the whole body (the engine then keeps it).
  bool reads_body() const { return !json.empty() || body != nullptr; }
};

CompiledChecks compile_checks(const sim::Checks& checks);

// Which check refused an answer: kStatusCheck, an index into json, or kBodyCheck.
inline constexpr int kStatusCheck = -1;
inline constexpr int kBodyCheck = -2;

struct CheckVerdict {
  // Empty: the answer is ok. http_4xx, http_5xx: a status of 400 or more that no status check
  // expects. check_failed: a status below 400 that the status check does not expect, or an
  // expected status whose body fails a JSON or body check.
  std::optional<ErrorClass> error;
  int failed_check = 0;  // with check_failed: which one (kStatusCheck, kBodyCheck, or a json index)
};

// The verdict on an answer with this status (100 to 999), head (ResponseParser::head()) and body.
// Without checks, the rule of a run without them: below 400 is ok. Checks are judged in order
// (status, json in the file's order, body) and the first that fails is named. The body is parsed
// as JSON at most once, and only when a JSON check needs it.
CheckVerdict judge_response(const CompiledChecks& checks, int status, std::string_view head, std::string_view body);

// The check a verdict names, for people: "status in [201]", "json /credential exists",
// "json /status equals \"active\"", "body matches '\"credential\"'".
std::string describe_check(const CompiledChecks& checks, int failed_check);

}  // namespace uptake::loadgen
