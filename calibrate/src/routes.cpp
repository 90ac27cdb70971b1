#include "uptake/calibrate/routes.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cctype>

namespace uptake::calibrate {

namespace {

std::vector<std::string_view> split_segments(std::string_view path) {
  std::vector<std::string_view> segments;
  std::size_t at = 0;
  while (at < path.size()) {
    if (path[at] == '/') {
      ++at;
      continue;
    }
    const auto end = path.find('/', at);
    segments.push_back(path.substr(at, end == std::string_view::npos ? std::string_view::npos : end - at));
    if (end == std::string_view::npos) break;
    at = end;
  }
  return segments;
}

bool is_hex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
bool is_digit(char c) { return c >= '0' && c <= '9'; }

// The path part of a target: an absolute-form target ("http://host/x") loses its origin.
std::string_view path_of(std::string_view target) {
  if (!target.empty() && target[0] != '/') {
    const auto scheme = target.find("://");
    if (scheme != std::string_view::npos) {
      const auto slash = target.find('/', scheme + 3);
      target = slash == std::string_view::npos ? std::string_view("/") : target.substr(slash);
    }
  }
  return target;
}

bool contains_folded(std::string_view haystack, std::string_view needle) {
  if (needle.size() > haystack.size()) return false;
  for (std::size_t i = 0; i + needle.size() <= haystack.size(); ++i) {
    std::size_t j = 0;
    while (j < needle.size() && std::tolower(static_cast<unsigned char>(haystack[i + j])) == needle[j]) ++j;
    if (j == needle.size()) return true;
  }
  return false;
}

bool rule_matches(const std::vector<std::string>& pattern, const std::vector<std::string_view>& segments) {
  for (std::size_t i = 0; i < pattern.size(); ++i) {
    if (pattern[i] == "**") return true;
    if (i >= segments.size() || (pattern[i] != "*" && pattern[i] != segments[i])) return false;
  }
  return pattern.size() == segments.size();
}

}  // namespace

std::optional<RouteRule> parse_route_rule(std::string_view text, std::string& problem) {
  RouteRule rule;
  rule.text = std::string(text);
  const auto equals = text.rfind('=');
  const auto space = text.find(' ');
  if (space == std::string_view::npos || equals == std::string_view::npos || equals < space) {
    problem = fmt::format("'{}' is not a route", text);
    return std::nullopt;
  }
  rule.method = std::string(text.substr(0, space));
  const auto path = text.substr(space + 1, equals - space - 1);
  rule.name = std::string(text.substr(equals + 1));
  if (rule.method.empty() || path.empty() || path[0] != '/' || rule.name.empty()) {
    problem = fmt::format("'{}' is not a route", text);
    return std::nullopt;
  }
  for (char c : rule.name) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-') {
      problem = fmt::format("'{}' names the endpoint '{}', which has other characters than letters, digits, '_' and '-'", text, rule.name);
      return std::nullopt;
    }
  }
  if (rule.name == "exit" || rule.name == "other") {
    problem = fmt::format("'{}' names the endpoint '{}', a name calibrate keeps for itself", text, rule.name);
    return std::nullopt;
  }
  for (auto segment : split_segments(path)) rule.segments.emplace_back(segment);
  for (std::size_t i = 0; i < rule.segments.size(); ++i) {
    if (rule.segments[i] == "**" && i + 1 != rule.segments.size()) {
      problem = fmt::format("'{}' has ** before its last segment", text);
      return std::nullopt;
    }
  }
  return rule;
}

bool is_identifier_segment(std::string_view segment) {
  if (segment.empty()) return false;
  if (std::all_of(segment.begin(), segment.end(), is_digit)) return true;
  const bool has_digit = std::any_of(segment.begin(), segment.end(), is_digit);
  if (segment.size() == 36 && segment[8] == '-' && segment[13] == '-' && segment[18] == '-' && segment[23] == '-') {
    bool uuid = true;
    for (std::size_t i = 0; i < 36 && uuid; ++i) uuid = (i == 8 || i == 13 || i == 18 || i == 23) || is_hex(segment[i]);
    if (uuid) return true;
  }
  if (segment.size() >= 8 && has_digit && std::all_of(segment.begin(), segment.end(), is_hex)) return true;
  if (segment.size() >= 20 && has_digit) {
    return std::all_of(segment.begin(), segment.end(), [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.' || c == '~' || c == '='; });
  }
  return false;
}

std::string normalise_path(std::string_view target, bool keep_query) {
  target = path_of(target);
  const auto question = target.find('?');
  const auto path = target.substr(0, question);
  std::string result;
  result.reserve(path.size());
  int parameters = 0;
  for (auto segment : split_segments(path)) {
    result += '/';
    if (is_identifier_segment(segment)) {
      ++parameters;
      result += parameters == 1 ? "{id}" : fmt::format("{{id{}}}", parameters);
    } else {
      result += segment;
    }
  }
  if (!path.empty() && path.back() == '/' && !result.empty()) result += '/';
  if (result.empty()) result = "/";
  if (keep_query && question != std::string_view::npos) {
    // Parameter names are kept, their values are not: ?page=3 and ?page=4 are one endpoint.
    auto query = target.substr(question + 1);
    result += '?';
    bool first = true;
    while (!query.empty()) {
      const auto amp = query.find('&');
      const auto pair = query.substr(0, amp);
      const auto name = pair.substr(0, pair.find('='));
      if (!first) result += '&';
      result += name;
      result += "={}";
      first = false;
      if (amp == std::string_view::npos) break;
      query.remove_prefix(amp + 1);
    }
  }
  return result;
}

bool is_static_asset(std::string_view target) {
  target = path_of(target);
  target = target.substr(0, target.find('?'));
  const auto dot = target.rfind('.');
  if (dot == std::string_view::npos || target.find('/', dot) != std::string_view::npos) return false;
  static constexpr std::array<std::string_view, 22> kExtensions = {"css", "js", "mjs", "map", "png", "jpg", "jpeg", "gif", "svg", "ico", "webp", "avif",
                                                                   "woff", "woff2", "ttf", "otf", "eot", "mp4", "webm", "mp3", "txt", "webmanifest"};
  std::string extension(target.substr(dot + 1));
  for (auto& c : extension) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return std::find(kExtensions.begin(), kExtensions.end(), extension) != kExtensions.end();
}

bool is_bot(std::string_view user_agent) {
  static constexpr std::array<std::string_view, 14> kMarks = {"bot", "crawl", "spider", "slurp", "facebookexternalhit", "pingdom", "uptimerobot",
                                                              "monitor", "headlesschrome", "python-requests", "curl/", "wget/", "go-http-client", "scrapy"};
  for (auto mark : kMarks) {
    if (contains_folded(user_agent, mark)) return true;
  }
  return false;
}

Router::Router(std::vector<RouteRule> rules, bool keep_query) : rules_(std::move(rules)), keep_query_(keep_query) {}

std::string Router::unique_name(std::string base) {
  if (base.empty()) base = "root";
  if (base == "exit" || base == "other") base += "_endpoint";
  auto name = base;
  for (int n = 2; std::any_of(endpoints_.begin(), endpoints_.end(), [&](const Endpoint& e) { return e.name == name; }); ++n) name = fmt::format("{}_{}", base, n);
  return name;
}

std::uint32_t Router::add(std::string key, Endpoint endpoint) {
  if (endpoints_.size() >= kMostEndpoints) {
    overflowed_ = true;
    const auto other = by_key_.find(std::string_view("\x01other"));
    if (other != by_key_.end()) return other->second;
    endpoint = Endpoint{"other", "GET", "/", "/", ""};
    key = "\x01other";
  }
  const auto id = static_cast<std::uint32_t>(endpoints_.size());
  endpoints_.push_back(std::move(endpoint));
  by_key_.emplace(std::move(key), id);
  return id;
}

std::uint32_t Router::route(std::string_view method, std::string_view target) {
  const auto path = path_of(target);
  // Rules first, in the order given: the author's names win over derived ones.
  if (!rules_.empty()) {
    const auto segments = split_segments(path.substr(0, path.find('?')));
    for (const auto& rule : rules_) {
      if (rule.method != "*" && rule.method != method) continue;
      if (!rule_matches(rule.segments, segments)) continue;
      scratch_.assign("\x02");
      scratch_ += rule.name;
      if (const auto found = by_key_.find(std::string_view(scratch_)); found != by_key_.end()) return found->second;
      std::string templ;
      int parameters = 0;
      for (std::size_t s = 0; s < rule.segments.size(); ++s) {
        const auto& segment = rule.segments[s];
        templ += '/';
        if (segment == "*" || segment == "**") {
          ++parameters;
          templ += parameters == 1 ? "{id}" : fmt::format("{{id{}}}", parameters);
        } else {
          templ += segment;
        }
      }
      return add(scratch_, Endpoint{rule.name, rule.method == "*" ? std::string(method) : rule.method, templ.empty() ? "/" : templ,
                                    std::string(path.substr(0, keep_query_ ? std::string_view::npos : path.find('?'))), rule.text});
    }
  }
  scratch_.assign(method);
  scratch_ += ' ';
  scratch_ += normalise_path(path, keep_query_);
  if (const auto found = by_key_.find(std::string_view(scratch_)); found != by_key_.end()) return found->second;
  const auto templ = scratch_.substr(method.size() + 1);
  // A readable name: the method and the path's fixed words, "get_v1_certificates_id".
  std::string base;
  for (char c : std::string(method) + "_" + templ.substr(0, templ.find('?'))) {
    const auto lower = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (std::isalnum(static_cast<unsigned char>(lower))) {
      base += lower;
    } else if (!base.empty() && base.back() != '_') {
      base += '_';
    }
  }
  while (!base.empty() && base.back() == '_') base.pop_back();
  if (base.size() > 60) base.resize(60);
  return add(scratch_, Endpoint{unique_name(base), std::string(method), templ,
                                std::string(path.substr(0, keep_query_ ? std::string_view::npos : path.find('?'))), ""});
}

}  // namespace uptake::calibrate
