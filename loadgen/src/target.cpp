#include "uptake/loadgen/target.hpp"

#include <fmt/format.h>

#include <charconv>

#include "uptake/base/input_error.hpp"

namespace uptake::loadgen {

std::string Target::host_header() const {
  const bool default_port = (tls && port == 443) || (!tls && port == 80);
  const std::string name = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  return default_port ? name : fmt::format("{}:{}", name, port);
}

std::string Target::to_string() const { return fmt::format("{}://{}{}", tls ? "https" : "http", host_header(), path); }

std::optional<Target> parse_target(std::string_view url, std::string& problem) {
  Target target;
  const auto scheme_end = url.find("://");
  const auto scheme = scheme_end == std::string_view::npos ? std::string_view{} : url.substr(0, scheme_end);
  if (scheme == "https") target.tls = true;
  else if (scheme != "http") {
    problem = fmt::format("'{}' does not start with http:// or https://", url);
    return std::nullopt;
  }
  target.port = target.tls ? 443 : 80;
  auto rest = url.substr(scheme_end + 3);
  const auto path_start = rest.find('/');
  auto authority = rest.substr(0, path_start);
  target.path = path_start == std::string_view::npos ? "/" : std::string(rest.substr(path_start));
  std::string_view port_text;
  if (!authority.empty() && authority.front() == '[') {
    const auto close = authority.find(']');
    if (close == std::string_view::npos) {
      problem = fmt::format("'{}' has an unclosed '[' in its host", url);
      return std::nullopt;
    }
    target.host = std::string(authority.substr(1, close - 1));
    if (close + 1 < authority.size() && authority[close + 1] == ':') port_text = authority.substr(close + 2);
  } else {
    const auto colon = authority.rfind(':');
    target.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) port_text = authority.substr(colon + 1);
  }
  if (target.host.empty()) {
    problem = fmt::format("'{}' has no host", url);
    return std::nullopt;
  }
  if (!port_text.empty()) {
    unsigned port = 0;
    const auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (ec != std::errc{} || end != port_text.data() + port_text.size() || port == 0 || port > 65535) {
      problem = fmt::format("'{}' has no valid port", url);
      return std::nullopt;
    }
    target.port = static_cast<std::uint16_t>(port);
  }
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
