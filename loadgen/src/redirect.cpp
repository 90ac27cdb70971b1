#include "uptake/loadgen/redirect.hpp"

#include <boost/url/grammar/ci_string.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/url.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <cctype>

#include "uptake/loadgen/cookie_jar.hpp"
#include "uptake/loadgen/response_parser.hpp"

namespace uptake::loadgen {
namespace {

using boost::urls::grammar::ci_is_equal;

bool field_named(std::string_view line, std::string_view name) {
  const auto colon = line.find(':');
  return colon != std::string_view::npos && ci_is_equal(line.substr(0, colon), name);
}

}  // namespace

bool is_followed_redirect(int status) noexcept { return status == 301 || status == 302 || status == 303 || status == 307 || status == 308; }

std::optional<std::string> redirect_target(const Target& target, std::string_view request_target, std::string_view location, std::string& problem) {
  const auto base_url = fmt::format("{}://{}{}", target.tls ? "https" : "http", target.host_header(), request_target);
  const auto base = boost::urls::parse_uri(base_url);  // a view: base_url must outlive it
  const auto reference = boost::urls::parse_uri_reference(location);
  if (!base || !reference) {
    problem = fmt::format("its Location '{}' is not a URI reference", location);
    return std::nullopt;
  }
  boost::urls::url resolved;
  if (!boost::urls::resolve(*base, *reference, resolved)) {
    problem = fmt::format("its Location '{}' cannot be resolved against {}", location, request_target);
    return std::nullopt;
  }
  resolved.remove_fragment();
  std::string ignored;
  const auto next = parse_target(resolved.buffer(), ignored);
  if (!next || next->tls != target.tls || next->port != target.port || !ci_is_equal(next->host, target.host)) {
    problem = fmt::format("it points to another origin ({}), and uptake sends traffic only to the target", resolved.buffer());
    return std::nullopt;
  }
  const std::string_view next_target = resolved.encoded_target();
  if (next_target.starts_with('/')) return std::string(next_target);
  return "/" + std::string(next_target);  // an origin with an empty path: its root
}

std::optional<std::string> next_hop_target(const Target& target, std::string_view sent, int status, std::string_view head, int followed, int limit,
                                           std::string& problem) {
  const auto location = find_header(head, "location");
  if (!location) {
    problem = fmt::format("the {} has no Location", status);
    return std::nullopt;
  }
  if (followed >= limit) {
    problem = fmt::format("the {} to {} is redirect {}, and the flow follows at most {}", status, *location, followed + 1, limit);
    return std::nullopt;
  }
  return redirect_target(target, request_target_of(sent), *location, problem);
}

void redirected_request(std::string_view sent, int status, std::string_view next_target, std::string& out) {
  out.clear();
  const auto head_end = sent.find("\r\n\r\n");
  if (head_end == std::string_view::npos) return;  // not a request this engine rendered
  const auto line_end = sent.find("\r\n");
  const auto method = sent.substr(0, sent.find(' '));
  const auto old_target = request_target_of(sent);
  const bool to_get = (status == 303 && method != "HEAD") || ((status == 301 || status == 302) && method == "POST");
  out += to_get ? std::string_view("GET") : method;
  out += ' ';
  out += next_target;
  out += sent.substr(method.size() + 1 + old_target.size(), line_end - method.size() - 1 - old_target.size());  // " HTTP/1.1"
  out += "\r\n";
  for (auto at = line_end + 2; at < head_end + 2;) {
    const auto end = sent.find("\r\n", at);
    const auto line = sent.substr(at, end - at);
    at = end + 2;
    if (field_named(line, "cookie")) continue;
    if (to_get && (field_named(line, "content-length") || field_named(line, "content-type") || field_named(line, "transfer-encoding"))) continue;
    out += line;
    out += "\r\n";
  }
  out += "\r\n";
  if (!to_get) out += sent.substr(head_end + 4);
}

}  // namespace uptake::loadgen
