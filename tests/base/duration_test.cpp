#include <catch2/catch.hpp>

#include "uptake/base/duration.hpp"

using namespace uptake;

TEST_CASE("durations with a unit read the same wherever a bare number means") {
  for (const auto bare : {BareNumber::refused, BareNumber::seconds, BareNumber::milliseconds}) {
    CHECK(parse_duration("250ms", bare)->count() == Approx(0.25));
    CHECK(parse_duration("1.5s", bare)->count() == Approx(1.5));
    CHECK(parse_duration("30s", bare)->count() == Approx(30));
    CHECK(parse_duration("5m", bare)->count() == Approx(300));
    CHECK(parse_duration("10min", bare)->count() == Approx(600));
    CHECK(parse_duration("2h", bare)->count() == Approx(7200));
    CHECK(parse_duration("0.25h", bare)->count() == Approx(900));
    CHECK(parse_duration("1d", bare)->count() == Approx(86400));
    CHECK(parse_duration("300us", bare)->count() == Approx(300e-6));
    CHECK(parse_duration("300µs", bare)->count() == Approx(300e-6));
    CHECK(parse_duration("800ns", bare)->count() == Approx(800e-9));
    CHECK(parse_duration("0s", bare)->count() == 0);
  }
}

TEST_CASE("a bare number is seconds or milliseconds where the field says so, and refused where its unit would be a guess") {
  CHECK_FALSE(parse_duration("300"));
  CHECK_FALSE(parse_duration("300", BareNumber::refused));
  CHECK(parse_duration("300", BareNumber::seconds)->count() == Approx(300));
  CHECK(parse_duration("2.5", BareNumber::seconds)->count() == Approx(2.5));
  CHECK(parse_duration("300", BareNumber::milliseconds)->count() == Approx(0.3));
}

TEST_CASE("durations are strict: no space, sign, exponent, special value or unknown unit") {
  for (const auto bare : {BareNumber::refused, BareNumber::seconds}) {
    for (const char* text : {"", "s", "ms", "30 s", " 30s", "30s ", "-1s", "-1", "+1s", "1e400s", "1e3s", "1e400", "nan", "nans", "inf", "infs",
                             "5x", "5sec", "5 m", "1.s", ".5s", "1..5s", "1.5.5s", "0x10s", "1,5s", "5S", "5M", "1d2h"}) {
      INFO("'" << text << "'");
      CHECK_FALSE(parse_duration(text, bare));
    }
  }
  // Finite as written, infinite once in seconds.
  CHECK_FALSE(parse_duration("1" + std::string(305, '0') + "d", BareNumber::seconds));
  // Hundreds of digits that a double cannot hold.
  CHECK_FALSE(parse_duration(std::string(400, '9') + "s"));
}

TEST_CASE("the accepted forms are named for messages") {
  CHECK_THAT(duration_forms(BareNumber::seconds), Catch::Contains("30s") && Catch::Contains("a number of seconds"));
  CHECK_THAT(duration_forms(BareNumber::milliseconds), Catch::Contains("a number of milliseconds"));
  CHECK_THAT(duration_forms(BareNumber::refused), Catch::Contains("500ms"));
}

TEST_CASE("decimal numbers are plain decimals and nothing else") {
  CHECK(*decimal_number("2.5") == 2.5);
  CHECK(*decimal_number("10") == 10);
  for (const char* text : {"", " 1", "1 ", "0x10", "10%", "1,5", "1e400"}) {
    INFO("'" << text << "'");
    CHECK_FALSE(decimal_number(text));
  }
}

TEST_CASE("durations format for people") {
  CHECK(format_duration(Seconds{0.0123}) == "12.3 ms");
  CHECK(format_duration(Seconds{3900}) == "1h 05m");
}
