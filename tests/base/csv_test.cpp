#include <catch2/catch.hpp>

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
  CHECK_THROWS_WITH(read_csv("no/such/file.csv"), Catch::Contains("no/such/file.csv: cannot be read"));
}
