#pragma once
// Requests compiled once from the scenario's flows and rendered per arrival into reused buffers:
// after warm-up, rendering allocates nothing. Captured values (a credential out of an issuance)
// feed later requests through per-thread pools.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "uptake/base/random.hpp"
#include "uptake/loadgen/target.hpp"
#include "uptake/sim/scenario.hpp"

namespace uptake::loadgen {

// A text with {{variables}}, split once into literal and variable parts.
class Template {
 public:
  // variable_index: maps a name to an index (synthetic variables first, then captures).
  Template(std::string_view text, const std::vector<std::string>& variable_names);
  struct Part {
    std::string literal;
    int variable = -1;  // -1: literal
  };
  const std::vector<Part>& parts() const { return parts_; }
  bool uses_variables() const { return parts_.size() > 1 || (parts_.size() == 1 && parts_[0].variable >= 0); }

 private:
  std::vector<Part> parts_;
};

// Synthetic variables have fixed indices; captures follow.
enum SyntheticVariable : int { citizen_id = 0, certificate_type = 1, request_id = 2, synthetic_variable_count = 3 };

struct CaptureRule {
  int variable = 0;          // index of the captured variable
  std::string json_pointer;  // "/credential"
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
  std::uint64_t seed = 0;                        // salts the random order of feeders
};

// From a scenario: one request per endpoint of its mix or journeys. Throws InputError when an
// endpoint has no flow.
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

 private:
  struct Ring {
    std::vector<std::string> values;
    std::size_t next = 0;
  };
  std::vector<Ring> rings_;
  std::size_t capacity_;
};

// Renders `request` into `out` (cleared first; its capacity is reused). Returns false, leaving
// `missing` set, when a needed capture has no value yet. With negative paths, draws which case
// this request is and sets `chosen` (when given): a tampered request carries an altered copy of
// the value, a revoked one a value from the revoked pool.
bool render_request(const EndpointRequest& request, const RequestPlan& plan, const CapturePool& pool, Random& random,
                    std::uint64_t sequence, std::string& body_scratch, std::string& out, int& missing,
                    NegativeCase* chosen = nullptr);

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
