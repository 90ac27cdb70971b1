#include "uptake/loadgen/cookie_jar.hpp"

#include <boost/url/grammar/ci_string.hpp>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <optional>

#include "uptake/loadgen/response_parser.hpp"

namespace uptake::loadgen {
namespace {

using boost::urls::grammar::ci_is_equal;

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

std::string_view path_of(std::string_view request_target) { return request_target.substr(0, request_target.find('?')); }

// RFC 6265 section 5.1.4: the directory of the request's path.
std::string_view default_path(std::string_view request_path) {
  if (request_path.empty() || request_path.front() != '/') return "/";
  const auto last = request_path.rfind('/');
  return last == 0 ? std::string_view("/") : request_path.substr(0, last);
}

bool path_matches(std::string_view cookie_path, std::string_view request_path) {
  if (!request_path.starts_with(cookie_path)) return false;
  return request_path.size() == cookie_path.size() || cookie_path.back() == '/' || request_path[cookie_path.size()] == '/';
}

bool is_ip_address(std::string_view host) {
  return host.find(':') != std::string_view::npos || std::all_of(host.begin(), host.end(), [](char c) { return c == '.' || (c >= '0' && c <= '9'); });
}

// RFC 6265 section 5.1.3, for the one host uptake talks to.
bool domain_matches(std::string_view host, std::string_view domain) {
  if (ci_is_equal(host, domain)) return true;
  return !is_ip_address(host) && host.size() > domain.size() && host[host.size() - domain.size() - 1] == '.' &&
         ci_is_equal(host.substr(host.size() - domain.size()), domain);
}

// Leading digits of `token` (1 to `most` of them, at least `least`), followed by nothing or a
// non-digit: the shapes of RFC 6265's day-of-month and year.
std::optional<int> leading_number(std::string_view token, std::size_t least, std::size_t most) {
  std::size_t digits = 0;
  while (digits < token.size() && std::isdigit(static_cast<unsigned char>(token[digits]))) ++digits;
  if (digits < least || digits > most) return std::nullopt;
  int value = 0;
  std::from_chars(token.data(), token.data() + digits, value);
  return value;
}

bool cookie_date_delimiter(unsigned char c) {
  return c == 0x09 || (c >= 0x20 && c <= 0x2F) || (c >= 0x3B && c <= 0x40) || (c >= 0x5B && c <= 0x60) || (c >= 0x7B && c <= 0x7E);
}

}  // namespace

bool parse_cookie_date(std::string_view text, std::chrono::system_clock::time_point& out) {
  static constexpr std::string_view kMonths[] = {"jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"};
  std::optional<int> hour, minute, second, day, month, year;
  std::size_t at = 0;
  while (at < text.size()) {
    while (at < text.size() && cookie_date_delimiter(static_cast<unsigned char>(text[at]))) ++at;
    std::size_t end = at;
    while (end < text.size() && !cookie_date_delimiter(static_cast<unsigned char>(text[end]))) ++end;
    const auto token = text.substr(at, end - at);
    at = end;
    if (token.empty()) continue;
    if (!hour) {
      // hms-time: 1*2DIGIT ":" 1*2DIGIT ":" 1*2DIGIT, then anything but a digit.
      const auto h = leading_number(token, 1, 2);
      const auto first_colon = token.find(':');
      if (h && first_colon != std::string_view::npos && first_colon <= 2) {
        const auto rest = token.substr(first_colon + 1);
        const auto m = leading_number(rest, 1, 2);
        const auto second_colon = rest.find(':');
        if (m && second_colon != std::string_view::npos && second_colon <= 2) {
          if (const auto s = leading_number(rest.substr(second_colon + 1), 1, 2)) {
            hour = h, minute = m, second = s;
            continue;
          }
        }
      }
    }
    if (!day) {
      if (const auto d = leading_number(token, 1, 2)) {
        day = d;
        continue;
      }
    }
    if (!month && token.size() >= 3) {
      const auto found = std::find_if(std::begin(kMonths), std::end(kMonths), [&](std::string_view name) { return ci_is_equal(token.substr(0, 3), name); });
      if (found != std::end(kMonths)) {
        month = static_cast<int>(found - std::begin(kMonths)) + 1;
        continue;
      }
    }
    if (!year) {
      if (const auto y = leading_number(token, 2, 4)) year = y;
    }
  }
  if (!hour || !day || !month || !year) return false;
  int full_year = *year;
  if (full_year >= 70 && full_year <= 99) full_year += 1900;
  else if (full_year >= 0 && full_year <= 69) full_year += 2000;
  if (*day < 1 || *day > 31 || full_year < 1601 || *hour > 23 || *minute > 59 || *second > 59) return false;
  const std::chrono::year_month_day date{std::chrono::year(full_year), std::chrono::month(static_cast<unsigned>(*month)), std::chrono::day(static_cast<unsigned>(*day))};
  if (!date.ok()) return false;
  out = std::chrono::sys_days(date) + std::chrono::hours(*hour) + std::chrono::minutes(*minute) + std::chrono::seconds(*second);
  return true;
}

void CookieJar::store(std::string_view head, std::string_view request_target, Time now) {
  std::size_t from = 0;
  while (const auto value = find_header(head, "set-cookie", from)) store_one(*value, request_target, now);
}

void CookieJar::store_one(std::string_view set_cookie, std::string_view request_target, Time now) {
  if (set_cookie.size() > kMaxCookieBytes) return;
  const auto semicolon = set_cookie.find(';');
  const auto pair = set_cookie.substr(0, semicolon);
  const auto equals = pair.find('=');
  if (equals == std::string_view::npos) return;
  Cookie cookie;
  cookie.name = trim(pair.substr(0, equals));
  cookie.value = trim(pair.substr(equals + 1));
  if (cookie.name.empty()) return;
  std::optional<Time> max_age_expiry, expires;
  std::string_view path;
  auto attributes = semicolon == std::string_view::npos ? std::string_view() : set_cookie.substr(semicolon + 1);
  while (!attributes.empty()) {
    const auto next = attributes.find(';');
    const auto attribute = attributes.substr(0, next);
    attributes = next == std::string_view::npos ? std::string_view() : attributes.substr(next + 1);
    const auto attribute_equals = attribute.find('=');
    const auto name = trim(attribute.substr(0, attribute_equals));
    const auto value = attribute_equals == std::string_view::npos ? std::string_view() : trim(attribute.substr(attribute_equals + 1));
    if (ci_is_equal(name, "expires")) {
      Time date;
      if (parse_cookie_date(value, date)) expires = date;
    } else if (ci_is_equal(name, "max-age")) {
      // RFC 6265 section 5.2.2: an optional '-' and digits; zero or less removes the cookie.
      const bool negative = value.starts_with('-');
      const auto digits = negative ? value.substr(1) : value;
      if (digits.empty() || !std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; })) continue;
      long long seconds = 0;
      const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), seconds);
      constexpr long long kTenYears = 10LL * 366 * 86400;  // beyond any run; keeps the sum finite
      if (ec != std::errc{} || seconds > kTenYears) seconds = kTenYears;
      max_age_expiry = negative || seconds == 0 ? Time::min() : now + std::chrono::seconds(seconds);
    } else if (ci_is_equal(name, "domain")) {
      auto domain = value;
      if (domain.starts_with('.')) domain.remove_prefix(1);
      if (domain.empty()) continue;
      if (!domain_matches(host_, domain)) return;  // for another host: never this jar's
    } else if (ci_is_equal(name, "path")) {
      path = value;
    } else if (ci_is_equal(name, "secure")) {
      cookie.secure = true;
    }
  }
  // A Secure cookie set over plain HTTP is refused (RFC 6265bis section 5.7, step 14).
  if (cookie.secure && !secure_) return;
  cookie.path = path.empty() || path.front() != '/' ? std::string(default_path(path_of(request_target))) : std::string(path);
  cookie.expires = max_age_expiry ? *max_age_expiry : expires ? *expires : Time::max();
  std::erase_if(cookies_, [&](const Cookie& held) { return held.expires <= now; });
  const auto same = std::find_if(cookies_.begin(), cookies_.end(), [&](const Cookie& held) { return held.name == cookie.name && held.path == cookie.path; });
  if (cookie.expires <= now) {
    if (same != cookies_.end()) cookies_.erase(same);
    return;
  }
  if (same != cookies_.end()) {
    cookie.created = same->created;  // a replaced cookie keeps its place (section 5.3, step 11)
    *same = std::move(cookie);
    return;
  }
  if (cookies_.size() >= kMaxCookies) {
    cookies_.erase(std::min_element(cookies_.begin(), cookies_.end(), [](const Cookie& a, const Cookie& b) { return a.created < b.created; }));
  }
  cookie.created = created_++;
  cookies_.push_back(std::move(cookie));
}

bool CookieJar::append_pairs(std::string& out, std::string_view request_target, Time now) const {
  const auto request_path = path_of(request_target);
  thread_local std::vector<const Cookie*> chosen;
  chosen.clear();
  for (const auto& cookie : cookies_) {
    if (cookie.expires > now && (!cookie.secure || secure_) && path_matches(cookie.path, request_path)) chosen.push_back(&cookie);
  }
  if (chosen.empty()) return false;
  std::sort(chosen.begin(), chosen.end(), [](const Cookie* a, const Cookie* b) {
    return a->path.size() != b->path.size() ? a->path.size() > b->path.size() : a->created < b->created;
  });
  for (std::size_t i = 0; i < chosen.size(); ++i) {
    if (i) out += "; ";
    out += chosen[i]->name;
    out += '=';
    out += chosen[i]->value;
  }
  return true;
}

std::string_view request_target_of(std::string_view request) noexcept {
  const auto first_space = request.find(' ');
  if (first_space == std::string_view::npos) return {};
  const auto second_space = request.find(' ', first_space + 1);
  if (second_space == std::string_view::npos) return {};
  return request.substr(first_space + 1, second_space - first_space - 1);
}

void add_cookie_header(std::string& request, const CookieJar& jar, CookieJar::Time now) {
  if (jar.empty()) return;
  thread_local std::string pairs;
  pairs.clear();
  if (!jar.append_pairs(pairs, request_target_of(request), now)) return;
  const auto head_end = request.find("\r\n\r\n");
  if (head_end == std::string::npos) return;
  // A Cookie field of the flow's own: the jar's pairs join it, as one field must carry them all.
  for (auto line = request.find("\r\n"); line < head_end; line = request.find("\r\n", line + 2)) {
    constexpr std::string_view kName = "cookie:";
    if (line + 2 + kName.size() > request.size() || !ci_is_equal(std::string_view(request).substr(line + 2, kName.size()), kName)) continue;
    const auto line_end = request.find("\r\n", line + 2);
    request.insert(line_end, "; " + pairs);
    return;
  }
  request.insert(head_end + 2, "Cookie: " + pairs + "\r\n");
}

}  // namespace uptake::loadgen
