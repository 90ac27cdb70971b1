// Answers read at the send wake-ups (open loop, sleep pacing, plain HTTP/1.1), and timed by the
// kernel's receive timestamp rather than by when they were read.
#include <catch2/catch.hpp>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <string>
#include <thread>

#include "../../loadgen/src/deferred_reads.hpp"
#include "test_server.hpp"
#include "uptake/loadgen/engine.hpp"

using namespace uptake;
using namespace uptake::loadgen;
using namespace std::chrono_literals;
namespace net = boost::asio;
using tcp = net::ip::tcp;

namespace {

EngineOptions open_loop(std::uint16_t port, double rate, double seconds) {
  EngineOptions options;
  std::string problem;
  options.target = *parse_target("http://127.0.0.1:" + std::to_string(port) + "/work", problem);
  options.connections = 4;
  options.seed = 7;
  options.make_schedule = [rate, seconds](sim::Shard shard) { return sim::ArrivalSchedule::constant(rate, Seconds{seconds}, 7, shard); };
  return options;
}

double ms_at(const HdrHistogram& histogram, double percentile) { return static_cast<double>(histogram.value_at_percentile(percentile)) / 1e6; }

}  // namespace

TEST_CASE("a receive timestamp dates bytes by their arrival, not by their read") {
  net::io_context io;
  tcp::acceptor acceptor(io, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0));
  tcp::socket client(io);
  client.connect(acceptor.local_endpoint());
  tcp::socket server = acceptor.accept();
  const int on = 1;
  REQUIRE(::setsockopt(client.native_handle(), SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof on) == 0);
  client::DeferredReads reads;  // turns the kernel's stamping on for good (its constructor)
  // The kernel switches stamping on a moment after it is first asked: bytes until then carry
  // none. Probes until one does, for at most a second.
  bool stamped = false;
  std::optional<std::chrono::steady_clock::time_point> received;
  for (int probe = 0; probe < 100 && !stamped; ++probe) {
    net::write(server, net::buffer(std::string("x")));
    char byte;
    REQUIRE(client::DeferredReads::receive(client.native_handle(), {&byte, 1}, 0, {}, received) == 1);
    stamped = received.has_value();
    if (!stamped) std::this_thread::sleep_for(10ms);
  }
  REQUIRE(stamped);

  const auto before_write = std::chrono::steady_clock::now();
  net::write(server, net::buffer(std::string("HTTP/1.1 200 OK\r\n\r\n")));
  std::this_thread::sleep_for(30ms);  // the bytes wait, read late

  char data[64];
  received.reset();
  REQUIRE(client::DeferredReads::receive(client.native_handle(), data, 0, before_write, received) > 0);
  const auto read_at = std::chrono::steady_clock::now();

  REQUIRE(received);
  using Ms = std::chrono::duration<double, std::milli>;
  const double arrived_ms = Ms(*received - before_write).count();
  const double waited_ms = Ms(read_at - *received).count();
  INFO("arrived " << arrived_ms << " ms after the write, read " << waited_ms << " ms after arriving");
  CHECK(*received >= before_write);
  CHECK(read_at - *received >= 29ms);

  SECTION("a stamp from before the earliest possible time is held to it") {
    net::write(server, net::buffer(std::string("y")));
    std::this_thread::sleep_for(5ms);
    const auto later = std::chrono::steady_clock::now();
    std::optional<std::chrono::steady_clock::time_point> held;
    REQUIRE(client::DeferredReads::receive(client.native_handle(), data, 0, later, held) == 1);
    CHECK(held == later);
  }
  SECTION("no stamp, no time") {
    msghdr bare{};
    CHECK_FALSE(client::DeferredReads::received_at(bare, before_write));
  }
}

TEST_CASE("answers read at the next wake-up keep the time they arrived", "[timing]") {
  // At 50 requests a second a wake-up to send comes every 20 ms, and the answers out are read
  // within a millisecond (kDeferredLook): an answer timed by its read would show that
  // millisecond; timed by its arrival, it shows the loopback round trip.
  test::TestServer server({});
  auto options = open_loop(server.port(), 50, 2);
  const auto result = run_engine(options, plan_ad_hoc(options.target, "GET", "", {}));
  const auto total = result.total();
  REQUIRE(total.completed > 80);
  CHECK(total.errors == 0);
  INFO("service time p50 " << ms_at(total.service_time, 50) << " ms, response time p50 " << ms_at(total.response_time, 50) << " ms");
  CHECK(ms_at(total.service_time, 50) < 0.7);
  CHECK(ms_at(total.response_time, 50) < 0.7);
}

TEST_CASE("a request larger than the socket takes at once is still sent whole, and answered") {
  // 4 MiB bodies do not fit the send buffer: the rest goes through Asio's composed write, which
  // the loop must follow at once rather than at the next send.
  test::TestServer server({});
  auto options = open_loop(server.port(), 10, 1);
  const std::string body(4u << 20, 'x');
  const auto result = run_engine(options, plan_ad_hoc(options.target, "POST", body, {{"Content-Type", "text/plain"}}));
  const auto total = result.total();
  CHECK(total.sent == total.planned);
  CHECK(total.completed == total.sent);
  CHECK(total.errors == 0);
  CHECK(server.requests() == total.completed);
}

TEST_CASE("requests abandoned after a stop leave no connection behind") {
  // A connection awaiting its answer holds itself until the answer comes; after a stop and the
  // drain, the answers of a silent target never come, and the engine must still let go of them
  // (their sockets, here counted among the process's descriptors).
  const auto descriptors = [] {
    std::size_t count = 0;
    for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator("/proc/self/fd")) ++count;
    return count;
  };
  test::TestServer server({.silent = true});
  const auto before = descriptors();
  auto options = open_loop(server.port(), 100, 10);
  std::atomic<bool> stop{false};
  options.stop = &stop;
  std::thread stopper([&stop] {
    std::this_thread::sleep_for(300ms);
    stop = true;
  });
  const auto result = run_engine(options, plan_ad_hoc(options.target, "GET", "", {}));
  stopper.join();
  const auto total = result.total();
  CHECK(total.sent > 0);
  CHECK(total.completed == 0);
  CHECK(result.connections_opened >= 4);
  // The server's own ends of those connections stay open until it goes; the engine's are gone.
  CHECK(descriptors() <= before + result.connections_opened);
}
