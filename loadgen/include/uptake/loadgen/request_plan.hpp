#pragma once
// Requests compiled once from the scenario's flows and rendered per arrival into reused buffers:
// after warm-up, rendering allocates nothing. Captured values (a credential out of an issuance)
// feed later requests through per-thread pools.
#include <algorithm>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "uptake/base/random.hpp"
#include "uptake/loadgen/response_checks.hpp"
#include "uptake/loadgen/target.hpp"
#include "uptake/sim/journey.hpp"
#include "uptake/sim/scenario.hpp"

namespace uptake::loadgen {

// How a value is written where its placeholder stands, decided once from the placeholder's
// place in its template (scenarios/README.md, "Values in templates").
enum class Escape : std::uint8_t {
  none,          // as is: a body that is neither JSON nor a form
  path_segment,  // in the request path: percent-encoded but for unreserved characters, sub-delims, ':' and '@'
  query,         // in the query, or a form body: percent-encoded but for unreserved characters
  header_value,  // as is, but a value with CR, LF or NUL is refused (the request fails as unsafe_value)
  json_string,   // inside a JSON string literal: '"', '\' and control characters escaped
  json_value,    // elsewhere in a JSON body: a JSON number, true, false or null as is, anything else as a JSON string
};

// What a template is, for the escaping of its values.
enum class TemplateKind : std::uint8_t {
  request_head,  // request line (path, then query after '?') and header lines
  json_body,
  form_body,     // application/x-www-form-urlencoded
  raw_body,
};

// A text with {{variables}}, split once into literal and variable parts.
class Template {
 public:
  // variable_index: maps a name to an index (synthetic variables first, then captures).
  Template(std::string_view text, const std::vector<std::string>& variable_names, TemplateKind kind = TemplateKind::raw_body);
  struct Part {
    std::string literal;
    int variable = -1;  // -1: literal
    Escape escape = Escape::none;
  };
  const std::vector<Part>& parts() const { return parts_; }
  bool uses_variables() const { return parts_.size() > 1 || (parts_.size() == 1 && parts_[0].variable >= 0); }

 private:
  std::vector<Part> parts_;
};

// Synthetic variables have fixed indices; captures follow.
enum SyntheticVariable : int { citizen_id = 0, certificate_type = 1, request_id = 2, session_id = 3, synthetic_variable_count = 4 };
inline const std::vector<std::string> kSyntheticVariableNames{"citizen_id", "certificate_type", "request_id", "session_id"};

// A session's requests are numbered (session << kSessionRequestBits) + its request count, so
// that {{request_id}} stays unique and {{session_id}} is the session's number.
inline constexpr int kSessionRequestBits = 20;

// Where a captured value comes from (sim::Capture, compiled): a header's value when `header` is
// set, else the body; of that, the first group of `regex` when set, else (the body only) the
// value at `json_pointer`.
struct CaptureRule {
  int variable = 0;          // index of the captured variable
  std::string json_pointer;  // "/credential"
  std::string header;        // "Location"
  std::shared_ptr<const CompiledRegex> regex;
  bool reads_body() const { return header.empty(); }
};

// Negative paths of one endpoint (sim::Negative, compiled): which variable is replaced, where
// revoked values are kept, and the shares.
struct NegativeRule {
  int variable = -1;           // the captured variable replaced; -1: no negative paths
  int revoked_variable = -1;   // pool of values revoked in warm-up (an internal variable)
  double tampered = 0;
  double revoked = 0;
  int revoke_request = -1;     // index into RequestPlan::warm_up_requests
};

// What a rendered request carries, for counting: the normal path or a negative one.
enum class NegativeCase : std::uint8_t { none, tampered, revoked };

struct EndpointRequest {
  std::string endpoint;
  Template head;                    // request line and headers, without Content-Length
  Template body;
  bool has_body = false;
  std::vector<CaptureRule> captures;
  std::vector<int> needs;           // capture variables its templates use
  NegativeRule negative;
  bool head_method = false;         // HEAD: the response has no body whatever its headers say
  CompiledChecks checks;            // empty: below 400 is ok
  int max_redirects = 0;            // redirects followed (same origin only); 0: a 3xx is the answer
  // Whether a capture or a check reads the body: the engine then keeps all of it.
  bool reads_body() const {
    return checks.reads_body() || std::any_of(captures.begin(), captures.end(), [](const CaptureRule& capture) { return capture.reads_body(); });
  }
};

// A column of a CSV feeder, as one template variable.
struct FeederVariable {
  std::size_t feeder = 0;      // index into RequestPlan::feeders
  std::size_t column = 0;
};

struct RequestPlan {
  // Synthetic ones, then every capture name, then FEEDER.COLUMN of every feeder, then the
  // internal pools of revoked values ("credential#revoked").
  std::vector<std::string> variable_names;
  std::vector<EndpointRequest> endpoints;    // in the rate model's endpoint order
  std::vector<EndpointRequest> warm_up_requests;  // flows run only in warm-up (revoke_with)
  long long citizens = 1'000'000;
  std::vector<std::string> certificate_types;
  std::vector<sim::Feeder> feeders;
  int first_feeder_variable = 0;
  std::vector<FeederVariable> feeder_variables;  // [variable - first_feeder_variable]
  // env.NAME variables follow the feeders': their values, read once by plan_from_scenario.
  // Never written to results, reports or logs: redact_environment removes them from texts that
  // quote an answer.
  int first_environment_variable = 0;
  std::vector<std::pair<std::string, std::string>> environment;  // NAME, value; [variable - first_environment_variable]
  std::uint64_t seed = 0;                        // salts the random order of feeders
  // With journeys: requests go in sessions that walk this chain, and the variables a flow of the
  // journeys captures belong to each session (true at their index); others, such as values
  // seeded in warm-up for negative paths, come from the thread's pool.
  std::optional<sim::SessionChain> sessions;
  std::vector<bool> session_scoped;
  bool cookies = false;  // with sessions: each keeps a cookie jar (journeys.cookies)
};

// The values of the environment variables the scenario's flows use ({{env.NAME}}), in the order
// of first use, read once. Throws InputError naming the flow's field, its line and the variable
// (never a value) when one is not set, or when one inserted into a header holds CR, LF or NUL.
std::vector<std::pair<std::string, std::string>> environment_values(const sim::Scenario& scenario);

// Replaces every occurrence in `text` of an environment value of the plan, as read and as
// escaped for any context, by "{{env.NAME}}": for texts that quote an answer (a target may echo
// a request's header or body), before they go into results or onto a terminal.
void redact_environment(const RequestPlan& plan, std::string& text);

// From a scenario: one request per endpoint of its mix or journeys. Throws InputError when an
// endpoint has no flow, and as environment_values does.
RequestPlan plan_from_scenario(const sim::Scenario& scenario, const std::vector<std::string>& endpoint_order, const Target& target);

// Ad hoc: one endpoint named "request" sending `method` to the target's path.
RequestPlan plan_ad_hoc(const Target& target, const std::string& method, const std::string& body,
                        const std::vector<std::pair<std::string, std::string>>& headers);

// Per-thread values of captured variables: a bounded ring of the most recent values each.
class CapturePool {
 public:
  explicit CapturePool(std::size_t variables, std::size_t capacity = 4096);
  void put(int variable, std::string_view value);
  // A random stored value, or std::nullopt when none has been captured yet.
  const std::string* pick(int variable, Random& random) const;
  std::size_t size(int variable) const;
  // A session's pool: the variables not marked in `own` are picked from `shared` instead.
  void fall_back_to(const CapturePool* shared, const std::vector<bool>* own) {
    shared_ = shared;
    own_ = own;
  }
  void clear();

 private:
  struct Ring {
    std::vector<std::string> values;
    std::size_t next = 0;
  };
  std::vector<Ring> rings_;
  std::size_t capacity_;
  const CapturePool* shared_ = nullptr;
  const std::vector<bool>* own_ = nullptr;
};

// Why render_request did not render a request.
enum class RenderProblem : std::uint8_t {
  missing_capture,  // a needed capture has no value yet
  unsafe_value,     // a value for a header holds CR, LF or NUL: sent, it would inject a header line
};

// Renders `request` into `out` (cleared first; its capacity is reused), each value escaped for
// its place (Escape). Returns false, leaving `missing` set to the variable and `problem` (when
// given) to why, when a needed capture has no value yet or a value cannot go where it stands.
// With negative paths, draws which case this request is and sets `chosen` (when given): a
// tampered request carries an altered copy of the value, a revoked one a value from the revoked
// pool.
bool render_request(const EndpointRequest& request, const RequestPlan& plan, const CapturePool& pool, Random& random,
                    std::uint64_t sequence, std::string& body_scratch, std::string& out, int& missing,
                    NegativeCase* chosen = nullptr, RenderProblem* problem = nullptr);

// Writes `value` at the end of `out` escaped as `escape` says. Returns false, appending nothing,
// for a header value with CR, LF or NUL.
bool append_escaped(std::string& out, std::string_view value, Escape escape);

// Puts into `pool` the values `rules` capture from one answer (its head as
// ResponseParser::head() gives it, and its body); a rule that finds nothing puts nothing. The one
// capture path of the run and of its warm-up.
void capture_values(const std::vector<CaptureRule>& rules, std::string_view head, std::string_view body, CapturePool& pool, std::string& scratch);

// The row of `feeder` that the arrival with this sequence number uses.
std::size_t feeder_row(const sim::Feeder& feeder, std::uint64_t sequence, std::uint64_t seed) noexcept;

// Alters `value` in place so that a signature check must fail: one character in the middle of
// its last '.'-separated segment is replaced by another of the base64url alphabet (the middle,
// because the last character of base64url may carry only padding bits).
void tamper(std::string& value, std::size_t from = 0) noexcept;

// The value at a JSON pointer in a response body, for captures: a targeted scan for one-level
// string members ("/credential"), the common case on the hot path, and a full parse otherwise.
std::optional<std::string_view> extract_json_pointer(std::string_view body, std::string_view pointer, std::string& scratch);

}  // namespace uptake::loadgen
