#pragma once
// HdrHistogram's V2 encodings and its interval log text format, as jHiccup, HdrHistogram_c and
// Nighthawk write them, so that HdrHistogram's own readers (Java's HistogramLogProcessor, the C
// and JS readers) accept uptake's latency.hlog and uptake reads theirs.
//
// Error style: the encoders cannot fail on a valid histogram. The decoders never crash and never
// allocate more than the bounds below, whatever the bytes: try_decode_* return the error as a
// value; decode_compressed and the log reader throw uptake::InputError.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "uptake/loadgen/hdr_histogram.hpp"

namespace uptake::loadgen {

// ---- V2 encoding (all integers big-endian) ----
// Uncompressed: cookie 0x1c849313, int32 payload length (bytes of counts), int32 normalizing
// index offset (0), int32 significant digits, int64 lowest discernible value, int64 highest
// trackable value, float64 integer-to-double ratio (1.0), then the counts up to the last
// non-empty bucket as ZigZag LEB128 (at most 9 bytes, the ninth carrying 8 bits), a run of
// k >= 2 empty buckets written as -k and a single one as 0.
// Compressed: cookie 0x1c849314, int32 length of the zlib stream, the zlib stream (compress2)
// of the uncompressed encoding.
inline constexpr std::uint32_t kV2EncodingCookie = 0x1c849313;
inline constexpr std::uint32_t kV2CompressedEncodingCookie = 0x1c849314;
// Decoders refuse configurations needing more counts than this (32 MiB of counts; uptake's
// 1 ns..1 h histogram has 33,792 counts at 3 digits, 3.4 million at 5): a corrupt or hostile
// header must not allocate gigabytes.
inline constexpr std::size_t kMaxDecodedCountsLength = std::size_t{1} << 22;

// An empty histogram encodes one zero count, as HdrHistogram's Java writer does.
std::string encode_uncompressed(const HdrHistogram& histogram);
// zlib_level: 0..9, or -1 for zlib's default; anything else is taken as 9. Level 9 is what
// jHiccup and HistogramLogWriter use, and gives their bytes exactly.
std::string encode_compressed(const HdrHistogram& histogram, int zlib_level = 9);

// What a decoder returns: a histogram, or why there is none.
struct DecodeResult {
  std::optional<HdrHistogram> histogram;  // set on success
  std::string error;                      // set on failure: what is wrong, for people
  explicit operator bool() const noexcept { return histogram.has_value(); }
};

// Decoded histograms keep the encoded configuration (lowest, highest, digits) and have no
// timestamps; min() and max() are those of the lowest and highest non-empty buckets. Only the
// V2 cookies are accepted; so is only a normalizing index offset of 0 (what integer histograms
// write). Errors: wrong cookie, lengths that disagree with the bytes present, an invalid or
// oversized configuration, a zlib stream that is damaged or holds more or less than declared,
// counts that are negative, cut short, overflow the total or run past the histogram's end.
DecodeResult try_decode_uncompressed(std::string_view bytes);
DecodeResult try_decode_compressed(std::string_view bytes);
// As try_decode_compressed, but throws uptake::InputError (field "histogram") on failure.
HdrHistogram decode_compressed(std::string_view bytes);

// Standard base64 (RFC 4648 section 4: '+', '/', '=' padding), as the interval log stores
// histograms. Decoding is strict: a length that is a multiple of 4, no characters outside the
// alphabet (whitespace included), padding only at the end, unused bits zero; std::nullopt otherwise.
std::string base64_encode(std::string_view bytes);
std::optional<std::string> base64_decode(std::string_view text);

// ---- the interval log (text, format version 1.3) ----
//
//   #[Logged with uptake]
//   #[Histogram log format version 1.3]
//   #[StartTime: 1441812279.474 (seconds since epoch), Wed Sep 09 15:24:39 UTC 2015]
//   #[BaseTime: ...]                              (only when a base time is given)
//   "StartTimestamp","Interval_Length","Interval_Max","Interval_Compressed_Histogram"
//   [Tag=<tag>,]<start>,<length>,<max>,<base64 of the compressed V2 encoding>
//
// start: seconds after StartTime (after BaseTime when one is written), 3 decimals; length:
// seconds, 3 decimals; max: the interval's max() / 1e6, 3 decimals, so nanosecond histograms
// print milliseconds as HistogramLogProcessor expects by default. Every header line is under
// 128 characters and no '#' line follows the first interval: HdrHistogram_c's reader needs both.
class HistogramLogWriter {
 public:
  // start_time_seconds: the log's StartTime, seconds since the Unix epoch. base_time_seconds:
  // when given, a BaseTime line is written and interval starts are written relative to it.
  explicit HistogramLogWriter(double start_time_seconds, std::optional<double> base_time_seconds = std::nullopt);

  // One interval; start_seconds counts from StartTime. tag: empty, or characters other than
  // ',', whitespace and control characters (std::invalid_argument otherwise).
  void add_interval(double start_seconds, double length_seconds, const HdrHistogram& histogram, std::string_view tag = {});
  // One interval whose start and end come from the histogram's timestamps (both must be set:
  // std::invalid_argument otherwise).
  void add_interval(const HdrHistogram& histogram, std::string_view tag = {});

  double start_time_seconds() const noexcept { return start_time_seconds_; }
  // The log so far, header included.
  const std::string& text() const noexcept { return text_; }

 private:
  double start_time_seconds_;
  std::optional<double> base_time_seconds_;
  std::string text_;
};

struct LogInterval {
  std::string tag;          // empty when the line has no "Tag=" prefix
  double start_time = 0;    // seconds since the Unix epoch
  double start = 0;         // seconds after the log's StartTime
  double length = 0;        // seconds (Interval_Length)
  double logged_max = 0;    // the Interval_Max field as written (value units / 1e6 by convention)
  int line = 0;             // 1-based line of the log
  HdrHistogram histogram;   // timestamps set from start_time and length
};

struct HistogramLog {
  std::string format_version;         // "1.3"; empty when the log has no version line
  std::optional<double> start_time;   // StartTime, seconds since the epoch
  std::optional<double> base_time;    // BaseTime, seconds since the epoch
  std::vector<LogInterval> intervals;
};

// Interval starts, in seconds after the log's StartTime, that the reader keeps: [from, to].
struct LogWindow {
  double from = 0;
  double to = 0;
};

// Reads a whole log: comment lines, StartTime, BaseTime, the version line, the CSV header line,
// blank lines, and interval lines (optionally "Tag=<tag>," prefixed). An interval's timestamp is
// taken the way HdrHistogram's reader takes it: after BaseTime when the log has one; otherwise
// after StartTime when it lies more than a year before StartTime (a relative timestamp), else as
// seconds since the epoch. Without StartTime, offsets count from 0.
// With a window, only intervals whose start lies in [window.from, window.to] seconds after
// StartTime are kept (every line is still checked).
// Throws uptake::InputError naming file_name, the 1-based line and column, the field
// (StartTime, BaseTime, Tag, StartTimestamp, Interval_Length, Interval_Max,
// Interval_Compressed_Histogram) and what is wrong.
HistogramLog read_histogram_log(std::string_view text, const std::string& file_name, std::optional<LogWindow> window = std::nullopt);
// Reads the file at `path` (InputError when it cannot be read).
HistogramLog read_histogram_log_file(const std::string& path, std::optional<LogWindow> window = std::nullopt);

// As read_histogram_log, but each kept interval goes to `on_interval` as soon as it is read
// instead of into the result (whose `intervals` stay empty; the header fields are filled): a
// decoded histogram takes about 270 KB, so a long log read whole would take gigabytes, and
// scanned it takes one. An exception from `on_interval` ends the scan.
using IntervalSink = std::function<void(LogInterval&&)>;
HistogramLog scan_histogram_log(std::string_view text, const std::string& file_name, const IntervalSink& on_interval, std::optional<LogWindow> window = std::nullopt);
HistogramLog scan_histogram_log_file(const std::string& path, const IntervalSink& on_interval, std::optional<LogWindow> window = std::nullopt);

}  // namespace uptake::loadgen
