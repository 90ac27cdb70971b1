// The V2 encoding and the interval log: HdrHistogram's own jHiccup log (every figure of its
// EXPECTED.md, every interval re-encoded byte for byte), hand-built encodings, a written log read
// back, and corrupt input that must give errors, never crashes.
#include <catch2/catch.hpp>

#include <fmt/format.h>

#include <fstream>
#include <iterator>
#include <sstream>

#include "uptake/base/input_error.hpp"
#include "uptake/base/random.hpp"
#include "uptake/loadgen/histogram_log.hpp"

using uptake::InputError;
using uptake::Random;
using namespace uptake::loadgen;

namespace {

constexpr std::int64_t kHourInNanoseconds = 3'600'000'000'000LL;

// The fixture sits in the repository; tests run from its root, and UPTAKE_SOURCE_DIR names it.
std::string fixture_path() {
#ifdef UPTAKE_SOURCE_DIR
  return std::string(UPTAKE_SOURCE_DIR) + "/tests/loadgen/data/jHiccup-2.0.7S.logV2.hlog";
#else
  return "tests/loadgen/data/jHiccup-2.0.7S.logV2.hlog";
#endif
}

std::string read_fixture() {
  std::ifstream in(fixture_path(), std::ios::binary);
  REQUIRE(in);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream stream(text);
  for (std::string line; std::getline(stream, line);) lines.push_back(line);
  return lines;
}

// The figures EXPECTED.md asks for come from adding intervals into a 3-digit histogram.
HdrHistogram sum_of(const HistogramLog& log) {
  HdrHistogram total(1, kHourInNanoseconds, 3);
  for (const auto& interval : log.intervals) total.add(interval.histogram);
  return total;
}

std::string bytes(std::initializer_list<int> values) {
  std::string out;
  for (const int value : values) out += static_cast<char>(value);
  return out;
}

std::string big_endian(std::uint64_t value, int size) {
  std::string out;
  for (int shift = 8 * (size - 1); shift >= 0; shift -= 8) out += static_cast<char>((value >> shift) & 0xff);
  return out;
}

// The 40-byte V2 header.
std::string v2_header(std::uint32_t payload_length, int digits, std::int64_t lowest, std::int64_t highest, std::uint32_t cookie = 0x1c849313,
                      std::uint32_t normalizing_offset = 0) {
  return big_endian(cookie, 4) + big_endian(payload_length, 4) + big_endian(normalizing_offset, 4) +
         big_endian(static_cast<std::uint32_t>(digits), 4) + big_endian(static_cast<std::uint64_t>(lowest), 8) +
         big_endian(static_cast<std::uint64_t>(highest), 8) + big_endian(0x3ff0000000000000ULL, 8);
}

// A zlib stream of stored (uncompressed) blocks, built by hand (RFC 1950/1951) so that tests can
// wrap any payload, valid or not, without compressing it.
std::string zlib_stored(const std::string& data) {
  std::string out = bytes({0x78, 0x01});
  std::size_t at = 0;
  do {
    const std::size_t size = std::min<std::size_t>(data.size() - at, 65535);
    const bool final_block = at + size == data.size();
    out += static_cast<char>(final_block ? 1 : 0);
    out += static_cast<char>(size & 0xff);
    out += static_cast<char>(size >> 8);
    out += static_cast<char>(~size & 0xff);
    out += static_cast<char>((~size >> 8) & 0xff);
    out += data.substr(at, size);
    at += size;
  } while (at < data.size());
  std::uint32_t a = 1, b = 0;  // Adler-32
  for (const char c : data) {
    a = (a + static_cast<unsigned char>(c)) % 65521;
    b = (b + a) % 65521;
  }
  return out + big_endian((b << 16) | a, 4);
}

// ZigZag LEB128 of one count, as the V2 encoding writes it (values needing at most 8 bytes).
std::string zigzag(std::int64_t value) {
  auto bits = (static_cast<std::uint64_t>(value) << 1) ^ static_cast<std::uint64_t>(value >> 63);
  std::string out;
  do {
    out += static_cast<char>((bits & 0x7f) | (bits >= 0x80 ? 0x80 : 0));
    bits >>= 7;
  } while (bits != 0);
  return out;
}

std::string compressed_of(const std::string& zlib_stream) { return big_endian(0x1c849314, 4) + big_endian(zlib_stream.size(), 4) + zlib_stream; }

HdrHistogram latency_sample(std::uint64_t seed, int values) {
  HdrHistogram histogram(1, kHourInNanoseconds, 3);
  Random random(seed);
  for (int i = 0; i < values; ++i) {
    const double tail = random.uniform() < 0.01 ? 40 : 1;
    histogram.record(static_cast<std::int64_t>(2e6 * random.exponential() * tail) + 50'000);
  }
  return histogram;
}

}  // namespace

TEST_CASE("the jHiccup log reproduces every figure of HdrHistogram's EXPECTED.md") {
  const auto log = read_histogram_log_file(fixture_path());
  CHECK(log.format_version == "1.2");
  REQUIRE(log.start_time);
  CHECK(*log.start_time == 1441812279.474);
  CHECK_FALSE(log.base_time);
  REQUIRE(log.intervals.size() == 62);

  const auto all = sum_of(log);
  CHECK(all.total_count() == 48761);
  CHECK(all.value_at_percentile(99.9) == 1745879039);
  CHECK(all.max() == 1796210687);

  const auto early = read_histogram_log_file(fixture_path(), LogWindow{5, 20});
  CHECK(early.intervals.size() == 15);
  const auto early_sum = sum_of(early);
  CHECK(early_sum.total_count() == 11664);
  CHECK(early_sum.value_at_percentile(99.9) == 1536163839);
  CHECK(early_sum.max() == 1544552447);

  const auto late = read_histogram_log_file(fixture_path(), LogWindow{40, 60});
  CHECK(late.intervals.size() == 20);
  const auto late_sum = sum_of(late);
  CHECK(late_sum.total_count() == 15830);
  CHECK(late_sum.value_at_percentile(99.9) == 1779433471);
  CHECK(late_sum.max() == 1796210687);
}

TEST_CASE("the jHiccup log's intervals carry their times, fields and configuration") {
  const auto log = read_histogram_log(read_fixture(), "jHiccup.hlog");
  const auto& first = log.intervals.front();
  CHECK(first.line == 5);
  CHECK(first.tag.empty());
  CHECK(first.start == 0.127);  // relative timestamps are kept exactly
  CHECK(first.start_time == Approx(1441812279.601).margin(1e-6));
  CHECK(first.length == 1.007);
  CHECK(first.logged_max == 2.769);
  CHECK(first.histogram.start_timestamp_ms() == 1441812279601);
  CHECK(first.histogram.end_timestamp_ms() == 1441812280608);
  CHECK(first.histogram.significant_digits() == 2);
  CHECK(first.histogram.lowest_discernible_value() == 20'000);
  CHECK(first.histogram.highest_trackable_value() == kHourInNanoseconds);
  CHECK(log.intervals.back().start == 61.131);
  // Interval_Max is max() / 1e6 with 3 decimals: the same max() definition as the writer's.
  for (const auto& interval : log.intervals) {
    CHECK(fmt::format("{:.3f}", static_cast<double>(interval.histogram.max()) / 1e6) == fmt::format("{:.3f}", interval.logged_max));
  }
}

TEST_CASE("every interval of the jHiccup log re-encodes byte for byte at zlib level 9") {
  int compared = 0;
  for (const auto& line : lines_of(read_fixture())) {
    if (line.empty() || line[0] == '#' || line[0] == '"') continue;
    const auto base64 = line.substr(line.rfind(',') + 1);
    const auto payload = base64_decode(base64);
    REQUIRE(payload);
    const auto decoded = try_decode_compressed(*payload);
    REQUIRE(decoded);
    CHECK(encode_compressed(*decoded.histogram, 9) == *payload);
    CHECK(base64_encode(*payload) == base64);
    ++compared;
  }
  CHECK(compared == 62);
}

TEST_CASE("the V2 encoding, byte by byte") {
  SECTION("single zeros as 0, runs of zeros as -k, counts as ZigZag LEB128, nothing after the last count") {
    HdrHistogram histogram(1, 1'000'000, 3);
    histogram.record(1);
    histogram.record(3, 300);
    histogram.record(10);
    // Counts by index: 0, 1, 0, 300, 0 x 6, 1. ZigZag: 1 -> 2, 300 -> 600 = 0xd8 0x04, -6 -> 11.
    const std::string expected = v2_header(7, 3, 1, 1'000'000) + bytes({0x00, 0x02, 0x00, 0xd8, 0x04, 0x0b, 0x02});
    CHECK(encode_uncompressed(histogram) == expected);
    const auto decoded = try_decode_uncompressed(expected);
    REQUIRE(decoded);
    CHECK(decoded.histogram->has_same_counts(histogram));
    CHECK(decoded.histogram->min() == 1);
    CHECK(decoded.histogram->max() == 10);
  }
  SECTION("the ninth byte of a count carries 8 bits") {
    HdrHistogram histogram(1, 1'000'000, 3);
    histogram.record(1, std::int64_t{1} << 62);  // ZigZag 2^63: eight bytes of 7 zero bits, then 0x80
    const std::string expected = v2_header(10, 3, 1, 1'000'000) + bytes({0x00, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80});
    CHECK(encode_uncompressed(histogram) == expected);
    const auto decoded = try_decode_uncompressed(expected);
    REQUIRE(decoded);
    CHECK(decoded.histogram->count_at_value(1) == std::int64_t{1} << 62);
  }
  SECTION("an empty histogram writes one zero count, as the Java writer does") {
    const HdrHistogram empty(1, kHourInNanoseconds, 3);
    CHECK(encode_uncompressed(empty) == v2_header(1, 3, 1, kHourInNanoseconds) + bytes({0x00}));
    const auto decoded = try_decode_compressed(encode_compressed(empty));
    REQUIRE(decoded);
    CHECK(decoded.histogram->total_count() == 0);
  }
  SECTION("the compressed form: cookie, length of the zlib stream, the stream; any zlib level decodes") {
    const auto histogram = latency_sample(1, 10'000);
    for (const int level : {-1, 0, 1, 6, 9}) {
      const auto encoded = encode_compressed(histogram, level);
      CHECK(encoded.substr(0, 4) == bytes({0x1c, 0x84, 0x93, 0x14}));
      CHECK(encoded.substr(4, 4) == big_endian(encoded.size() - 8, 4));
      const auto decoded = try_decode_compressed(encoded);
      REQUIRE(decoded);
      CHECK(decoded.histogram->has_same_counts(histogram));
      CHECK(decoded.histogram->max() == histogram.max());
      CHECK(decoded.histogram->value_at_percentile(99.9) == histogram.value_at_percentile(99.9));
    }
    // A hand-built stream of stored blocks decodes to the same histogram.
    const auto stored = try_decode_compressed(compressed_of(zlib_stored(encode_uncompressed(histogram))));
    REQUIRE(stored);
    CHECK(stored.histogram->has_same_counts(histogram));
    CHECK(decode_compressed(encode_compressed(histogram)).has_same_counts(histogram));
  }
}

TEST_CASE("base64: RFC 4648 vectors, strict decoding") {
  const std::vector<std::pair<std::string, std::string>> vectors = {
      {"", ""}, {"f", "Zg=="}, {"fo", "Zm8="}, {"foo", "Zm9v"}, {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="}, {"foobar", "Zm9vYmFy"}};
  for (const auto& [plain, encoded] : vectors) {
    CHECK(base64_encode(plain) == encoded);
    CHECK(base64_decode(encoded) == plain);
  }
  CHECK(base64_encode(bytes({0xfb, 0xff})) == "+/8=");
  CHECK(base64_decode("+/8=") == bytes({0xfb, 0xff}));
  CHECK_FALSE(base64_decode("Zg="));       // not a multiple of 4
  CHECK_FALSE(base64_decode("Zh=="));      // unused bits set: a second spelling of "f"
  CHECK_FALSE(base64_decode("Zm9="));      // likewise
  CHECK_FALSE(base64_decode("Z==="));      // 6 bits are no byte
  CHECK_FALSE(base64_decode("Zg==Zm9v"));  // padding before the end
  CHECK_FALSE(base64_decode("-_8="));      // the base64url alphabet
  CHECK_FALSE(base64_decode("Zm9v\n"));
  CHECK_FALSE(base64_decode(std::string("Zm\0v", 4)));
}

TEST_CASE("a written log reads back the same") {
  const double start_time = 1790000000.25;
  HistogramLogWriter writer(start_time);
  std::vector<HdrHistogram> written;
  for (int i = 0; i < 5; ++i) {
    written.push_back(latency_sample(static_cast<std::uint64_t>(100 + i), 1000 * (i + 1)));
    writer.add_interval(i * 1.5, 1.5, written.back(), i == 2 ? "verify" : "");
  }
  // An interval whose times come from the histogram itself.
  auto timed = latency_sample(200, 300);
  timed.set_start_timestamp_ms(1790000010250);
  timed.set_end_timestamp_ms(1790000011000);
  writer.add_interval(timed, "issue");
  written.push_back(timed);

  const auto lines = lines_of(writer.text());
  CHECK(lines[0] == "#[Logged with uptake]");
  CHECK(lines[1] == "#[Histogram log format version 1.3]");
  CHECK(lines[2] == "#[StartTime: 1790000000.250 (seconds since epoch), Mon Sep 21 14:13:20 UTC 2026]");
  // jHiccup's StartTime, 08:24:39 PDT, is 15:24:39 UTC.
  CHECK(lines_of(HistogramLogWriter(1441812279.474).text())[2] ==
        "#[StartTime: 1441812279.474 (seconds since epoch), Wed Sep 09 15:24:39 UTC 2015]");
  CHECK(lines[3] == R"("StartTimestamp","Interval_Length","Interval_Max","Interval_Compressed_Histogram")");
  CHECK(lines[4].rfind(fmt::format("0.000,1.500,{:.3f},HISTF", static_cast<double>(written[0].max()) / 1e6), 0) == 0);
  CHECK(lines[6].rfind("Tag=verify,3.000,1.500,", 0) == 0);
  CHECK(lines[9].rfind("Tag=issue,10.000,0.750,", 0) == 0);
  // HdrHistogram_c's reader: header lines under 128 characters, no '#' line once data starts.
  bool data_started = false;
  for (const auto& line : lines) {
    if (line[0] == '#' || line[0] == '"') {
      CHECK(line.size() < 128);
      CHECK_FALSE(data_started);
    } else {
      data_started = true;
    }
  }

  const auto log = read_histogram_log(writer.text(), "written.hlog");
  CHECK(log.format_version == "1.3");
  CHECK(*log.start_time == start_time);
  REQUIRE(log.intervals.size() == 6);
  for (std::size_t i = 0; i < 6; ++i) {
    const auto& interval = log.intervals[i];
    CHECK(interval.histogram.has_same_counts(written[i]));
    CHECK(interval.histogram.max() == written[i].max());
    CHECK(interval.tag == (i == 2 ? "verify" : i == 5 ? "issue" : ""));
  }
  CHECK(log.intervals[3].start == 4.5);
  CHECK(log.intervals[3].length == 1.5);
  CHECK(log.intervals[3].histogram.start_timestamp_ms() == 1790000004750);
  CHECK(log.intervals[3].histogram.end_timestamp_ms() == 1790000006250);
  CHECK(log.intervals[5].histogram.start_timestamp_ms() == 1790000010250);
  CHECK(log.intervals[5].histogram.end_timestamp_ms() == 1790000011000);

  // With a BaseTime, starts are written after it and read back the same.
  HistogramLogWriter based(start_time, start_time - 100);
  based.add_interval(2.0, 1.0, written[0]);
  CHECK(lines_of(based.text())[3] == "#[BaseTime: 1789999900.250 (seconds since epoch)]");
  CHECK(lines_of(based.text())[5].rfind("102.000,1.000,", 0) == 0);
  const auto based_log = read_histogram_log(based.text(), "based.hlog");
  REQUIRE(based_log.intervals.size() == 1);
  CHECK(based_log.intervals[0].start == Approx(2.0).margin(1e-6));
  CHECK(based_log.intervals[0].histogram.start_timestamp_ms() == 1790000002250);

  // Absolute timestamps (no BaseTime, within a year of StartTime) are read as absolute.
  const auto absolute = read_histogram_log(lines_of(writer.text())[2] + "\n1790000003.250,1.000,0.000," + base64_encode(encode_compressed(written[0])) + "\n",
                                           "absolute.hlog");
  REQUIRE(absolute.intervals.size() == 1);
  CHECK(absolute.intervals[0].start == Approx(3.0).margin(1e-6));

  CHECK_THROWS_AS(writer.add_interval(0, 1, written[0], "a,b"), std::invalid_argument);
  CHECK_THROWS_AS(writer.add_interval(0, 1, written[0], "a b"), std::invalid_argument);
  CHECK_THROWS_AS(writer.add_interval(HdrHistogram(1, 1000, 3)), std::invalid_argument);
}

TEST_CASE("malformed logs name the file, line, column and field") {
  const std::string good = base64_encode(encode_compressed(latency_sample(3, 100)));
  const auto error_of = [](const std::string& text) -> InputError {
    try {
      read_histogram_log(text, "bad.hlog");
    } catch (const InputError& error) {
      return error;
    }
    FAIL("no error for: " << text);
    throw;  // unreachable
  };
  {
    const auto error = error_of("#[StartTime: soon (seconds since epoch)]\n");
    CHECK(error.where().file == "bad.hlog");
    CHECK(error.where().line == 1);
    CHECK(error.where().column == 14);
    CHECK(error.field() == "StartTime");
    CHECK_THAT(error.what(), Catch::Contains("bad.hlog:1:14") && Catch::Contains("'soon' is not a number"));
  }
  {
    const auto error = error_of("#[StartTime: 100.0 (seconds since epoch)]\n\n0.1,1.0,2.0\n");
    CHECK(error.where().line == 3);
    CHECK_THAT(error.what(), Catch::Contains("3 comma-separated fields"));
  }
  CHECK(error_of("0.1,1.0,2.0," + good + ",extra\n").problem() == "an interval line has 5 comma-separated fields");
  CHECK(error_of("x0.1,1.0,2.0," + good + "\n").field() == "StartTimestamp");
  CHECK(error_of("0.1,nan,2.0," + good + "\n").field() == "Interval_Length");
  CHECK(error_of("0.1,-1,2.0," + good + "\n").field() == "Interval_Length");
  CHECK(error_of("0.1,1,2.0e,"+ good + "\n").field() == "Interval_Max");
  CHECK(error_of("Tag=,0.1,1,2," + good + "\n").field() == "Tag");
  CHECK(error_of("Tag=abc\n").field() == "Tag");
  {
    const auto error = error_of("#[BaseTime: 0.000]\n0.1,1.0,2.0,notbase64!\n");
    CHECK(error.where().line == 2);
    CHECK(error.where().column == 13);
    CHECK(error.field() == "Interval_Compressed_Histogram");
    CHECK(error.problem() == "is not base64");
  }
  {
    const auto error = error_of("0.1,1.0,2.0," + base64_encode("HISTFAAAAAhub3QgemxpYg==") + "\n");
    CHECK(error.field() == "Interval_Compressed_Histogram");
    CHECK_THAT(error.problem(), Catch::StartsWith("is not a V2 compressed histogram: "));
  }
  CHECK_THROWS_AS(read_histogram_log_file("tests/loadgen/data/no-such.hlog"), InputError);
  CHECK_THROWS_AS(decode_compressed("HIST"), InputError);
  // Empty logs, blank lines, Windows line ends and comments are fine.
  CHECK(read_histogram_log("", "empty.hlog").intervals.empty());
  CHECK(read_histogram_log("#[Comment]\r\n\r\n0.1,1.0,2.0," + good + "\r\n", "crlf.hlog").intervals.size() == 1);
}

TEST_CASE("hand-made broken encodings are refused with a reason") {
  const auto error_of = [](const std::string& encoded) {
    const auto result = try_decode_compressed(encoded);
    CHECK_FALSE(result);
    return result.error;
  };
  const auto wrapped = [](const std::string& payload) { return compressed_of(zlib_stored(payload)); };
  const std::string counts = bytes({0x00, 0x02, 0x00, 0xd8, 0x04});
  const std::string valid = v2_header(5, 3, 1, 1'000'000) + counts;
  REQUIRE(try_decode_compressed(wrapped(valid)));

  CHECK_THAT(error_of(""), Catch::Contains("shorter than the 8-byte"));
  CHECK_THAT(error_of(big_endian(0x1c849302, 4) + big_endian(4, 4) + "abcd"), Catch::Contains("not the V2 compressed cookie"));
  auto wrong_length = wrapped(valid);
  wrong_length[7] = static_cast<char>(wrong_length[7] + 1);
  CHECK_THAT(error_of(wrong_length), Catch::Contains("declares"));
  CHECK_THAT(error_of(wrapped(valid) + "x"), Catch::Contains("declares"));
  CHECK_THAT(error_of(wrapped(v2_header(5, 3, 1, 1'000'000, 0x1c849301) + counts)), Catch::Contains("not the V2 cookie"));
  CHECK_THAT(error_of(wrapped(v2_header(5, 3, 1, 1'000'000, 0x1c849313, 1) + counts)), Catch::Contains("normalizing index offset"));
  CHECK_THAT(error_of(wrapped(v2_header(5, 6, 1, 1'000'000) + counts)), Catch::Contains("significant digits"));
  CHECK_THAT(error_of(wrapped(v2_header(5, 3, 0, 1'000'000) + counts)), Catch::Contains("lowest discernible value 0"));
  CHECK_THAT(error_of(wrapped(v2_header(5, 3, 100, 150) + counts)), Catch::Contains("twice"));
  // Absurd ranges are refused before anything is allocated for them.
  CHECK_THAT(error_of(wrapped(v2_header(5, 5, 1, std::numeric_limits<std::int64_t>::max()) + counts)), Catch::Contains("counts, more than"));
  CHECK_THAT(error_of(wrapped(v2_header(0x7fffffff, 3, 1, 1'000'000) + counts)), Catch::Contains("more than"));
  CHECK_THAT(error_of(wrapped(v2_header(0x80000000, 3, 1, 1'000'000) + counts)), Catch::Contains("negative"));
  // The zlib stream must hold exactly what the header declares.
  CHECK_THAT(error_of(wrapped(v2_header(4, 3, 1, 1'000'000) + counts)), Catch::Contains("holds more than the payload length"));
  CHECK_THAT(error_of(wrapped(v2_header(6, 3, 1, 1'000'000) + counts)), Catch::Contains("less than the 6 declared"));
  CHECK_THAT(error_of(wrapped(valid.substr(0, 30))), Catch::Contains("less than the 40-byte"));
  auto bad_checksum = wrapped(valid);
  bad_checksum.back() = static_cast<char>(bad_checksum.back() ^ 1);
  CHECK_THAT(error_of(bad_checksum), Catch::Contains("damaged"));
  auto cut = zlib_stored(valid);
  cut.resize(cut.size() - 6);
  CHECK_THAT(error_of(compressed_of(cut)), Catch::Contains("cut short"));
  // Counts: cut short, negative totals, runs and counts past the end, totals beyond int64.
  CHECK_THAT(error_of(wrapped(v2_header(1, 3, 1, 1'000'000) + bytes({0x80}))), Catch::Contains("cut short"));
  const auto length = static_cast<std::int64_t>(HdrHistogram::counts_length_for(1, 1'000'000, 3));
  CHECK(length == 11 * 1024);
  const std::string run_past = zigzag(-(length + 1));
  CHECK_THAT(error_of(wrapped(v2_header(static_cast<std::uint32_t>(run_past.size()), 3, 1, 1'000'000) + run_past)), Catch::Contains("goes past"));
  const std::string count_past = zigzag(-length) + zigzag(1);  // every bucket empty, then one more count
  CHECK_THAT(error_of(wrapped(v2_header(static_cast<std::uint32_t>(count_past.size()), 3, 1, 1'000'000) + count_past)),
             Catch::Contains("is past the histogram"));
  CHECK(zigzag(300) == bytes({0xd8, 0x04}));
  const std::string huge = bytes({0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff});  // ZigZag of INT64_MAX
  CHECK_THAT(error_of(wrapped(v2_header(18, 3, 1, 1'000'000) + huge + huge)), Catch::Contains("more than 2^63 - 1"));
  const std::string most_negative = bytes({0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff});  // ZigZag of INT64_MIN
  CHECK_THAT(error_of(wrapped(v2_header(9, 3, 1, 1'000'000) + most_negative)), Catch::Contains("goes past"));
  CHECK_THAT(try_decode_uncompressed(valid + "x").error, Catch::Contains("6 follow"));
  CHECK_THAT(try_decode_uncompressed(valid.substr(0, 39)).error, Catch::Contains("shorter than the 40-byte"));
}

TEST_CASE("seeded random corruption gives errors or valid histograms, never crashes") {
  const auto histogram = latency_sample(9, 20'000);
  const std::string compressed = encode_compressed(histogram);
  const std::string uncompressed = encode_uncompressed(histogram);
  Random random(424242);
  const auto mutate = [&random](std::string data, int trial) {
    switch (trial % 4) {
      case 0:  // truncate
        data.resize(random() % data.size());
        break;
      case 1:  // flip bytes
        for (int flips = 0; flips < 1 + static_cast<int>(random() % 4); ++flips) {
          data[random() % data.size()] ^= static_cast<char>(1 + random() % 255);
        }
        break;
      case 2:  // insert a random byte
        data.insert(data.begin() + static_cast<std::ptrdiff_t>(random() % data.size()), static_cast<char>(random()));
        break;
      default:  // overwrite a run with random bytes
        for (std::size_t at = random() % data.size(), end = std::min(data.size(), at + 1 + random() % 16); at < end; ++at) {
          data[at] = static_cast<char>(random());
        }
    }
    return data;
  };
  // A decoder that accepts mutated bytes must still give a coherent histogram.
  const auto coherent = [](const DecodeResult& result) {
    if (!result) return !result.error.empty();
    std::int64_t total = 0;
    for (const auto count : result.histogram->counts()) total += count;
    return total == result.histogram->total_count() && result.error.empty();
  };
  int rejected_compressed = 0, rejected_uncompressed = 0, rejected_logs = 0;
  for (int trial = 0; trial < 400; ++trial) {
    const auto from_compressed = try_decode_compressed(mutate(compressed, trial));
    CHECK(coherent(from_compressed));
    rejected_compressed += !from_compressed;
    const auto from_uncompressed = try_decode_uncompressed(mutate(uncompressed, trial));
    CHECK(coherent(from_uncompressed));
    rejected_uncompressed += !from_uncompressed;
  }
  // zlib's checksum catches nearly every change; the uncompressed form has none, yet its
  // lengths and cookies catch truncations, insertions and most header changes.
  CHECK(rejected_compressed > 380);
  CHECK(rejected_uncompressed > 150);

  // Whole logs: mutated lines of the jHiccup log give InputError, never anything worse.
  const auto lines = lines_of(read_fixture());
  for (int trial = 0; trial < 300; ++trial) {
    auto broken = lines;
    auto& line = broken[4 + random() % (broken.size() - 4)];
    line = mutate(line, trial);
    std::string text;
    for (const auto& each : broken) text += each + "\n";
    try {
      read_histogram_log(text, "mutated.hlog");
    } catch (const InputError& error) {
      ++rejected_logs;
      CHECK(error.where().line > 0);
    }
  }
  CHECK(rejected_logs > 200);
  // Garbage that is not a log at all.
  for (int trial = 0; trial < 50; ++trial) {
    std::string garbage(1 + random() % 300, '\0');
    for (auto& c : garbage) c = static_cast<char>(random());
    try {
      read_histogram_log(garbage, "garbage.hlog");
    } catch (const InputError&) {
    }
  }
}
