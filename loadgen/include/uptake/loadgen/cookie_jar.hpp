#pragma once
// The cookies one session received, sent back on its later requests, as a browser or an app
// would (RFC 6265, sections 5.2 to 5.4). uptake talks to one origin, the target, so the jar holds
// that host's cookies only: a cookie whose Domain attribute names another host is ignored. It is
// bounded (kMaxCookies, kMaxCookieBytes), so a target cannot grow a generator's memory with it.
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace uptake::loadgen {

class CookieJar {
 public:
  using Time = std::chrono::system_clock::time_point;
  static constexpr std::size_t kMaxCookies = 50;        // RFC 6265 asks at least 50 per domain
  static constexpr std::size_t kMaxCookieBytes = 4096;  // name, value and attributes of one cookie

  // host: the target's host (as Target::host: an IPv6 address without brackets); secure: whether
  // requests go over TLS (a Secure cookie is only sent then).
  CookieJar(std::string host = {}, bool secure = false) : host_(std::move(host)), secure_(secure) {}

  // Stores, replaces or removes cookies by every Set-Cookie field of a response head (as
  // ResponseParser::head() gives it) to a request for `request_target` (path and query).
  void store(std::string_view head, std::string_view request_target, Time now);
  // One Set-Cookie field's value.
  void store_one(std::string_view set_cookie, std::string_view request_target, Time now);
  // Appends "name=value; name2=value2" for the cookies a request for `request_target` carries,
  // longer paths first, then older first (RFC 6265 section 5.4). Returns whether it appended any.
  bool append_pairs(std::string& out, std::string_view request_target, Time now) const;

  void clear() { cookies_.clear(); }
  bool empty() const { return cookies_.empty(); }
  std::size_t size() const { return cookies_.size(); }

 private:
  struct Cookie {
    std::string name;
    std::string value;
    std::string path;
    Time expires = Time::max();
    bool secure = false;
    std::uint64_t created = 0;  // order of creation, for the order of the Cookie header
  };
  std::string host_;
  bool secure_ = false;
  std::vector<Cookie> cookies_;
  std::uint64_t created_ = 0;
};

// The request target (path and query) of a request as rendered: what its request line names.
std::string_view request_target_of(std::string_view request) noexcept;

// Adds the cookies `jar` holds for `request` (a whole rendered request: head, blank line, body)
// to it: after the value of its Cookie field when it has one (a flow's own), else as a new
// Cookie field at the end of its head. Nothing changes when the jar has none for it.
void add_cookie_header(std::string& request, const CookieJar& jar, CookieJar::Time now);

// RFC 6265 section 5.1.1: the date of an Expires attribute ("Wed, 21 Oct 2015 07:28:00 GMT" and
// the older forms the algorithm accepts); false when it is not a date.
bool parse_cookie_date(std::string_view text, std::chrono::system_clock::time_point& out);

}  // namespace uptake::loadgen
