// Responses come from whatever target a run is pointed at. The parser reads them in whatever
// pieces the network delivers; the verdict must not depend on where the pieces break.
#include <algorithm>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "entries.hpp"
#include "uptake/loadgen/response_parser.hpp"

namespace uptake::fuzz {
namespace {

using loadgen::ResponseParser;

struct Outcome {
  int status = 0;  // of the complete response
  std::string body;
  std::string head;
  bool keep_alive = false;
  ResponseParser::State last = ResponseParser::State::need_more;
};

// Feeds `stream` in pieces of the given sizes (cycled) as the answer to one request, as the
// engine reads it: to its end (bytes beyond a complete response make it an error), then the
// end of stream if it is unfinished. `kept_body`: how much of the body the parser keeps.
Outcome feed(std::string_view stream, const std::vector<std::size_t>& pieces, bool head_request, std::size_t kept_body) {
  // Small limits, so that the fuzzer reaches them.
  ResponseParser parser(4096, 1024);
  Outcome outcome;
  parser.start(head_request, kept_body);
  std::size_t at = 0, piece = 0;
  const auto largest_piece = std::min(*std::max_element(pieces.begin(), pieces.end()), stream.size());
  auto state = ResponseParser::State::need_more;
  while (at < stream.size() && state != ResponseParser::State::error) {
    const auto size = std::min(pieces[piece++ % pieces.size()], stream.size() - at);
    const auto space = parser.prepare(size);
    fuzz_require(space.size() >= size, "prepare gives the space asked for");
    // The buffer holds no more than the limits allow (a head, the kept body, a line, a read),
    // whatever the stream is: parsed bytes that nothing keeps are reclaimed, not piled up.
    fuzz_require(space.size() <= 8192 + 2 * (1024 + 4096 + 1024 + largest_piece), "the buffer stays within the limits");
    std::memcpy(space.data(), stream.data() + at, size);
    at += size;
    state = parser.commit(size);
  }
  if (state == ResponseParser::State::need_more) state = parser.end_of_stream();
  outcome.last = state;
  if (state == ResponseParser::State::error) {
    fuzz_require(!parser.error().empty(), "a refused response says why");
    fuzz_require(!parser.keep_alive(), "a refused response ends its connection");
    fuzz_require(parser.head().empty(), "a refused response has no head to look at");
  }
  if (state == ResponseParser::State::complete) {
    outcome.status = parser.status();
    outcome.body = parser.body();
    outcome.keep_alive = parser.keep_alive();
    outcome.head = parser.head();
    // The final head survives the reclaiming of parsed bytes: it is the status line the status
    // came from, whole, and a header lookup in it never fails or reads beyond it.
    const auto head = parser.head();
    fuzz_require(head.size() >= 14 && head.substr(0, 7) == "HTTP/1." && head.substr(head.size() - 2) == "\r\n", "the head is a status line and header lines");
    fuzz_require(std::stoi(std::string(head.substr(9, 3))) == parser.status(), "the head is the final response's");
    fuzz_require(head.size() <= 1024, "the head stays within the limit");
    if (const auto length = loadgen::find_header(head, "content-length")) fuzz_require(head.find(*length) != std::string_view::npos, "a header value lies within the head");
    fuzz_require(parser.status() >= 100 && parser.status() <= 999 && parser.status() != 101, "a complete response has a final three-digit status");
    fuzz_require(parser.body().size() <= std::min<std::size_t>(4096, kept_body), "a body stays within the limit and what is kept");
  }
  return outcome;
}

}  // namespace

void response_parser(std::string_view input) {
  if (input.size() < 2) return;
  const bool head_request = input[0] & 1;
  const std::size_t kept_body = input[0] & 2 ? 7 : std::numeric_limits<std::size_t>::max();
  // The second byte picks how the bytes are cut: one piece, single bytes, or varied sizes.
  const std::size_t split = static_cast<unsigned char>(input[1]);
  const auto stream = input.substr(2);
  std::vector<std::size_t> pieces;
  if (split < 200) pieces = {1 + split % 7, 1 + split % 13, 3, 1 + split};
  else pieces = {1};
  const auto whole = feed(stream, {stream.size() + 1}, head_request, kept_body);
  const auto cut = feed(stream, pieces, head_request, kept_body);
  fuzz_require(whole.status == cut.status, "the status does not depend on how reads are cut");
  fuzz_require(whole.body == cut.body, "the body does not depend on how reads are cut");
  fuzz_require(whole.head == cut.head, "the head does not depend on how reads are cut");
  fuzz_require(whole.keep_alive == cut.keep_alive, "keep-alive does not depend on how reads are cut");
  fuzz_require(whole.last == cut.last, "the verdict does not depend on how reads are cut");
}

}  // namespace uptake::fuzz
