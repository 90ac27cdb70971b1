#include <catch2/catch.hpp>

#include "uptake/base/civil_time.hpp"

using namespace uptake;
using namespace std::chrono;

TEST_CASE("dates parse strictly and round-trip") {
  REQUIRE(parse_date("2022-07-15"));
  CHECK(format_date(*parse_date("2022-07-15")) == "2022-07-15");
  CHECK_FALSE(parse_date("2022-02-30"));
  CHECK_FALSE(parse_date("2022-7-15"));
  CHECK_FALSE(parse_date("15/07/2022"));
  CHECK(format_date(*parse_date("2024-02-29")) == "2024-02-29");
}

TEST_CASE("local date-times accept T or space and optional seconds") {
  const auto a = parse_date_time("2022-07-15T10:00");
  const auto b = parse_date_time("2022-07-15 10:00:00");
  REQUIRE(a);
  REQUIRE(b);
  CHECK(*a == *b);
  CHECK(format_date_time(*a) == "2022-07-15 10:00:00");
  CHECK_FALSE(parse_date_time("2022-07-15T24:00"));
  CHECK_FALSE(parse_date_time("2022-07-15T10"));
}

TEST_CASE("UTC offsets are fixed and signed") {
  CHECK(*parse_utc_offset("+09:00") == hours{9});
  CHECK(*parse_utc_offset("-05:30") == -(hours{5} + minutes{30}));
  CHECK(*parse_utc_offset("UTC") == seconds{0});
  CHECK_FALSE(parse_utc_offset("Asia/Seoul"));
  CHECK_FALSE(parse_utc_offset("+9"));
}
