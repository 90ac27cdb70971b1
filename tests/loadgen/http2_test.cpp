// HTTP/2: requests as HTTP/2 fields, and the engine against a loopback HTTP/2 server (h2c with
// prior knowledge, and h2 over TLS by ALPN) whose stream-level failures are known.
#include <catch2/catch.hpp>

#include "http2_server.hpp"
#include "uptake/loadgen/engine.hpp"
#include "uptake/loadgen/http2_request.hpp"

using namespace uptake;
using namespace uptake::loadgen;
using test::Http2Server;

namespace {

EngineOptions http2_run(const std::string& url, double rate, double seconds, unsigned connections, unsigned streams) {
  EngineOptions options;
  std::string problem;
  options.target = *parse_target(url, problem);
  options.http2 = true;
  options.streams = streams;
  options.connections = connections;
  options.seed = 7;
  options.make_schedule = [rate, seconds](sim::Shard shard) { return sim::ArrivalSchedule::constant(rate, Seconds{seconds}, 7, shard); };
  return options;
}

std::uint64_t errors_of(const RunResult& result, ErrorClass error) { return result.errors[static_cast<std::size_t>(error)]; }

std::uint64_t all_errors(const RunResult& result) {
  std::uint64_t sum = 0;
  for (const auto count : result.errors) sum += count;
  return sum;
}

}  // namespace

TEST_CASE("an HTTP/1.1 request becomes HTTP/2 fields") {
  const std::string request =
      "POST /v1/certificates?x=1 HTTP/1.1\r\nHost: example.test:8443\r\nConnection: keep-alive\r\nContent-Type: application/json\r\n"
      "Transfer-Encoding: chunked\r\nX-Trace:  a b \r\nContent-Length: 2\r\n\r\n{}";
  std::vector<HeaderField> fields;
  std::size_t body = 0;
  REQUIRE(http2_request_fields(request, true, "fallback", fields, body));
  CHECK(request.substr(body) == "{}");
  const std::vector<HeaderField> expected{{":method", "POST"},
                                          {":scheme", "https"},
                                          {":authority", "example.test:8443"},
                                          {":path", "/v1/certificates?x=1"},
                                          {"Content-Type", "application/json"},
                                          {"X-Trace", "a b"},
                                          {"Content-Length", "2"}};
  CHECK(fields == expected);

  SECTION("without Host, the target's authority") {
    REQUIRE(http2_request_fields("GET / HTTP/1.1\r\n\r\n", false, "127.0.0.1:8080", fields, body));
    CHECK(fields[1].second == "http");
    CHECK(fields[2].second == "127.0.0.1:8080");
    CHECK(body == 18);
  }
  SECTION("not a request") {
    CHECK_FALSE(http2_request_fields("GET /\r\n\r\n", false, "a", fields, body));
    CHECK_FALSE(http2_request_fields("GET / HTTP/1.1\r\nno colon\r\n\r\n", false, "a", fields, body));
    CHECK_FALSE(http2_request_fields("GET / HTTP/1.1\r\n", false, "a", fields, body));
  }
}

TEST_CASE("h2c with prior knowledge: every request answered, many streams on few connections") {
  Http2Server server({});
  auto options = http2_run(server.url("/work"), 400, 1.0, 2, 10);
  const auto result = run_engine(options, plan_ad_hoc(options.target, "GET", "", {}));
  const auto total = result.total();
  // A Poisson schedule of 400/s for 1 s: about 400 requests.
  CHECK(total.planned > 300);
  CHECK(total.ok == total.planned);
  CHECK(all_errors(result) == 0);
  CHECK(server.answered == total.planned);
  CHECK(result.connections_opened <= 2);
  CHECK(server.connections == result.connections_opened);
  CHECK(result.protocol == "h2c");
  CHECK(result.streams_per_connection == 10);
  // The Server-Timing header of every answer, read from the HTTP/2 fields.
  CHECK(total.server_time.total_count() == total.planned);
  CHECK(total.server_time.value_at_percentile(50) == Approx(1'500'000).epsilon(0.01));
}

TEST_CASE("h2 over TLS, chosen by ALPN") {
  Http2Server server({.tls = true});
  auto options = http2_run(server.url("/work"), 200, 1.0, 2, 10);
  const auto result = run_engine(options, plan_ad_hoc(options.target, "POST", "{\"holder\":\"x\"}", {{"Content-Type", "application/json"}}));
  CHECK(result.total().planned > 100);
  CHECK(result.total().ok == result.total().planned);
  CHECK(all_errors(result) == 0);
  CHECK(result.protocol == "h2");
  CHECK(server.connections >= 1);
}

TEST_CASE("a TLS server that does not choose h2 fails every request, saying why") {
  Http2Server server({.tls = true, .alpn_h2 = false});
  auto options = http2_run(server.url("/work"), 50, 0.4, 1, 10);
  const auto result = run_engine(options, plan_ad_hoc(options.target, "GET", "", {}));
  CHECK(result.total().ok == 0);
  CHECK(errors_of(result, ErrorClass::protocol) == result.total().planned);
  CHECK(result.sample_failure.find("ALPN") != std::string::npos);
  CHECK(server.requests == 0);
}

TEST_CASE("stream-level failures are classed") {
  SECTION("RST_STREAM: stream_reset, the connection goes on") {
    Http2Server server({});
    auto options = http2_run(server.url("/reset"), 100, 0.5, 1, 10);
    const auto result = run_engine(options, plan_ad_hoc(options.target, "GET", "", {}));
    CHECK(result.total().planned > 20);
    CHECK(errors_of(result, ErrorClass::stream_reset) == result.total().planned);
    CHECK(all_errors(result) == result.total().planned);
    CHECK(result.connections_opened == 1);
  }
  SECTION("REFUSED_STREAM: sent once more, then stream_reset") {
    Http2Server server({});
    auto options = http2_run(server.url("/refuse"), 100, 0.5, 1, 10);
    const auto result = run_engine(options, plan_ad_hoc(options.target, "GET", "", {}));
    const auto planned = result.total().planned;
    CHECK(planned > 20);
    CHECK(errors_of(result, ErrorClass::stream_reset) == planned);
    CHECK(result.total().sent == planned);  // counted once, though on the wire twice
    CHECK(server.requests == 2 * planned);
  }
  SECTION("a GOAWAY with an error that leaves the stream out: goaway") {
    Http2Server server({});
    auto options = http2_run(server.url("/goaway"), 40, 0.5, 2, 10);
    const auto result = run_engine(options, plan_ad_hoc(options.target, "GET", "", {}));
    CHECK(result.total().planned > 5);
    CHECK(errors_of(result, ErrorClass::goaway) == result.total().planned);
    CHECK(all_errors(result) == result.total().planned);
    CHECK(result.sample_failure.find("ENHANCE_YOUR_CALM") != std::string::npos);
  }
  SECTION("a body the server's window never lets through: flow_control at the time-out") {
    Http2Server server({.zero_window = true});
    auto options = http2_run(server.url("/work"), 20, 0.5, 1, 10);
    options.request_timeout = Seconds{0.3};
    const auto result = run_engine(options, plan_ad_hoc(options.target, "POST", "{\"a\":1}", {}));
    // The connection's first request may send its body before the server's SETTINGS arrive
    // (until then a stream's window is the default 65,535 bytes), and be answered.
    const auto planned = result.total().planned;
    CHECK(planned > 3);
    CHECK(result.total().ok <= 1);
    CHECK(errors_of(result, ErrorClass::flow_control) == planned - result.total().ok);
    CHECK(all_errors(result) == planned - result.total().ok);
  }
}

TEST_CASE("a whole answer, then RST_STREAM with NO_ERROR before the body is sent: answered") {
  // The server's zero window holds the request's body back; it answers at once and resets the
  // stream as RFC 9113 §8.1 allows. (The connection's first body may go before its SETTINGS.)
  Http2Server server({.zero_window = true});
  auto options = http2_run(server.url("/early"), 40, 0.5, 1, 10);
  const auto result = run_engine(options, plan_ad_hoc(options.target, "POST", "{\"a\":1}", {}));
  CHECK(result.total().planned > 5);
  CHECK(result.total().ok == result.total().planned);
  CHECK(all_errors(result) == 0);
}

TEST_CASE("the server's stream limit holds: requests wait for a free stream, and the wait counts") {
  Http2Server server({.max_concurrent_streams = 2, .slow = std::chrono::milliseconds(20)});
  auto options = http2_run(server.url("/slow"), 150, 1.0, 1, 50);
  const auto result = run_engine(options, plan_ad_hoc(options.target, "GET", "", {}));
  CHECK(result.total().planned > 100);
  CHECK(result.total().ok == result.total().planned);
  CHECK(server.peak_concurrent <= 2);
  CHECK(result.connections_opened == 1);
  // Two streams of 20 ms each carry at most 100 requests a second: a queue builds, and its
  // wait is in the response times (from the intended send times), far above the 20 ms service.
  CHECK(result.waited_for_connection > 0);
  CHECK(result.total().response_time.max() > 100'000'000);
  CHECK(result.total().service_time.value_at_percentile(50) < result.total().response_time.value_at_percentile(90));
}

TEST_CASE("closed loop over HTTP/2: connections times streams in flight") {
  Http2Server server({.slow = std::chrono::milliseconds(5)});
  EngineOptions options;
  std::string problem;
  options.target = *parse_target(server.url("/slow"), problem);
  options.http2 = true;
  options.streams = 5;
  options.connections = 2;
  options.closed_loop = true;
  options.closed_loop_duration = Seconds{0.5};
  const auto result = run_engine(options, plan_ad_hoc(options.target, "GET", "", {}));
  CHECK(all_errors(result) == 0);
  CHECK(result.connections_opened == 2);
  CHECK(server.peak_concurrent == 5);
  // 10 in flight, each about 5 ms (the server's polling adds up to 2 ms): far more than 2 connections alone would carry.
  CHECK(result.total().ok > 300);
}
