#pragma once
// A request as HTTP/2 carries it. uptake renders every request as HTTP/1.1 bytes (cookies and
// redirects rewrite those); over HTTP/2 they become a HEADERS frame's fields and DATA.
#include <cstddef>
#include <string_view>
#include <utility>
#include <vector>

namespace uptake::loadgen {

using HeaderField = std::pair<std::string_view, std::string_view>;

// The fields of `request` (an HTTP/1.1 request line, header lines and a blank line, then any
// body) for HTTP/2, as views into it: the pseudo-header fields :method, :scheme ("https" when
// `tls`), :authority (the Host header's value, else `default_authority`) and :path first, then
// the header fields but those HTTP/2 forbids (RFC 9113 §8.2.2: Connection, Keep-Alive,
// Proxy-Connection, Transfer-Encoding, Upgrade, TE) and Host. Names keep their case (the
// framing layer lower-cases them). `body_offset` is where the body starts. False when `request`
// is not a request line and header lines.
bool http2_request_fields(std::string_view request, bool tls, std::string_view default_authority, std::vector<HeaderField>& fields,
                          std::size_t& body_offset);

}  // namespace uptake::loadgen
