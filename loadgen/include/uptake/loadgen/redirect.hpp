#pragma once
// Following a redirect (RFC 9110 section 15.4) the way a browser or an app's HTTP client does,
// within what uptake may do: traffic stays on the target, so only a redirect to the target's
// own origin (scheme, host and port) is followed.
#include <optional>
#include <string>
#include <string_view>

#include "uptake/loadgen/target.hpp"

namespace uptake::loadgen {

// 301, 302, 303, 307 and 308: the statuses whose Location a client follows.
bool is_followed_redirect(int status) noexcept;

// The request target (path and query) a redirect to `location` asks for, resolved against the
// request that got it (`request_target` on `target`'s origin); std::nullopt with `problem` set
// when `location` is not a URI reference, or names another origin.
std::optional<std::string> redirect_target(const Target& target, std::string_view request_target, std::string_view location, std::string& problem);

// Where the next hop of a request goes after the redirect `head` (status `status`, as
// ResponseParser::head() gives it) answered `sent`, the request as sent, when its flow may follow
// it: `followed` redirects so far, `limit` at most. std::nullopt with `problem` set when it may
// not: no Location, past the limit, or as redirect_target refuses. The run and its warm-up
// decide by this one rule.
std::optional<std::string> next_hop_target(const Target& target, std::string_view sent, int status, std::string_view head, int followed, int limit,
                                           std::string& problem);

// The next request of a redirect into `out`, from the request as sent: the same head but for its
// request line, which asks for `next_target`, and its Cookie field, which is dropped (the
// session's jar adds its cookies again). A 303 (but for HEAD), and a 301 or 302 to a POST, turn it
// into a GET without a body and without the fields that described it (Content-Length,
// Content-Type, Transfer-Encoding); 307 and 308 keep the method and the body.
void redirected_request(std::string_view sent, int status, std::string_view next_target, std::string& out);

}  // namespace uptake::loadgen
