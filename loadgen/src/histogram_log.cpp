#include "uptake/loadgen/histogram_log.hpp"

#include <fmt/format.h>
#include <zlib.h>

#include <bit>
#include <charconv>
#include <cstring>
#include <ctime>

#include "uptake/base/input_error.hpp"

namespace uptake::loadgen {
namespace {

constexpr std::uint32_t kCompressedCookie = 0x1c849314;
constexpr std::uint32_t kEncodingCookie = 0x1c849313;
constexpr std::size_t kPayloadHeader = 40;
// Refuse encodings that would need absurd memory: a corrupt length must not allocate gigabytes.
constexpr std::uint32_t kMaxPayload = 64u << 20;

[[noreturn]] void corrupt(const std::string& what) { throw InputError({}, "histogram", "is not a valid compressed HdrHistogram: " + what); }

void put32(std::string& out, std::uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out += static_cast<char>((v >> shift) & 0xff);
}
void put64(std::string& out, std::uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8) out += static_cast<char>((v >> shift) & 0xff);
}
std::uint64_t get(std::string_view bytes, std::size_t at, int size) {
  std::uint64_t v = 0;
  for (int i = 0; i < size; ++i) v = (v << 8) | static_cast<unsigned char>(bytes[at + static_cast<std::size_t>(i)]);
  return v;
}

void put_zigzag(std::string& out, std::int64_t value) {
  auto v = (static_cast<std::uint64_t>(value) << 1) ^ static_cast<std::uint64_t>(value >> 63);
  // LEB128 of at most 9 bytes: the ninth carries all of its 8 bits.
  for (int i = 0; i < 8; ++i) {
    if (v < 0x80) {
      out += static_cast<char>(v);
      return;
    }
    out += static_cast<char>((v & 0x7f) | 0x80);
    v >>= 7;
  }
  out += static_cast<char>(v & 0xff);
}

bool get_zigzag(std::string_view bytes, std::size_t& at, std::int64_t& value) {
  std::uint64_t v = 0;
  for (int i = 0; i < 9; ++i) {
    if (at >= bytes.size()) return false;
    const auto byte = static_cast<unsigned char>(bytes[at++]);
    if (i == 8) {
      v |= static_cast<std::uint64_t>(byte) << 56;
      break;
    }
    v |= static_cast<std::uint64_t>(byte & 0x7f) << (7 * i);
    if (!(byte & 0x80)) break;
  }
  value = static_cast<std::int64_t>((v >> 1) ^ (~(v & 1) + 1));
  return true;
}

}  // namespace

std::string encode_compressed(const HdrHistogram& histogram, int zlib_level) {
  const auto& counts = histogram.counts();
  std::size_t last = counts.size();
  while (last > 0 && counts[last - 1] == 0) --last;
  std::string counts_bytes;
  for (std::size_t i = 0; i < last;) {
    if (counts[i] != 0) {
      put_zigzag(counts_bytes, counts[i++]);
      continue;
    }
    std::size_t zeros = 0;
    while (i < last && counts[i] == 0) ++zeros, ++i;
    put_zigzag(counts_bytes, zeros == 1 ? 0 : -static_cast<std::int64_t>(zeros));
  }
  std::string payload;
  put32(payload, kEncodingCookie);
  put32(payload, static_cast<std::uint32_t>(counts_bytes.size()));
  put32(payload, 0);
  put32(payload, static_cast<std::uint32_t>(histogram.significant_digits()));
  put64(payload, static_cast<std::uint64_t>(histogram.lowest()));
  put64(payload, static_cast<std::uint64_t>(histogram.highest()));
  put64(payload, std::bit_cast<std::uint64_t>(1.0));
  payload += counts_bytes;
  uLongf compressed_size = compressBound(static_cast<uLong>(payload.size()));
  std::string compressed(compressed_size, '\0');
  compress2(reinterpret_cast<Bytef*>(compressed.data()), &compressed_size, reinterpret_cast<const Bytef*>(payload.data()),
            static_cast<uLong>(payload.size()), zlib_level);
  compressed.resize(compressed_size);
  std::string out;
  put32(out, kCompressedCookie);
  put32(out, static_cast<std::uint32_t>(compressed.size()));
  return out + compressed;
}

HdrHistogram decode_compressed(std::string_view bytes) {
  if (bytes.size() < 8) corrupt("shorter than its header");
  if (get(bytes, 0, 4) != kCompressedCookie) corrupt("wrong cookie (expected a V2 compressed histogram)");
  const auto compressed_length = get(bytes, 4, 4);
  if (compressed_length > bytes.size() - 8) corrupt("truncated");
  // The payload header names its own length; inflate the header first, then all of it.
  z_stream stream{};
  if (inflateInit(&stream) != Z_OK) corrupt("zlib could not start");
  std::string payload(kPayloadHeader, '\0');
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(bytes.data() + 8));
  stream.avail_in = static_cast<uInt>(compressed_length);
  stream.next_out = reinterpret_cast<Bytef*>(payload.data());
  stream.avail_out = static_cast<uInt>(kPayloadHeader);
  int status = inflate(&stream, Z_SYNC_FLUSH);
  if ((status != Z_OK && status != Z_STREAM_END) || stream.avail_out != 0) {
    inflateEnd(&stream);
    corrupt("its zlib stream is damaged");
  }
  if (get(payload, 0, 4) != kEncodingCookie) {
    inflateEnd(&stream);
    corrupt("wrong encoding cookie");
  }
  const auto payload_length = static_cast<std::uint32_t>(get(payload, 4, 4));
  const auto digits = static_cast<int>(get(payload, 12, 4));
  const auto lowest = static_cast<std::int64_t>(get(payload, 16, 8));
  const auto highest = static_cast<std::int64_t>(get(payload, 24, 8));
  if (payload_length > kMaxPayload || digits < 1 || digits > 5 || lowest < 1 || highest < 2 * lowest || lowest > (std::int64_t{1} << 40)) {
    inflateEnd(&stream);
    corrupt("implausible header");
  }
  payload.resize(kPayloadHeader + payload_length);
  stream.next_out = reinterpret_cast<Bytef*>(payload.data() + kPayloadHeader);
  stream.avail_out = payload_length;
  status = payload_length ? inflate(&stream, Z_FINISH) : Z_STREAM_END;
  const bool complete = stream.avail_out == 0;
  inflateEnd(&stream);
  if (!complete || (status != Z_STREAM_END && status != Z_OK && status != Z_BUF_ERROR)) corrupt("its counts are truncated");
  HdrHistogram histogram(lowest, highest, digits);
  const std::string_view counts(payload.data() + kPayloadHeader, payload_length);
  std::size_t at = 0, index = 0;
  while (at < counts.size()) {
    std::int64_t value = 0;
    if (!get_zigzag(counts, at, value)) corrupt("a count is cut short");
    if (value < 0) {
      if (-value > static_cast<std::int64_t>(histogram.counts().size())) corrupt("a run of zeros goes past the end");
      index += static_cast<std::size_t>(-value);
      continue;
    }
    if (index >= histogram.counts().size()) corrupt("more counts than the histogram has");
    histogram.set_count_at_index(index++, value);
  }
  return histogram;
}

namespace {
constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
}

std::string base64_encode(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  for (std::size_t i = 0; i < bytes.size(); i += 3) {
    std::uint32_t chunk = static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i])) << 16;
    if (i + 1 < bytes.size()) chunk |= static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i + 1])) << 8;
    if (i + 2 < bytes.size()) chunk |= static_cast<unsigned char>(bytes[i + 2]);
    out += kAlphabet[(chunk >> 18) & 63];
    out += kAlphabet[(chunk >> 12) & 63];
    out += i + 1 < bytes.size() ? kAlphabet[(chunk >> 6) & 63] : '=';
    out += i + 2 < bytes.size() ? kAlphabet[chunk & 63] : '=';
  }
  return out;
}

std::optional<std::string> base64_decode(std::string_view text) {
  if (text.size() % 4) return std::nullopt;
  std::string out;
  out.reserve(text.size() / 4 * 3);
  for (std::size_t i = 0; i < text.size(); i += 4) {
    std::uint32_t chunk = 0;
    int padding = 0;
    for (int k = 0; k < 4; ++k) {
      const char c = text[i + static_cast<std::size_t>(k)];
      std::uint32_t v = 0;
      if (c == '=' && i + 4 == text.size() && k >= 2) {
        ++padding;
      } else {
        const char* found = padding ? nullptr : std::strchr(kAlphabet, c);
        if (!found || c == '\0') return std::nullopt;
        v = static_cast<std::uint32_t>(found - kAlphabet);
      }
      chunk = (chunk << 6) | v;
    }
    out += static_cast<char>((chunk >> 16) & 0xff);
    if (padding < 2) out += static_cast<char>((chunk >> 8) & 0xff);
    if (padding < 1) out += static_cast<char>(chunk & 0xff);
  }
  return out;
}

HistogramLogWriter::HistogramLogWriter(double start_time_seconds) {
  const auto seconds = static_cast<std::time_t>(start_time_seconds);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char date[64];
  std::strftime(date, sizeof date, "%a %b %d %H:%M:%S UTC %Y", &utc);
  text_ = "#[Logged with uptake]\n#[Histogram log format version 1.3]\n";
  text_ += fmt::format("#[StartTime: {:.3f} (seconds since epoch), {}]\n", start_time_seconds, date);
  text_ += "\"StartTimestamp\",\"Interval_Length\",\"Interval_Max\",\"Interval_Compressed_Histogram\"\n";
}

void HistogramLogWriter::add_interval(double start_seconds, double length_seconds, const HdrHistogram& histogram) {
  // Max in value units / 1e6: nanoseconds print as milliseconds, as HistogramLogProcessor expects.
  text_ += fmt::format("{:.3f},{:.3f},{:.3f},{}\n", start_seconds, length_seconds, static_cast<double>(histogram.max()) / 1e6,
                       base64_encode(encode_compressed(histogram)));
}

HistogramLog read_histogram_log(std::string_view text, const std::string& file_name) {
  HistogramLog log;
  std::optional<double> base_time;
  bool start_time_seen = false;
  int line_number = 0;
  auto fail = [&](const std::string& field, const std::string& problem, const std::string& expected = {}) {
    throw InputError({file_name, line_number, 1}, field, problem, expected);
  };
  auto number = [&](std::string_view part, const char* field) {
    double value = 0;
    const auto [end, ec] = std::from_chars(part.data(), part.data() + part.size(), value);
    if (ec != std::errc{} || end != part.data() + part.size()) fail(field, fmt::format("'{}' is not a number", part));
    return value;
  };
  std::size_t at = 0;
  while (at < text.size()) {
    auto end = text.find('\n', at);
    if (end == std::string_view::npos) end = text.size();
    auto line = text.substr(at, end - at);
    at = end + 1;
    ++line_number;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) continue;
    if (line.front() == '#') {
      if (line.rfind("#[StartTime: ", 0) == 0) {
        const auto value = line.substr(13, line.find(' ', 13) - 13);
        log.start_time = number(value, "StartTime");
        start_time_seen = true;
      } else if (line.rfind("#[BaseTime: ", 0) == 0) {
        base_time = number(line.substr(12, line.find(' ', 12) - 12), "BaseTime");
      }
      continue;
    }
    if (line.front() == '"') continue;  // the CSV header
    LogInterval interval{{}, 0, 0, HdrHistogram(1, 2, 1)};
    if (line.rfind("Tag=", 0) == 0) {
      const auto comma = line.find(',');
      interval.tag = std::string(line.substr(4, comma - 4));
      line = comma == std::string_view::npos ? std::string_view{} : line.substr(comma + 1);
    }
    std::string_view parts[4];
    for (int k = 0; k < 4; ++k) {
      const auto comma = k < 3 ? line.find(',') : std::string_view::npos;
      if (k < 3 && comma == std::string_view::npos) fail("interval", "has fewer than 4 comma-separated fields", "start,length,max,base64");
      parts[k] = line.substr(0, comma);
      if (k < 3) line = line.substr(comma + 1);
    }
    interval.start = number(parts[0], "StartTimestamp");
    interval.length = number(parts[1], "Interval_Length");
    number(parts[2], "Interval_Max");
    const auto bytes = base64_decode(parts[3]);
    if (!bytes) fail("Interval_Compressed_Histogram", "is not base64");
    try {
      interval.histogram = decode_compressed(*bytes);
    } catch (const InputError& error) {
      fail("Interval_Compressed_Histogram", error.problem());
    }
    log.intervals.push_back(std::move(interval));
  }
  if (!start_time_seen && base_time) log.start_time = *base_time;
  return log;
}

}  // namespace uptake::loadgen
