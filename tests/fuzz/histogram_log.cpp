// Interval logs come from uptake's own runs and from other tools (jHiccup, HdrHistogram_c,
// Nighthawk); encoded histograms also travel inside results files.
#include <string>

#include "entries.hpp"
#include "uptake/base/input_error.hpp"
#include "uptake/loadgen/histogram_log.hpp"

namespace uptake::fuzz {
namespace {

// A decoded histogram encodes and decodes again to the same counts.
void check_round_trip(const loadgen::HdrHistogram& histogram) {
  fuzz_require(histogram.total_count() >= 0, "a decoded total is not negative");
  fuzz_require(histogram.min() <= histogram.max(), "min <= max");
  (void)histogram.value_at_percentile(99.9);
  (void)histogram.mean();
  const auto again = loadgen::try_decode_compressed(loadgen::encode_compressed(histogram, 1));
  fuzz_require(static_cast<bool>(again), "a decoded histogram's own encoding decodes");
  fuzz_require(again.histogram->total_count() == histogram.total_count(), "re-encoding keeps the total");
  fuzz_require(again.histogram->max() == histogram.max(), "re-encoding keeps the max");
}

}  // namespace

void histogram_log(std::string_view input) {
  try {
    const auto log = loadgen::read_histogram_log(input, "fuzz.hlog");
    for (const auto& interval : log.intervals) {
      fuzz_require(interval.line >= 1, "an interval knows its line");
      check_round_trip(interval.histogram);
    }
  } catch (const InputError&) {
  }
  // The same bytes as a binary encoding, compressed or not.
  if (const auto decoded = loadgen::try_decode_compressed(input)) check_round_trip(*decoded.histogram);
  else fuzz_require(!decoded.error.empty(), "a refused encoding says why");
  if (const auto decoded = loadgen::try_decode_uncompressed(input)) check_round_trip(*decoded.histogram);
  else fuzz_require(!decoded.error.empty(), "a refused encoding says why");
  if (const auto decoded = loadgen::base64_decode(input)) {
    fuzz_require(loadgen::base64_encode(*decoded) == input, "strict base64 has one encoding per byte string");
  }
}

}  // namespace uptake::fuzz
