// Responses come from whatever target a run is pointed at. The parser reads them in whatever
// pieces the network delivers; the verdict must not depend on where the pieces break.
#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "entries.hpp"
#include "uptake/loadgen/response_parser.hpp"

namespace uptake::fuzz {
namespace {

using loadgen::ResponseParser;

struct Outcome {
  std::vector<int> statuses;          // of the complete responses, in order
  std::vector<std::string> bodies;
  std::vector<bool> keep_alive;
  ResponseParser::State last = ResponseParser::State::need_more;
};

// Feeds `stream` in pieces of the given sizes (cycled), reading responses one after another as
// the engine does on a keep-alive connection, then reports end of stream if the last is unfinished.
Outcome feed(std::string_view stream, const std::vector<std::size_t>& pieces, bool head_request) {
  // Small limits, so that the fuzzer reaches them.
  ResponseParser parser(4096, 1024);
  Outcome outcome;
  parser.start(head_request);
  std::size_t at = 0, piece = 0;
  auto take = [&](ResponseParser::State state) {
    outcome.last = state;
    if (state != ResponseParser::State::complete) return state;
    outcome.statuses.push_back(parser.status());
    outcome.bodies.emplace_back(parser.body());
    outcome.keep_alive.push_back(parser.keep_alive());
    fuzz_require(parser.status() >= 100 && parser.status() <= 999, "a complete response has a three-digit status");
    fuzz_require(parser.body().size() <= 4096, "a body stays within the limit");
    return state;
  };
  while (at < stream.size() && outcome.statuses.size() < 64) {
    const auto size = std::min(pieces[piece++ % pieces.size()], stream.size() - at);
    const auto space = parser.prepare(size);
    fuzz_require(space.size() >= size, "prepare gives the space asked for");
    std::memcpy(space.data(), stream.data() + at, size);
    at += size;
    auto state = take(parser.commit(size));
    // Responses already in the buffer complete without another read.
    while (state == ResponseParser::State::complete && outcome.statuses.size() < 64 && outcome.keep_alive.back()) {
      parser.start(head_request);
      state = take(parser.commit(0));
    }
    if (state == ResponseParser::State::error) {
      fuzz_require(!parser.error().empty(), "a refused response says why");
      return outcome;
    }
    if (state == ResponseParser::State::complete) return outcome;  // closed after it
  }
  if (outcome.last == ResponseParser::State::need_more && outcome.statuses.size() < 64) take(parser.end_of_stream());
  return outcome;
}

}  // namespace

void response_parser(std::string_view input) {
  if (input.size() < 2) return;
  const bool head_request = input[0] & 1;
  // The second byte picks how the bytes are cut: one piece, single bytes, or varied sizes.
  const std::size_t split = static_cast<unsigned char>(input[1]);
  const auto stream = input.substr(2);
  std::vector<std::size_t> pieces;
  if (split < 200) pieces = {1 + split % 7, 1 + split % 13, 3, 1 + split};
  else pieces = {1};
  const auto whole = feed(stream, {stream.size() + 1}, head_request);
  const auto cut = feed(stream, pieces, head_request);
  fuzz_require(whole.statuses == cut.statuses, "statuses do not depend on how reads are cut");
  fuzz_require(whole.bodies == cut.bodies, "bodies do not depend on how reads are cut");
  fuzz_require(whole.keep_alive == cut.keep_alive, "keep-alive does not depend on how reads are cut");
  fuzz_require(whole.last == cut.last, "the verdict does not depend on how reads are cut");
}

}  // namespace uptake::fuzz
