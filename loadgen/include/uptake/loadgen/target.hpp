#pragma once
// Where traffic goes: a parsed http:// or https:// URL. uptake sends load only where it is told;
// the tests of this project point it at loopback.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace uptake::loadgen {

struct Target {
  bool tls = false;
  std::string host;          // as given (a name or an address; IPv6 without brackets)
  std::uint16_t port = 80;
  std::string base_path;     // prefix for flow paths, without a trailing '/' ("" or "/api")
  std::string path = "/";    // the URL's own path and query (ad hoc runs send to it)
  // "Basic <base64 of user:password>" from the URL's user information, or empty. Never part of
  // to_string(), so results and reports do not repeat a password.
  std::string authorization;

  std::string host_header() const;   // "host" or "host:port" when not the default port
  std::string to_string() const;     // "http://127.0.0.1:8080/path"
};

// std::nullopt with `problem` set when `url` is not an http(s) URL with a host (RFC 3986, by
// Boost.URL). User information ("user:password@") becomes `authorization`; only the host is
// ever resolved.
std::optional<Target> parse_target(std::string_view url, std::string& problem);
// The same for input that must be a target: throws InputError naming `field` (--target, --url)
// with parse_target's sentence when it is not one.
Target parse_target_or_throw(std::string_view url, const char* field);

}  // namespace uptake::loadgen
