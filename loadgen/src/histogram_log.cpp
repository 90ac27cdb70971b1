#include "uptake/loadgen/histogram_log.hpp"

#include <fmt/format.h>

#define ZLIB_CONST  // next_in points to const bytes
#include <zlib.h>

#include <algorithm>
#include <array>
#include <bit>
#include <charconv>
#include <chrono>
#include <cmath>
#include <iterator>
#include <limits>
#include <new>
#include <stdexcept>

#include "uptake/base/files.hpp"
#include "uptake/base/input_error.hpp"

namespace uptake::loadgen {
namespace {

constexpr std::size_t kHeaderBytes = 40;  // the uncompressed encoding's fixed header
constexpr std::size_t kMaxCountBytes = 9;  // longest ZigZag LEB128 of an int64

// ------------------------------------------------------------------------------- big-endian

void put_u32(std::string& out, std::uint32_t value) {
  for (int shift = 24; shift >= 0; shift -= 8) out += static_cast<char>((value >> shift) & 0xff);
}

void put_u64(std::string& out, std::uint64_t value) {
  for (int shift = 56; shift >= 0; shift -= 8) out += static_cast<char>((value >> shift) & 0xff);
}

// `bytes` holds at least at + size bytes.
std::uint64_t get_big_endian(std::string_view bytes, std::size_t at, std::size_t size) {
  std::uint64_t value = 0;
  for (std::size_t i = 0; i < size; ++i) value = (value << 8) | static_cast<unsigned char>(bytes[at + i]);
  return value;
}

std::int32_t get_i32(std::string_view bytes, std::size_t at) {
  return static_cast<std::int32_t>(static_cast<std::uint32_t>(get_big_endian(bytes, at, 4)));
}

std::int64_t get_i64(std::string_view bytes, std::size_t at) { return static_cast<std::int64_t>(get_big_endian(bytes, at, 8)); }

// ---------------------------------------------------------------------------- ZigZag LEB128

void put_zigzag(std::string& out, std::int64_t value) {
  // ZigZag maps small magnitudes of either sign to small unsigned numbers.
  std::uint64_t bits = (static_cast<std::uint64_t>(value) << 1) ^ static_cast<std::uint64_t>(value >> 63);
  for (int byte = 0; byte < 8; ++byte) {
    if (bits < 0x80) {
      out += static_cast<char>(bits);
      return;
    }
    out += static_cast<char>((bits & 0x7f) | 0x80);
    bits >>= 7;
  }
  out += static_cast<char>(bits);  // the ninth byte carries the last 8 bits whole
}

// Reads one value at `at`; false when the bytes end inside it.
bool get_zigzag(std::string_view bytes, std::size_t& at, std::int64_t& value) {
  std::uint64_t bits = 0;
  for (int byte = 0; byte < 9; ++byte) {
    if (at >= bytes.size()) return false;
    const auto next = static_cast<std::uint64_t>(static_cast<unsigned char>(bytes[at++]));
    if (byte == 8) {
      bits |= next << 56;
      break;
    }
    bits |= (next & 0x7f) << (7 * byte);
    if ((next & 0x80) == 0) break;
  }
  value = static_cast<std::int64_t>((bits >> 1) ^ (0 - (bits & 1)));
  return true;
}

// ------------------------------------------------------------------------------ the header

struct Header {
  std::size_t payload_length = 0;
  int significant_digits = 0;
  std::int64_t lowest = 0;
  std::int64_t highest = 0;
  std::size_t counts_length = 0;
};

// Checks the 40 header bytes; the error, or empty.
std::string read_header(std::string_view bytes, Header& header) {
  const auto cookie = static_cast<std::uint32_t>(get_i32(bytes, 0));
  if (cookie != kV2EncodingCookie) {
    return fmt::format("encoding cookie {:#010x} is not the V2 cookie {:#010x}", cookie, kV2EncodingCookie);
  }
  const std::int32_t payload_length = get_i32(bytes, 4);
  const std::int32_t normalizing_index_offset = get_i32(bytes, 8);
  const std::int32_t digits = get_i32(bytes, 12);
  header.lowest = get_i64(bytes, 16);
  header.highest = get_i64(bytes, 24);
  if (payload_length < 0) return fmt::format("payload length {} is negative", payload_length);
  if (normalizing_index_offset != 0) {
    return fmt::format("normalizing index offset {} is not supported (integer histograms write 0)", normalizing_index_offset);
  }
  if (digits < 1 || digits > 5) return fmt::format("{} significant digits is outside 1..5", digits);
  header.significant_digits = digits;
  if (auto error = HdrHistogram::configuration_error(header.lowest, header.highest, digits); !error.empty()) return error;
  header.counts_length = HdrHistogram::counts_length_for(header.lowest, header.highest, digits);
  if (header.counts_length > kMaxDecodedCountsLength) {
    return fmt::format("a histogram from {} to {} at {} digits needs {} counts, more than the {} this reader accepts", header.lowest,
                       header.highest, digits, header.counts_length, kMaxDecodedCountsLength);
  }
  header.payload_length = static_cast<std::size_t>(payload_length);
  if (header.payload_length > header.counts_length * kMaxCountBytes) {
    return fmt::format("payload length {} is more than {} counts can take", payload_length, header.counts_length);
  }
  return {};
}

// Walks the encoded counts, calling store(index, count) for each non-zero count; the error, or
// empty. Nothing is stored past an error only when the caller validates first (decode does).
template <class Store>
std::string read_counts(std::string_view payload, std::size_t counts_length, Store&& store) {
  std::size_t at = 0;
  std::size_t index = 0;
  std::int64_t total = 0;
  while (at < payload.size()) {
    const std::size_t value_at = at;
    std::int64_t value = 0;
    if (!get_zigzag(payload, at, value)) return fmt::format("the count at payload byte {} is cut short", value_at);
    if (value < 0) {
      // A run of empty buckets; compared before negating, as -INT64_MIN does not exist.
      if (value < -static_cast<std::int64_t>(counts_length - index)) {
        return fmt::format("a run of empty buckets at payload byte {} goes past the histogram's {} counts", value_at, counts_length);
      }
      index += static_cast<std::size_t>(-value);
      continue;
    }
    if (index >= counts_length) {
      return fmt::format("the count at payload byte {} is past the histogram's {} counts", value_at, counts_length);
    }
    if (value > std::numeric_limits<std::int64_t>::max() - total) return "the counts add up to more than 2^63 - 1";
    total += value;
    if (value != 0) store(index, value);
    ++index;
  }
  return {};
}

DecodeResult failure(std::string error) { return DecodeResult{std::nullopt, std::move(error)}; }

// Inflating with the output bounded by what the header declares, so that a small input cannot
// expand into a large allocation (a zip bomb) before it is refused.
class Inflater {
 public:
  explicit Inflater(std::string_view input) {
    stream_.next_in = reinterpret_cast<const Bytef*>(input.data());
    stream_.avail_in = static_cast<uInt>(input.size());
    started_ = inflateInit(&stream_) == Z_OK;
  }
  ~Inflater() {
    if (started_) inflateEnd(&stream_);
  }
  Inflater(const Inflater&) = delete;
  Inflater& operator=(const Inflater&) = delete;

  bool started() const noexcept { return started_; }
  bool finished() const noexcept { return finished_; }
  std::size_t input_left() const noexcept { return stream_.avail_in; }

  // Appends to `out` until it holds `size` bytes or the stream ends; the error, or empty.
  std::string fill(std::string& out, std::size_t size) {
    while (out.size() < size && !finished_) {
      const std::size_t before = out.size();
      const std::size_t room = std::min<std::size_t>(size - before, 64 * 1024);
      out.resize(before + room);
      stream_.next_out = reinterpret_cast<Bytef*>(out.data() + before);
      stream_.avail_out = static_cast<uInt>(room);
      const int status = inflate(&stream_, Z_NO_FLUSH);
      out.resize(before + room - stream_.avail_out);
      if (status == Z_STREAM_END) {
        finished_ = true;
      } else if (status == Z_BUF_ERROR) {
        return "the zlib stream is cut short";  // no progress: the input ran out
      } else if (status == Z_MEM_ERROR) {
        throw std::bad_alloc();
      } else if (status != Z_OK) {
        return fmt::format("the zlib stream is damaged ({})", stream_.msg ? stream_.msg : "no detail");
      }
    }
    return {};
  }

  // After the expected output: the stream must end here (this also checks its Adler-32).
  std::string finish() {
    if (finished_) return {};
    std::array<char, 1> extra{};
    stream_.next_out = reinterpret_cast<Bytef*>(extra.data());
    stream_.avail_out = 1;
    const int status = inflate(&stream_, Z_NO_FLUSH);
    if (stream_.avail_out == 0) return "the zlib stream holds more than the payload length declares";
    if (status == Z_STREAM_END) {
      finished_ = true;
      return {};
    }
    if (status == Z_BUF_ERROR) return "the zlib stream is cut short";
    if (status == Z_MEM_ERROR) throw std::bad_alloc();
    return fmt::format("the zlib stream is damaged ({})", stream_.msg ? stream_.msg : "no detail");
  }

 private:
  z_stream stream_{};
  bool started_ = false;
  bool finished_ = false;
};

}  // namespace

// ---------------------------------------------------------------------------------- encoding

std::string encode_uncompressed(const HdrHistogram& histogram) {
  const auto& counts = histogram.counts();
  std::size_t end = counts.size();
  while (end > 0 && counts[end - 1] == 0) --end;
  // Like the Java writer, whose counts run to max()'s bucket: an empty histogram has one count.
  end = std::max<std::size_t>(end, 1);
  std::string out;
  out.reserve(kHeaderBytes + end);
  put_u32(out, kV2EncodingCookie);
  put_u32(out, 0);  // payload length, filled in below
  put_u32(out, 0);  // normalizing index offset
  put_u32(out, static_cast<std::uint32_t>(histogram.significant_digits()));
  put_u64(out, static_cast<std::uint64_t>(histogram.lowest_discernible_value()));
  put_u64(out, static_cast<std::uint64_t>(histogram.highest_trackable_value()));
  put_u64(out, std::bit_cast<std::uint64_t>(1.0));  // integer to double conversion ratio
  for (std::size_t index = 0; index < end;) {
    if (counts[index] != 0) {
      put_zigzag(out, counts[index++]);
      continue;
    }
    std::size_t zeros = 0;
    while (index < end && counts[index] == 0) ++zeros, ++index;
    put_zigzag(out, zeros == 1 ? 0 : -static_cast<std::int64_t>(zeros));
  }
  const auto payload_length = static_cast<std::uint32_t>(out.size() - kHeaderBytes);
  for (int i = 0; i < 4; ++i) out[4 + static_cast<std::size_t>(i)] = static_cast<char>((payload_length >> (24 - 8 * i)) & 0xff);
  return out;
}

std::string encode_compressed(const HdrHistogram& histogram, int zlib_level) {
  if (zlib_level < -1 || zlib_level > 9) zlib_level = 9;
  const std::string payload = encode_uncompressed(histogram);
  uLongf compressed_size = compressBound(static_cast<uLong>(payload.size()));
  std::string out(8 + compressed_size, '\0');
  const int status = compress2(reinterpret_cast<Bytef*>(out.data() + 8), &compressed_size, reinterpret_cast<const Bytef*>(payload.data()),
                               static_cast<uLong>(payload.size()), zlib_level);
  // compressBound() leaves room enough and the level is valid: only memory can run out.
  if (status != Z_OK) throw std::bad_alloc();
  out.resize(8 + compressed_size);
  std::string prefix;
  put_u32(prefix, kV2CompressedEncodingCookie);
  put_u32(prefix, static_cast<std::uint32_t>(compressed_size));
  out.replace(0, 8, prefix);
  return out;
}

// ---------------------------------------------------------------------------------- decoding

DecodeResult try_decode_uncompressed(std::string_view bytes) {
  if (bytes.size() < kHeaderBytes) return failure(fmt::format("{} bytes are shorter than the 40-byte V2 header", bytes.size()));
  Header header;
  if (auto error = read_header(bytes, header); !error.empty()) return failure(std::move(error));
  const std::size_t present = bytes.size() - kHeaderBytes;
  if (present != header.payload_length) {
    return failure(fmt::format("the header declares {} bytes of counts but {} follow it", header.payload_length, present));
  }
  const std::string_view payload = bytes.substr(kHeaderBytes);
  // Validate everything before allocating the histogram.
  if (auto error = read_counts(payload, header.counts_length, [](std::size_t, std::int64_t) {}); !error.empty()) {
    return failure(std::move(error));
  }
  DecodeResult result;
  auto& histogram = result.histogram.emplace(header.lowest, header.highest, header.significant_digits);
  read_counts(payload, header.counts_length, [&](std::size_t index, std::int64_t count) { histogram.set_count_at_index(index, count); });
  return result;
}

DecodeResult try_decode_compressed(std::string_view bytes) {
  if (bytes.size() < 8) return failure(fmt::format("{} bytes are shorter than the 8-byte compressed header", bytes.size()));
  const auto cookie = static_cast<std::uint32_t>(get_i32(bytes, 0));
  if (cookie != kV2CompressedEncodingCookie) {
    return failure(fmt::format("cookie {:#010x} is not the V2 compressed cookie {:#010x}", cookie, kV2CompressedEncodingCookie));
  }
  const std::int32_t declared = get_i32(bytes, 4);
  const std::size_t present = bytes.size() - 8;
  if (declared <= 0 || static_cast<std::size_t>(declared) != present) {
    return failure(fmt::format("the header declares {} bytes of zlib stream but {} follow it", declared, present));
  }
  Inflater inflater(bytes.substr(8));
  if (!inflater.started()) throw std::bad_alloc();  // inflateInit fails only for want of memory
  std::string payload;
  if (auto error = inflater.fill(payload, kHeaderBytes); !error.empty()) return failure(std::move(error));
  if (payload.size() < kHeaderBytes) return failure(fmt::format("the zlib stream holds {} bytes, less than the 40-byte V2 header", payload.size()));
  Header header;
  if (auto error = read_header(payload, header); !error.empty()) return failure(std::move(error));
  const std::size_t expected = kHeaderBytes + header.payload_length;
  if (auto error = inflater.fill(payload, expected); !error.empty()) return failure(std::move(error));
  if (payload.size() < expected) {
    return failure(fmt::format("the zlib stream holds {} bytes of counts, less than the {} declared", payload.size() - kHeaderBytes,
                               header.payload_length));
  }
  if (auto error = inflater.finish(); !error.empty()) return failure(std::move(error));
  if (inflater.input_left() != 0) return failure(fmt::format("{} bytes follow the end of the zlib stream", inflater.input_left()));
  return try_decode_uncompressed(payload);
}

HdrHistogram decode_compressed(std::string_view bytes) {
  auto result = try_decode_compressed(bytes);
  if (!result) throw InputError({}, "histogram", "is not a V2 compressed HdrHistogram: " + result.error);
  return std::move(*result.histogram);
}

// ------------------------------------------------------------------------------------ base64

namespace {

constexpr std::string_view kBase64Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

// Sextet of each character; 64 for characters outside the alphabet.
constexpr std::array<std::uint8_t, 256> kBase64Values = [] {
  std::array<std::uint8_t, 256> values{};
  values.fill(64);
  for (std::size_t i = 0; i < kBase64Alphabet.size(); ++i) values[static_cast<unsigned char>(kBase64Alphabet[i])] = static_cast<std::uint8_t>(i);
  return values;
}();

}  // namespace

std::string base64_encode(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  for (std::size_t i = 0; i < bytes.size(); i += 3) {
    const std::size_t left = bytes.size() - i;
    std::uint32_t group = static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i])) << 16;
    if (left > 1) group |= static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i + 1])) << 8;
    if (left > 2) group |= static_cast<unsigned char>(bytes[i + 2]);
    out += kBase64Alphabet[(group >> 18) & 63];
    out += kBase64Alphabet[(group >> 12) & 63];
    out += left > 1 ? kBase64Alphabet[(group >> 6) & 63] : '=';
    out += left > 2 ? kBase64Alphabet[group & 63] : '=';
  }
  return out;
}

std::optional<std::string> base64_decode(std::string_view text) {
  if (text.size() % 4 != 0) return std::nullopt;
  std::string out;
  out.reserve(text.size() / 4 * 3);
  for (std::size_t i = 0; i < text.size(); i += 4) {
    const bool last = i + 4 == text.size();
    // Padding: "xx==" or "xxx=", in the last group only.
    std::size_t padding = 0;
    if (last && text[i + 3] == '=') padding = text[i + 2] == '=' ? 2 : 1;
    std::uint32_t group = 0;
    for (std::size_t k = 0; k < 4 - padding; ++k) {
      const std::uint8_t value = kBase64Values[static_cast<unsigned char>(text[i + k])];
      if (value == 64) return std::nullopt;
      group |= static_cast<std::uint32_t>(value) << (18 - 6 * k);
    }
    // Bits beyond the last byte must be zero: one spelling per byte string.
    if ((padding == 1 && (group & 0xff) != 0) || (padding == 2 && (group & 0xffff) != 0)) return std::nullopt;
    out += static_cast<char>((group >> 16) & 0xff);
    if (padding < 2) out += static_cast<char>((group >> 8) & 0xff);
    if (padding < 1) out += static_cast<char>(group & 0xff);
  }
  return out;
}

// -------------------------------------------------------------------------------- log writer

namespace {

// "Wed Sep 09 15:24:39 UTC 2015": the date style of Java's Date.toString(), in UTC, spelled
// out here so that no locale changes it.
std::string human_date(double seconds_since_epoch) {
  constexpr std::array<const char*, 7> kWeekdays = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  constexpr std::array<const char*, 12> kMonths = {"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  using namespace std::chrono;
  // Dates from year 0 to 9999 only; anything else is not a StartTime a person needs to read.
  const double clamped = std::clamp(std::floor(seconds_since_epoch), -62'167'219'200.0, 253'402'300'799.0);
  const sys_seconds instant{seconds{static_cast<std::int64_t>(clamped)}};
  const auto day = floor<days>(instant);
  const year_month_day date{day};
  const hh_mm_ss time{instant - day};
  return fmt::format("{} {} {:02} {:02}:{:02}:{:02} UTC {}", kWeekdays[weekday{day}.c_encoding()], kMonths[static_cast<unsigned>(date.month()) - 1],
                     static_cast<unsigned>(date.day()), time.hours().count(), time.minutes().count(), time.seconds().count(),
                     static_cast<int>(date.year()));
}

constexpr std::string_view kLegend = R"("StartTimestamp","Interval_Length","Interval_Max","Interval_Compressed_Histogram")";

}  // namespace

HistogramLogWriter::HistogramLogWriter(double start_time_seconds, std::optional<double> base_time_seconds)
    : start_time_seconds_(start_time_seconds), base_time_seconds_(base_time_seconds) {
  text_ = "#[Logged with uptake]\n#[Histogram log format version 1.3]\n";
  text_ += fmt::format("#[StartTime: {:.3f} (seconds since epoch), {}]\n", start_time_seconds, human_date(start_time_seconds));
  if (base_time_seconds) text_ += fmt::format("#[BaseTime: {:.3f} (seconds since epoch)]\n", *base_time_seconds);
  text_ += kLegend;
  text_ += '\n';
}

void HistogramLogWriter::add_interval(double start_seconds, double length_seconds, const HdrHistogram& histogram, std::string_view tag) {
  for (const char c : tag) {
    if (c == ',' || static_cast<unsigned char>(c) <= ' ' || c == 0x7f) {
      throw std::invalid_argument(fmt::format("HistogramLogWriter: tag '{}' holds a comma, a space or a control character", tag));
    }
  }
  if (!tag.empty()) fmt::format_to(std::back_inserter(text_), "Tag={},", tag);
  const double written_start = base_time_seconds_ ? start_time_seconds_ + start_seconds - *base_time_seconds_ : start_seconds;
  fmt::format_to(std::back_inserter(text_), "{:.3f},{:.3f},{:.3f},", written_start, length_seconds,
                 static_cast<double>(histogram.max()) / 1e6);
  text_ += base64_encode(encode_compressed(histogram));
  text_ += '\n';
}

void HistogramLogWriter::add_interval(const HdrHistogram& histogram, std::string_view tag) {
  if (histogram.start_timestamp_ms() == 0 || histogram.end_timestamp_ms() == 0) {
    throw std::invalid_argument("HistogramLogWriter: the histogram's start and end timestamps are not set");
  }
  const double start = static_cast<double>(histogram.start_timestamp_ms()) / 1e3 - start_time_seconds_;
  const double length = static_cast<double>(std::max<std::int64_t>(histogram.end_timestamp_ms() - histogram.start_timestamp_ms(), 0)) / 1e3;
  add_interval(start, length, histogram, tag);
}

// -------------------------------------------------------------------------------- log reader

namespace {

constexpr double kSecondsPerYear = 365.0 * 24 * 3600;

bool starts_with(std::string_view text, std::string_view prefix) { return text.substr(0, prefix.size()) == prefix; }

std::optional<double> parse_number(std::string_view text) {
  double value = 0;
  const char* end = text.data() + text.size();
  const auto [stop, error] = std::from_chars(text.data(), end, value);
  if (error != std::errc{} || stop != end || !std::isfinite(value)) return std::nullopt;
  return value;
}

// Text shown in an error message: at most 40 characters of it.
std::string quoted(std::string_view text) {
  if (text.size() > 40) return fmt::format("'{}...'", text.substr(0, 40));
  return fmt::format("'{}'", text);
}

class LogParser {
 public:
  LogParser(std::string_view text, const std::string& file_name, std::optional<LogWindow> window, const IntervalSink& on_interval)
      : text_(text), file_name_(file_name), window_(window), on_interval_(on_interval) {}

  HistogramLog parse() {
    std::size_t at = 0;
    while (at < text_.size()) {
      std::size_t end = text_.find('\n', at);
      if (end == std::string_view::npos) end = text_.size();
      line_ = text_.substr(at, end - at);
      at = end + 1;
      ++line_number_;
      if (!line_.empty() && line_.back() == '\r') line_.remove_suffix(1);
      if (line_.empty()) continue;
      if (line_.front() == '#') {
        comment();
      } else if (starts_with(line_, "\"StartTimestamp\"")) {
        continue;  // the CSV legend
      } else {
        interval();
      }
    }
    return std::move(log_);
  }

 private:
  [[noreturn]] void fail(std::string_view field, std::string_view at, std::string problem, std::string expected = {}) const {
    // Column of `at` within the line (1-based), when `at` points into it.
    int column = 1;
    if (at.data() >= line_.data() && at.data() <= line_.data() + line_.size()) column = static_cast<int>(at.data() - line_.data()) + 1;
    throw InputError({file_name_, line_number_, column}, std::string(field), std::move(problem), std::move(expected));
  }

  // "#[StartTime: 1441812279.474 (seconds since epoch), ...]" and the like.
  double header_number(std::string_view prefix, std::string_view field) const {
    std::string_view rest = line_.substr(prefix.size());
    const std::string_view number = rest.substr(0, rest.find_first_of(" ]"));
    const auto value = parse_number(number);
    if (!value) fail(field, number, fmt::format("{} is not a number", quoted(number)), "seconds since the epoch, such as 1441812279.474");
    return *value;
  }

  void comment() {
    constexpr std::string_view kStartTime = "#[StartTime: ";
    constexpr std::string_view kBaseTime = "#[BaseTime: ";
    constexpr std::string_view kVersion = "#[Histogram log format version ";
    if (starts_with(line_, kStartTime)) {
      log_.start_time = header_number(kStartTime, "StartTime");
    } else if (starts_with(line_, kBaseTime)) {
      log_.base_time = header_number(kBaseTime, "BaseTime");
    } else if (starts_with(line_, kVersion)) {
      const std::string_view rest = line_.substr(kVersion.size());
      log_.format_version = std::string(rest.substr(0, rest.find(']')));
    }
  }

  double field_number(std::string_view field, std::string_view text, std::string_view expected) const {
    const auto value = parse_number(text);
    if (!value) fail(field, text, fmt::format("{} is not a number", quoted(text)), std::string(expected));
    return *value;
  }

  void interval() {
    std::string_view rest = line_;
    std::string tag;
    if (starts_with(rest, "Tag=")) {
      const std::size_t comma = rest.find(',');
      const std::string_view name = rest.substr(4, comma == std::string_view::npos ? std::string_view::npos : comma - 4);
      if (comma == std::string_view::npos) fail("Tag", name, "is not followed by the interval's fields", "Tag=<name>,start,length,max,histogram");
      if (name.empty()) fail("Tag", name, "is empty", "Tag=<name> with a non-empty name");
      tag = std::string(name);
      rest = rest.substr(comma + 1);
    }
    std::array<std::string_view, 4> fields;
    std::size_t count = 0;
    while (true) {
      const std::size_t comma = rest.find(',');
      if (count < fields.size()) fields[count] = rest.substr(0, comma);
      ++count;
      if (comma == std::string_view::npos) break;
      rest = rest.substr(comma + 1);
    }
    if (count != fields.size()) {
      fail("", line_, fmt::format("an interval line has {} comma-separated fields", count),
           "4: StartTimestamp,Interval_Length,Interval_Max,Interval_Compressed_Histogram");
    }
    const double timestamp = field_number("StartTimestamp", fields[0], "seconds");
    const double length = field_number("Interval_Length", fields[1], "seconds");
    if (length < 0) fail("Interval_Length", fields[1], fmt::format("{} is negative", quoted(fields[1])), "a length in seconds, 0 or more");
    const double logged_max = field_number("Interval_Max", fields[2], "the interval's max value / 1e6");
    const auto bytes = base64_decode(fields[3]);
    if (!bytes) fail("Interval_Compressed_Histogram", fields[3], "is not base64", "standard base64 with '=' padding");
    auto decoded = try_decode_compressed(*bytes);
    if (!decoded) fail("Interval_Compressed_Histogram", fields[3], "is not a V2 compressed histogram: " + decoded.error);

    // HdrHistogram's reading of timestamps: after BaseTime if the log has one, else relative to
    // StartTime when far before it, else absolute.
    const double start_time = log_.start_time.value_or(0);
    double absolute = 0;
    double offset = 0;
    if (log_.base_time) {
      absolute = *log_.base_time + timestamp;
      offset = absolute - start_time;
    } else if (timestamp < start_time - kSecondsPerYear) {
      absolute = start_time + timestamp;
      offset = timestamp;  // exact, not a difference of two large numbers
    } else {
      absolute = timestamp;
      offset = timestamp - start_time;
    }
    if (window_ && (offset < window_->from || offset > window_->to)) return;
    HdrHistogram histogram = std::move(*decoded.histogram);
    histogram.set_start_timestamp_ms(std::llround(absolute * 1e3));
    histogram.set_end_timestamp_ms(std::llround((absolute + length) * 1e3));
    on_interval_(LogInterval{std::move(tag), absolute, offset, length, logged_max, line_number_, std::move(histogram)});
  }

  std::string_view text_;
  const std::string& file_name_;
  std::optional<LogWindow> window_;
  const IntervalSink& on_interval_;
  HistogramLog log_;  // the header fields; the intervals go to on_interval_
  std::string_view line_;
  int line_number_ = 0;
};

}  // namespace

HistogramLog scan_histogram_log(std::string_view text, const std::string& file_name, const IntervalSink& on_interval, std::optional<LogWindow> window) {
  return LogParser(text, file_name, window, on_interval).parse();
}

HistogramLog read_histogram_log(std::string_view text, const std::string& file_name, std::optional<LogWindow> window) {
  std::vector<LogInterval> intervals;
  auto log = scan_histogram_log(text, file_name, [&](LogInterval&& interval) { intervals.push_back(std::move(interval)); }, window);
  log.intervals = std::move(intervals);
  return log;
}

namespace {

std::string read_log_text(const std::string& path) { return read_whole_file(path, "an HdrHistogram interval log"); }

}  // namespace

HistogramLog read_histogram_log_file(const std::string& path, std::optional<LogWindow> window) { return read_histogram_log(read_log_text(path), path, window); }

HistogramLog scan_histogram_log_file(const std::string& path, const IntervalSink& on_interval, std::optional<LogWindow> window) {
  return scan_histogram_log(read_log_text(path), path, on_interval, window);
}

}  // namespace uptake::loadgen
