#include <catch2/catch.hpp>

#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "child_process.hpp"
#include "temporary_directory.hpp"
#include "uptake/base/csv.hpp"
#include "uptake/base/input_error.hpp"

using namespace uptake;

TEST_CASE("CSV as RFC 4180 writes it") {
  const auto table = parse_csv("holder,type,note\r\n900101-1234567,vaccination,plain\r\n"
                               "\"850505-7654321\",\"family-relations\",\"a, b and \"\"c\"\"\"\r\n"
                               "\n"
                               "x,y,\"two\nlines\"\n"
                               "p,,q",
                               "holders.csv");
  REQUIRE(table.columns == std::vector<std::string>{"holder", "type", "note"});
  REQUIRE(table.rows() == 4);
  CHECK(table.at(0, 0) == "900101-1234567");
  CHECK(table.at(1, 2) == "a, b and \"c\"");
  CHECK(table.at(2, 2) == "two\nlines");
  CHECK(table.at(3, 1).empty());
  CHECK(table.row_lines == std::vector<int>{2, 3, 5, 7});
}

TEST_CASE("bad CSV is refused with file, line and column") {
  auto message = [](const std::string& text) {
    try {
      parse_csv(text, "feed.csv");
    } catch (const InputError& error) {
      return std::string(error.what());
    }
    return std::string("accepted");
  };
  CHECK_THAT(message("a,b\n1,2,3\n"), Catch::StartsWith("feed.csv:2") && Catch::Contains("has 3 fields") && Catch::Contains("2 fields, as the header line names: a,b"));
  CHECK_THAT(message("a,b\n1,\"open\n"), Catch::Contains("without its closing quote"));
  CHECK_THAT(message("a,b\n1,x\"y\n"), Catch::StartsWith("feed.csv:2:4") && Catch::Contains("quote inside an unquoted field"));
  CHECK_THAT(message("a,b\n\"1\"x,2\n"), Catch::Contains("text after a closing quote"));
  CHECK_THAT(message("a,a\n1,2\n"), Catch::Contains("names a column twice"));
  CHECK_THAT(message("a,\n1,2\n"), Catch::Contains("has no name"));
  CHECK_THAT(message(""), Catch::Contains("is empty"));
  CHECK_THROWS_WITH(read_csv("no/such/file.csv"), Catch::Contains("no/such/file.csv: is missing"));
}

TEST_CASE("a UTF-8 byte order mark before the header is not part of the first column's name") {
  const auto table = parse_csv("\xEF\xBB\xBFholder,type\n900101-1234567,vaccination\n", "holders.csv");
  CHECK(table.columns == std::vector<std::string>{"holder", "type"});
  CHECK(table.at(0, 0) == "900101-1234567");
  // A column header that is only a mark is still a column without a name.
  CHECK_THROWS_WITH(parse_csv("\xEF\xBB\xBF,b\n1,2\n", "holders.csv"), Catch::Contains("has no name"));
}

TEST_CASE("a feeder that is not a regular file is refused without waiting for it") {
  const test::TemporaryDirectory folder("csv-fifo");
  std::filesystem::create_directories(folder.path());
  const auto fifo = folder.path() / "holders.csv";
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  const auto outcome = test::run_in_child(
      [&] {
        try {
          read_csv(fifo.string());
        } catch (const InputError& error) {
          return std::string(error.what()).find("not a regular file") != std::string::npos ? 0 : 1;
        }
        return 2;
      },
      std::chrono::seconds(10));
  CHECK_FALSE(outcome.timed_out);
  CHECK(outcome.exit_code == 0);
}

TEST_CASE("a large CSV is held in a small multiple of its size") {
  // Short cells, as feeders of ids and tokens have: the case where a string per cell costs most
  // (32 bytes of std::string for 7 or 8 bytes of text).
  const test::TemporaryDirectory folder("csv-large");
  std::filesystem::create_directories(folder.path());
  const auto file = folder.path() / "holders.csv";
  {
    std::ofstream out(file, std::ios::binary);
    out << "id,token\n";
    for (std::uint64_t row = 0; row < 1'000'000; ++row) out << 1'000'000 + row << ",t" << (row * 7919) % 10'000'000 << "\n";
  }
  const double file_kib = static_cast<double>(std::filesystem::file_size(file)) / 1024;
  const auto baseline_file = folder.path() / "baseline";
  const auto outcome = test::run_in_child(
      [&] {
        std::ofstream(baseline_file) << test::own_peak_rss_kib();
        const auto table = read_csv(file.string());
        return table.rows() == 1'000'000 && table.at(999'999, 0) == "1999999" ? 0 : 1;
      },
      std::chrono::seconds(60));
  long baseline_kib = 0;
  std::ifstream(baseline_file) >> baseline_kib;
  const double growth = static_cast<double>(outcome.peak_rss_kib - baseline_kib) / file_kib;
  INFO("file " << file_kib << " KiB, peak " << outcome.peak_rss_kib << " KiB from " << baseline_kib << " KiB: " << growth << " times the file");
  REQUIRE(outcome.exit_code == 0);
  // The file's text while it is parsed, and the cells' bytes with a 4-byte end per cell after.
  CHECK(growth < 4);
}
