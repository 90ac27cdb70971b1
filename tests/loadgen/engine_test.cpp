// The engine against loopback servers with known behaviour.
#include <catch2/catch.hpp>

#include "test_server.hpp"
#include "uptake/loadgen/engine.hpp"

using namespace uptake;
using namespace uptake::loadgen;
using namespace std::chrono_literals;

namespace {

EngineOptions open_loop(std::uint16_t port, double rate, double seconds, unsigned connections = 16) {
  EngineOptions options;
  std::string problem;
  options.target = *parse_target("http://127.0.0.1:" + std::to_string(port) + "/work", problem);
  options.connections = connections;
  options.seed = 42;
  options.make_schedule = [rate, seconds](sim::Shard shard) { return sim::ArrivalSchedule::constant(rate, Seconds{seconds}, 42, shard); };
  return options;
}

double ms_at(const HdrHistogram& histogram, double percentile) { return static_cast<double>(histogram.value_at_percentile(percentile)) / 1e6; }

}  // namespace

TEST_CASE("against a fixed 5 ms delay, measured percentiles show the delay", "[timing]") {
  test::TestServer server({.delay = 5ms});
  auto options = open_loop(server.port(), 200, 3);
  const auto plan = plan_ad_hoc(options.target, "GET", "", {});
  const auto result = run_engine(options, plan);
  const auto total = result.total();
  REQUIRE(total.completed > 500);
  CHECK(total.errors == 0);
  INFO("p50 " << ms_at(total.response_time, 50) << " ms, p99 " << ms_at(total.response_time, 99) << " ms");
  CHECK(ms_at(total.response_time, 50) >= 5.0);
  CHECK(ms_at(total.response_time, 50) < 5.0 + 2.0);
  CHECK(ms_at(total.service_time, 50) >= 5.0);
  CHECK(total.response_time.min() >= 5'000'000);
}

TEST_CASE("a target that stalls: response time shows the stall, service time the fast answers", "[timing]") {
  // Stalls 500 ms in every 2 s; two connections, so requests queue behind the stall.
  test::TestServer server({.delay = 1ms, .stall_period = 2000ms, .stall_length = 500ms});
  auto options = open_loop(server.port(), 100, 6, 2);
  const auto plan = plan_ad_hoc(options.target, "GET", "", {});
  const auto result = run_engine(options, plan);
  const auto total = result.total();
  REQUIRE(total.completed > 400);
  INFO("response p50 " << ms_at(total.response_time, 50) << " p99 " << ms_at(total.response_time, 99) << "; service p50 "
                       << ms_at(total.service_time, 50) << " p99 " << ms_at(total.service_time, 99));
  // About a quarter of the schedule falls in stalls and waits up to 500 ms from its intended time.
  CHECK(ms_at(total.response_time, 90) > 150);
  CHECK(ms_at(total.response_time, 99) > 400);
  // Most answers, once sent, are quick: the stall hits only the few requests in flight.
  CHECK(ms_at(total.service_time, 50) < 5);
  CHECK(result.waited_for_connection > 0);
}

TEST_CASE("a constant rate is achieved as planned", "[timing]") {
  test::TestServer server({});
  auto options = open_loop(server.port(), 1000, 4);
  const auto plan = plan_ad_hoc(options.target, "GET", "", {});
  const auto result = run_engine(options, plan);
  const auto total = result.total();
  // The schedule planned ~4000 (Poisson); every planned request is sent and completed.
  CHECK(std::abs(static_cast<double>(total.planned) - 4000.0) < 4.5 * std::sqrt(4000.0));
  CHECK(total.sent == total.planned);
  CHECK(static_cast<double>(total.completed) >= 0.99 * static_cast<double>(total.planned));
  // Per second, completions follow the plan (the last, partial second aside).
  std::uint64_t planned = 0, completed = 0;
  for (std::size_t i = 0; i + 1 < result.intervals.size() && i < 4; ++i) {
    planned += result.intervals[i].planned;
    completed += result.intervals[i].completed;
  }
  CHECK(std::abs(static_cast<double>(completed) - static_cast<double>(planned)) <= 0.01 * static_cast<double>(planned) + 5);
  // Sub-millisecond pacing on an idle machine: most sends leave within a millisecond of their time.
  CHECK(ms_at(result.schedule_lag, 50) < 1.0);
}

TEST_CASE("every error class is counted and the run completes") {
  SECTION("refused") {
    std::uint16_t closed_port = 0;
    {
      boost::asio::io_context io;
      boost::asio::ip::tcp::acceptor probe(io, {boost::asio::ip::make_address("127.0.0.1"), 0});
      closed_port = probe.local_endpoint().port();
    }
    auto options = open_loop(closed_port, 50, 1);
    const auto result = run_engine(options, plan_ad_hoc(options.target, "GET", "", {}));
    CHECK(result.errors[static_cast<std::size_t>(ErrorClass::connect)] == result.total().sent);
    CHECK(result.total().sent > 20);
  }
  SECTION("reset") {
    test::TestServer server({.reset = true});
    auto options = open_loop(server.port(), 50, 1);
    const auto result = run_engine(options, plan_ad_hoc(options.target, "GET", "", {}));
    CHECK(result.errors[static_cast<std::size_t>(ErrorClass::reset)] == result.total().sent);
  }
  SECTION("timeout") {
    test::TestServer server({.silent = true});
    auto options = open_loop(server.port(), 20, 1);
    options.request_timeout = Seconds{0.3};
    const auto result = run_engine(options, plan_ad_hoc(options.target, "GET", "", {}));
    CHECK(result.errors[static_cast<std::size_t>(ErrorClass::timeout)] > 0);
    CHECK(result.total().completed == 0);
  }
}
