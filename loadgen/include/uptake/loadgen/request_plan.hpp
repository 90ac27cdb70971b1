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

struct EndpointRequest {
  std::string endpoint;
  Template head;                    // request line and headers, without Content-Length
  Template body;
  bool has_body = false;
  std::vector<CaptureRule> captures;
  std::vector<int> needs;           // capture variables its templates use
};

struct RequestPlan {
  std::vector<std::string> variable_names;   // synthetic ones, then every capture name
  std::vector<EndpointRequest> endpoints;    // in the rate model's endpoint order
  long long citizens = 1'000'000;
  std::vector<std::string> certificate_types;
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
// `missing` set, when a needed capture has no value yet.
bool render_request(const EndpointRequest& request, const RequestPlan& plan, const CapturePool& pool, Random& random,
                    std::uint64_t sequence, std::string& body_scratch, std::string& out, int& missing);

// The value at a JSON pointer in a response body, for captures: a targeted scan for one-level
// string members ("/credential"), the common case on the hot path, and a full parse otherwise.
std::optional<std::string_view> extract_json_pointer(std::string_view body, std::string_view pointer, std::string& scratch);

}  // namespace uptake::loadgen
