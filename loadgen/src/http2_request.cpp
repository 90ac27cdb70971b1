#include "uptake/loadgen/http2_request.hpp"

#include <algorithm>
#include <array>

namespace uptake::loadgen {
namespace {

bool iequals(std::string_view text, std::string_view lower) {
  return text.size() == lower.size() && std::equal(text.begin(), text.end(), lower.begin(), [](char a, char b) { return (a | 0x20) == b; });
}

std::string_view trimmed(std::string_view value) {
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
  return value;
}

bool forbidden_in_http2(std::string_view name) {
  static constexpr std::array<std::string_view, 6> kForbidden{"connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "te"};
  return std::any_of(kForbidden.begin(), kForbidden.end(), [&](std::string_view forbidden) { return iequals(name, forbidden); });
}

}  // namespace

bool http2_request_fields(std::string_view request, bool tls, std::string_view default_authority, std::vector<HeaderField>& fields,
                          std::size_t& body_offset) {
  fields.clear();
  const auto head_end = request.find("\r\n\r\n");
  if (head_end == std::string_view::npos) return false;
  const auto line_end = request.find("\r\n");
  const auto line = request.substr(0, line_end);
  const auto method_end = line.find(' ');
  const auto target_end = line.rfind(' ');
  if (method_end == std::string_view::npos || method_end == 0 || target_end <= method_end + 1) return false;
  fields.emplace_back(":method", line.substr(0, method_end));
  fields.emplace_back(":scheme", tls ? "https" : "http");
  fields.emplace_back(":authority", default_authority);
  fields.emplace_back(":path", line.substr(method_end + 1, target_end - method_end - 1));
  for (auto at = line_end + 2; at < head_end + 2;) {
    const auto end = request.find("\r\n", at);
    const auto header = request.substr(at, end - at);
    at = end + 2;
    const auto colon = header.find(':');
    if (colon == std::string_view::npos || colon == 0) return false;
    const auto name = header.substr(0, colon);
    const auto value = trimmed(header.substr(colon + 1));
    if (iequals(name, "host")) {
      fields[2].second = value;
      continue;
    }
    if (!forbidden_in_http2(name)) fields.emplace_back(name, value);
  }
  body_offset = head_end + 4;
  return true;
}

}  // namespace uptake::loadgen
