#include "uptake/loadgen/target.hpp"

#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>
#include <fmt/format.h>

#include <charconv>

#include "uptake/base/input_error.hpp"
#include "uptake/loadgen/histogram_log.hpp"

namespace uptake::loadgen {

std::string Target::host_header() const {
  const bool default_port = (tls && port == 443) || (!tls && port == 80);
  const std::string name = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  return default_port ? name : fmt::format("{}:{}", name, port);
}

std::string Target::to_string() const { return fmt::format("{}://{}{}", tls ? "https" : "http", host_header(), path); }

std::optional<Target> parse_target(std::string_view url, std::string& problem) {
  // A real URL parser: a hand-made split took everything before the port as the host, so
  // "http://user:pass@127.0.0.1/" sent "user:pass@127.0.0.1" to the system resolver.
  const auto parsed = boost::urls::parse_uri(url);
  if (!parsed) {
    problem = fmt::format("'{}' is not a URL ({})", url, parsed.error().message());
    return std::nullopt;
  }
  const boost::urls::url_view& uri = *parsed;
  Target target;
  if (uri.scheme_id() == boost::urls::scheme::https) target.tls = true;
  else if (uri.scheme_id() != boost::urls::scheme::http) {
    problem = fmt::format("'{}' does not start with http:// or https://", url);
    return std::nullopt;
  }
  target.port = target.tls ? 443 : 80;
  if (uri.host_type() == boost::urls::host_type::ipvfuture) {
    problem = fmt::format("'{}' has an IP literal of a future version as its host", url);
    return std::nullopt;
  }
  target.host = uri.host_address();  // decoded; an IPv6 address without its brackets
  if (target.host.empty()) {
    problem = fmt::format("'{}' has no host", url);
    return std::nullopt;
  }
  const auto port_text = uri.port();  // empty (no port, or "host:") means the scheme's
  if (!port_text.empty()) {
    unsigned port = 0;
    const auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (ec != std::errc{} || end != port_text.data() + port_text.size() || port == 0 || port > 65535) {
      problem = fmt::format("'{}' has no valid port", url);
      return std::nullopt;
    }
    target.port = static_cast<std::uint16_t>(port);
  }
  // RFC 9110 section 4.2.4 deprecates user information in http(s) URLs; what curl and browsers
  // do with it is Basic authorization (RFC 7617), so that is what it means here.
  if (uri.has_userinfo()) target.authorization = "Basic " + base64_encode(uri.user() + ":" + uri.password());
  target.path = uri.encoded_path().empty() ? "/" : std::string(uri.encoded_path());
  if (uri.has_query()) target.path += "?" + std::string(uri.encoded_query());
  target.base_path = target.path == "/" ? "" : target.path;
  while (!target.base_path.empty() && target.base_path.back() == '/') target.base_path.pop_back();
  return target;
}

Target parse_target_or_throw(std::string_view url, const char* field) {
  std::string problem;
  const auto target = parse_target(url, problem);
  if (!target) throw InputError({}, field, problem, "a URL such as http://127.0.0.1:8080");
  return *target;
}

}  // namespace uptake::loadgen
