// HdrHistogram's own interval log (jHiccup 2.0.7): every figure of its EXPECTED.md, and every
// interval re-encoded byte for byte.
#include <catch2/catch.hpp>

#include <fstream>
#include <sstream>

#include "uptake/base/input_error.hpp"
#include "uptake/base/random.hpp"
#include "uptake/loadgen/histogram_log.hpp"

using namespace uptake;
using namespace uptake::loadgen;

namespace {

const char* const kLogFile = "tests/loadgen/data/jHiccup-2.0.7S.logV2.hlog";

std::string read(const char* path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

HdrHistogram sum_of(const HistogramLog& log, double from, double to) {
  HdrHistogram total(1, 3'600'000'000'000LL, 3);
  for (const auto& interval : log.intervals) {
    if (interval.start >= from && interval.start <= to) total.add(interval.histogram);
  }
  return total;
}

}  // namespace

TEST_CASE("the jHiccup log reproduces HdrHistogram's published figures") {
  const auto log = read_histogram_log(read(kLogFile), kLogFile);
  CHECK(log.intervals.size() == 62);
  CHECK(log.start_time == Approx(1441812279.474));
  const auto all = sum_of(log, 0, 1e9);
  CHECK(all.total_count() == 48761);
  CHECK(all.value_at_percentile(99.9) == 1745879039);
  CHECK(all.max() == 1796210687);

  std::size_t early = 0;
  for (const auto& interval : log.intervals) early += interval.start >= 5 && interval.start <= 20;
  CHECK(early == 15);
  const auto first = sum_of(log, 5, 20);
  CHECK(first.total_count() == 11664);
  CHECK(first.value_at_percentile(99.9) == 1536163839);
  CHECK(first.max() == 1544552447);

  std::size_t late = 0;
  for (const auto& interval : log.intervals) late += interval.start >= 40 && interval.start <= 60;
  CHECK(late == 20);
  const auto second = sum_of(log, 40, 60);
  CHECK(second.total_count() == 15830);
  CHECK(second.value_at_percentile(99.9) == 1779433471);
  CHECK(second.max() == 1796210687);
}

TEST_CASE("every interval of the jHiccup log re-encodes byte for byte") {
  const auto text = read(kLogFile);
  std::istringstream lines(text);
  std::string line;
  int compared = 0;
  while (std::getline(lines, line)) {
    if (line.empty() || line[0] == '#' || line[0] == '"') continue;
    const auto base64 = line.substr(line.rfind(',') + 1);
    const auto histogram = decode_compressed(*base64_decode(base64));
    CHECK(base64_encode(encode_compressed(histogram, 9)) == base64);
    ++compared;
  }
  CHECK(compared == 62);
}

TEST_CASE("a written log reads back the same") {
  HistogramLogWriter writer(1790000000.25);
  Random random(3);
  std::vector<HdrHistogram> written;
  for (int i = 0; i < 5; ++i) {
    HdrHistogram histogram(1, 3'600'000'000'000LL, 3);
    for (int k = 0; k < 1000; ++k) histogram.record(static_cast<std::int64_t>(2e6 * random.exponential()) + 1);
    writer.add_interval(i, 1.0, histogram);
    written.push_back(histogram);
  }
  for (const auto& line : {std::string("#[Histogram log format version 1.3]"), std::string("#[StartTime: 1790000000.250")}) {
    CHECK_THAT(writer.text(), Catch::Contains(line));
  }
  const auto log = read_histogram_log(writer.text(), "written.hlog");
  REQUIRE(log.intervals.size() == 5);
  CHECK(log.start_time == Approx(1790000000.25));
  for (std::size_t i = 0; i < 5; ++i) {
    CHECK(log.intervals[i].start == Approx(static_cast<double>(i)));
    CHECK(log.intervals[i].histogram.counts() == written[i].counts());
  }
}

TEST_CASE("corrupt input gives errors, never crashes") {
  const auto good = encode_compressed([] {
    HdrHistogram histogram(1, 3'600'000'000'000LL, 3);
    for (int i = 1; i < 5000; ++i) histogram.record(i * 997);
    return histogram;
  }());
  Random random(11);
  int rejected = 0, accepted = 0;
  for (int trial = 0; trial < 500; ++trial) {
    auto bytes = good;
    if (trial % 3 == 0) {
      bytes.resize(random() % bytes.size());
    } else {
      for (int flips = 0; flips < 1 + trial % 4; ++flips) bytes[random() % bytes.size()] ^= static_cast<char>(1 + random() % 255);
    }
    try {
      decode_compressed(bytes);
      ++accepted;  // a flip inside zlib's stored data can still decode to some histogram
    } catch (const InputError&) {
      ++rejected;
    }
  }
  CHECK(rejected > 400);
  CHECK_FALSE(base64_decode("abc"));
  CHECK_FALSE(base64_decode("ab!d"));
  CHECK_THROWS_WITH(read_histogram_log("0.1,1.0,2.0,notbase64!\n", "bad.hlog"), Catch::Contains("bad.hlog:1:1"));
  CHECK_THROWS_WITH(read_histogram_log("0.1,1.0\n", "short.hlog"), Catch::Contains("fewer than 4"));
}
