#pragma once
// From request lines to endpoints: a path's identifiers (numbers, UUIDs, hex and long opaque
// segments) become parameters, so that /v1/certificates/8412 and /v1/certificates/9003 are one
// endpoint, `GET /v1/certificates/{id}`; rules given by the author name endpoints explicitly.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace uptake::calibrate {

// --route 'POST /v1/certificates/*/revoke=revoke': a method (or * for any), a path whose `*`
// segments match any one segment and a final `**` any rest, and the endpoint's name.
struct RouteRule {
  std::string method;                 // "*" for any
  std::vector<std::string> segments;  // "*" matches one segment, "**" (last) any rest
  std::string name;
  std::string text;                   // as given, for messages
};

// Parses one --route value; std::nullopt with `problem` set when it is not one.
std::optional<RouteRule> parse_route_rule(std::string_view text, std::string& problem);

// The path with its identifiers replaced by {id} (the second one {id2}, ...), and the query
// string dropped unless `keep_query`. "/v1/certificates/8412?x=1" -> "/v1/certificates/{id}".
std::string normalise_path(std::string_view target, bool keep_query);

// Whether a segment is an identifier rather than a name: all digits, a UUID, hexadecimal of 8
// characters or more with a digit, or an opaque token of 20 characters or more with a digit.
bool is_identifier_segment(std::string_view segment);

// Static assets by extension (.css, .js, .png, ...), for --exclude-static.
bool is_static_asset(std::string_view target);

// Crawlers, monitors and scripts by user agent (a case-insensitive search for bot, crawl,
// spider, slurp, ...), for --exclude-bots.
bool is_bot(std::string_view user_agent);

// An endpoint: the method and path template it stands for, its name in the scenario, and one
// path seen in the log (so a flow can be written that the target will answer).
struct Endpoint {
  std::string name;
  std::string method;
  std::string path_template;   // "/v1/certificates/{id}"
  std::string example_target;  // "/v1/certificates/8412"
  std::string rule;            // the --route that named it; empty when derived
};

// Endpoints met so far, looked up by method and normalised path. At most kMostEndpoints: the
// rest fall into one endpoint named "other", so memory is bounded by routes, never by lines.
class Router {
 public:
  static constexpr std::size_t kMostEndpoints = 400;
  explicit Router(std::vector<RouteRule> rules = {}, bool keep_query = false);

  // The endpoint of a request; adds it when new.
  std::uint32_t route(std::string_view method, std::string_view target);
  const std::vector<Endpoint>& endpoints() const { return endpoints_; }
  bool overflowed() const { return overflowed_; }

 private:
  std::uint32_t add(std::string key, Endpoint endpoint);
  std::string unique_name(std::string base);

  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view text) const noexcept { return std::hash<std::string_view>{}(text); }
  };
  std::vector<RouteRule> rules_;
  bool keep_query_;
  std::unordered_map<std::string, std::uint32_t, Hash, std::equal_to<>> by_key_;
  std::vector<Endpoint> endpoints_;
  std::string scratch_;
  bool overflowed_ = false;
};

}  // namespace uptake::calibrate
