// A session's cookie jar (RFC 6265) and the following of redirects (RFC 9110 section 15.4),
// without a network: what is stored, what is sent back where, and what a redirect's next
// request is.
#include <catch2/catch.hpp>

#include <chrono>
#include <string>

#include "uptake/loadgen/cookie_jar.hpp"
#include "uptake/loadgen/redirect.hpp"

using namespace uptake::loadgen;
using namespace std::chrono;

namespace {

const CookieJar::Time kNow = sys_days(year(2026) / 12 / 4) + hours(12);

std::string cookies_for(const CookieJar& jar, std::string_view target, CookieJar::Time now = kNow) {
  std::string out;
  jar.append_pairs(out, target, now);
  return out;
}

Target target_of(std::string_view url) {
  std::string problem;
  return *parse_target(url, problem);
}

}  // namespace

TEST_CASE("cookie dates: the forms RFC 6265's algorithm reads") {
  system_clock::time_point at;
  const auto expected = sys_days(year(1994) / 11 / 6) + hours(8) + minutes(49) + seconds(37);
  REQUIRE(parse_cookie_date("Sun, 06 Nov 1994 08:49:37 GMT", at));
  CHECK(at == expected);
  REQUIRE(parse_cookie_date("Sunday, 06-Nov-94 08:49:37 GMT", at));
  CHECK(at == expected);
  REQUIRE(parse_cookie_date("Sun Nov  6 08:49:37 1994", at));
  CHECK(at == expected);
  REQUIRE(parse_cookie_date("Thu, 01 Jan 1970 00:00:00 GMT", at));
  CHECK(at == sys_days(year(1970) / 1 / 1));
  CHECK_FALSE(parse_cookie_date("Mon, 30 Feb 2026 10:00:00 GMT", at));  // no such day
  CHECK_FALSE(parse_cookie_date("Mon, 12 Jan 2026", at));               // no time
  CHECK_FALSE(parse_cookie_date("Mon, 12 Foo 2026 10:00:00 GMT", at));  // no month
  CHECK_FALSE(parse_cookie_date("Mon, 12 Jan 2026 25:00:00 GMT", at));  // no such hour
  CHECK_FALSE(parse_cookie_date("", at));
}

TEST_CASE("the jar keeps what Set-Cookie says and sends it where its path matches") {
  CookieJar jar("shop.example", false);
  jar.store("HTTP/1.1 302 Found\r\nSet-Cookie: sid=abc; Path=/; HttpOnly\r\nset-cookie: cart = 3 \r\n"
            "Set-Cookie: admin=1; Path=/admin\r\nLocation: /home\r\n",
            "/shop/login?next=1", kNow);
  CHECK(jar.size() == 3);
  // cart has the default path, the login's directory: /shop.
  CHECK(cookies_for(jar, "/shop/basket") == "cart=3; sid=abc");
  CHECK(cookies_for(jar, "/shop") == "cart=3; sid=abc");
  CHECK(cookies_for(jar, "/shopping") == "sid=abc");  // /shop is not a prefix at a '/'
  CHECK(cookies_for(jar, "/admin/users?page=2") == "admin=1; sid=abc");  // longer paths first
  CHECK(cookies_for(jar, "/home") == "sid=abc");
}

TEST_CASE("the jar replaces, expires and removes cookies") {
  CookieJar jar("127.0.0.1", false);
  jar.store_one("a=1", "/", kNow);
  jar.store_one("b=2", "/", kNow);
  jar.store_one("a=3", "/", kNow);  // replaced, and keeps its place before b
  CHECK(cookies_for(jar, "/") == "a=3; b=2");
  jar.store_one("b=; Max-Age=0", "/", kNow);
  CHECK(cookies_for(jar, "/") == "a=3");
  jar.store_one("c=1; Max-Age=60", "/", kNow);
  CHECK(cookies_for(jar, "/", kNow + seconds(59)) == "a=3; c=1");
  CHECK(cookies_for(jar, "/", kNow + seconds(61)) == "a=3");
  jar.store_one("d=1; Expires=Wed, 21 Oct 2099 07:28:00 GMT", "/", kNow);
  jar.store_one("a=gone; Expires=Thu, 01 Jan 1970 00:00:00 GMT", "/", kNow);
  CHECK(cookies_for(jar, "/") == "c=1; d=1");
  // Max-Age wins over Expires, whatever their order.
  jar.store_one("e=1; Max-Age=0; Expires=Wed, 21 Oct 2099 07:28:00 GMT", "/", kNow);
  CHECK(cookies_for(jar, "/").find("e=1") == std::string::npos);
  // Malformed pairs are ignored.
  jar.store_one("no-equals-sign", "/", kNow);
  jar.store_one("=nameless", "/", kNow);
  CHECK(jar.size() == 2);
}

TEST_CASE("the jar holds the target's cookies only, and Secure ones only over TLS") {
  CookieJar plain("www.shop.example", false);
  plain.store_one("parent=1; Domain=.shop.example", "/", kNow);
  plain.store_one("own=1; Domain=www.shop.example", "/", kNow);
  plain.store_one("other=1; Domain=bank.example", "/", kNow);
  plain.store_one("suffix=1; Domain=hop.example", "/", kNow);  // "shop.example" ends in it, not at a dot
  plain.store_one("secret=1; Secure", "/", kNow);               // set over plain HTTP: refused
  CHECK(cookies_for(plain, "/") == "parent=1; own=1");

  CookieJar address("127.0.0.1", false);
  address.store_one("a=1; Domain=0.0.1", "/", kNow);  // an address has no parent domain
  CHECK(address.empty());

  CookieJar tls("shop.example", true);
  tls.store_one("secret=1; Secure", "/", kNow);
  CHECK(cookies_for(tls, "/") == "secret=1");
}

TEST_CASE("the jar is bounded however many cookies a target sets") {
  CookieJar jar("127.0.0.1", false);
  for (int i = 0; i < 200; ++i) jar.store_one("c" + std::to_string(i) + "=1", "/", kNow);
  CHECK(jar.size() == CookieJar::kMaxCookies);
  const auto sent = cookies_for(jar, "/");
  CHECK(sent.find("c199=1") != std::string::npos);  // the oldest went
  CHECK(sent.find("c0=1") == std::string::npos);
  jar.store_one("big=" + std::string(CookieJar::kMaxCookieBytes, 'x'), "/", kNow);
  CHECK(cookies_for(jar, "/").find("big=") == std::string::npos);
}

TEST_CASE("the Cookie field goes at the end of the head, or joins the flow's own") {
  CookieJar jar("127.0.0.1", false);
  jar.store_one("sid=abc", "/", kNow);
  std::string request = "POST /v1/orders HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 2\r\n\r\n{}";
  add_cookie_header(request, jar, kNow);
  CHECK(request == "POST /v1/orders HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 2\r\nCookie: sid=abc\r\n\r\n{}");

  std::string own = "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\ncookie: theme=dark\r\n\r\n";
  add_cookie_header(own, jar, kNow);
  CHECK(own == "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\ncookie: theme=dark; sid=abc\r\n\r\n");

  CookieJar empty("127.0.0.1", false);
  std::string untouched = "GET / HTTP/1.1\r\n\r\n";
  add_cookie_header(untouched, empty, kNow);
  CHECK(untouched == "GET / HTTP/1.1\r\n\r\n");
  CHECK(request_target_of("GET /a/b?c=d HTTP/1.1\r\n\r\n") == "/a/b?c=d");
}

TEST_CASE("a redirect is followed to the target's own origin only") {
  const auto target = target_of("http://127.0.0.1:8080/api");
  std::string problem;
  const auto home = redirect_target(target, "/api/login", "/api/home", problem);
  CHECK(home == "/api/home");
  CHECK(redirect_target(target, "/api/login", "home?x=1#top", problem) == "/api/home?x=1");  // relative; no fragment
  CHECK(redirect_target(target, "/api/a/b", "../c", problem) == "/api/c");
  CHECK(redirect_target(target, "/api/login", "http://127.0.0.1:8080/next", problem) == "/next");
  CHECK(redirect_target(target, "/api/login", "HTTP://127.0.0.1:8080", problem) == "/");
  CHECK(redirect_target(target, "/api/login", "//127.0.0.1:8080/x", problem) == "/x");

  for (const auto* elsewhere : {"http://127.0.0.1:8081/next", "https://127.0.0.1:8080/next", "http://localhost:8080/next", "//127.0.0.2:8080/x", "ftp://127.0.0.1:8080/x"}) {
    INFO(elsewhere);
    problem.clear();
    CHECK_FALSE(redirect_target(target, "/api/login", elsewhere, problem));
    CHECK(problem.find("another origin") != std::string::npos);
  }
  problem.clear();
  CHECK_FALSE(redirect_target(target, "/api/login", "http://[bad", problem));
  CHECK(problem.find("not a URI reference") != std::string::npos);

  const auto default_port = target_of("https://shop.example/");
  CHECK(redirect_target(default_port, "/", "https://SHOP.example:443/cart", problem) == "/cart");
  CHECK(is_followed_redirect(302));
  CHECK(is_followed_redirect(308));
  CHECK_FALSE(is_followed_redirect(304));  // not modified: no redirect to follow
  CHECK_FALSE(is_followed_redirect(300));
}

TEST_CASE("the next hop: a Location to the target, within the flow's limit") {
  const auto target = target_of("http://127.0.0.1:8080");
  const std::string sent = "GET /loop HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n\r\n";
  std::string problem;
  CHECK(next_hop_target(target, sent, 307, "HTTP/1.1 307 Temporary Redirect\r\nLocation: /loop?n=2\r\n", 2, 3, problem) == "/loop?n=2");
  CHECK_FALSE(next_hop_target(target, sent, 307, "HTTP/1.1 307 Temporary Redirect\r\nLocation: /loop\r\n", 3, 3, problem));
  CHECK(problem == "the 307 to /loop is redirect 4, and the flow follows at most 3");
  CHECK_FALSE(next_hop_target(target, sent, 302, "HTTP/1.1 302 Found\r\nContent-Length: 0\r\n", 0, 3, problem));
  CHECK(problem == "the 302 has no Location");
  CHECK_FALSE(next_hop_target(target, sent, 302, "HTTP/1.1 302 Found\r\nLocation: http://127.0.0.1:9/x\r\n", 0, 3, problem));
  CHECK(problem.find("another origin") != std::string::npos);
}

TEST_CASE("a redirect's next request: the method RFC 9110 asks for, its body only when kept") {
  const std::string post = "POST /login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nCookie: sid=old\r\n"
                           "X-Session: 7\r\nContent-Length: 13\r\n\r\n{\"user\":\"ab\"}";
  std::string next;
  for (const int status : {301, 302, 303}) {
    redirected_request(post, status, "/home?from=login", next);
    CHECK(next == "GET /home?from=login HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Session: 7\r\n\r\n");
  }
  for (const int status : {307, 308}) {
    redirected_request(post, status, "/login2", next);
    CHECK(next == "POST /login2 HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nX-Session: 7\r\nContent-Length: 13\r\n\r\n{\"user\":\"ab\"}");
  }
  redirected_request("PUT /a HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\n\r\nx", 302, "/b", next);
  CHECK(next == "PUT /b HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\n\r\nx");  // only a POST becomes a GET on 301/302
  redirected_request("HEAD /a HTTP/1.1\r\nHost: h\r\n\r\n", 303, "/b", next);
  CHECK(next == "HEAD /b HTTP/1.1\r\nHost: h\r\n\r\n");
}
