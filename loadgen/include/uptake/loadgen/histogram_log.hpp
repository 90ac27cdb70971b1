#pragma once
// HdrHistogram's V2 compressed encoding and its interval log text format, as jHiccup, wrk2's
// HdrHistogram_c and Nighthawk write them, so that HdrHistogram's own readers accept uptake's
// latency.hlog and uptake reads theirs.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "uptake/loadgen/hdr_histogram.hpp"

namespace uptake::loadgen {

// Compressed V2: cookie 0x1c849314, big-endian int32 length, zlib stream of the V2 payload
// (cookie 0x1c849313, payload length, normalizing offset 0, significant digits, lowest, highest,
// ratio 1.0, counts as ZigZag LEB128 with runs of zeros as negative counts).
std::string encode_compressed(const HdrHistogram& histogram, int zlib_level = 9);
// Throws InputError (field "histogram") on anything that is not such an encoding; never reads
// or allocates beyond sane bounds.
HdrHistogram decode_compressed(std::string_view bytes);

std::string base64_encode(std::string_view bytes);
std::optional<std::string> base64_decode(std::string_view text);

class HistogramLogWriter {
 public:
  // start_time: Unix seconds of the run's start; interval starts are relative to it.
  explicit HistogramLogWriter(double start_time_seconds);
  void add_interval(double start_seconds, double length_seconds, const HdrHistogram& histogram);
  const std::string& text() const { return text_; }

 private:
  std::string text_;
};

struct LogInterval {
  std::string tag;
  double start = 0;   // seconds after the log's StartTime
  double length = 0;  // seconds
  HdrHistogram histogram;
};

struct HistogramLog {
  double start_time = 0;  // Unix seconds (StartTime, else BaseTime, else 0)
  std::vector<LogInterval> intervals;
};

// Reads a whole log. Throws InputError naming `file_name` and the line on malformed input.
HistogramLog read_histogram_log(std::string_view text, const std::string& file_name);

}  // namespace uptake::loadgen
