// HTTP/2 from the command line: --http2 and --streams, a scenario's `http: 2`, what summary.json
// records, and what is refused.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include <fstream>

#include "cli/cli_helpers.hpp"
#include "loadgen/http2_server.hpp"

using uptake::test::Http2Server;

namespace {

nlohmann::json summary_of(const std::filesystem::path& folder) { return nlohmann::json::parse(cli_test::read(folder / "summary.json")); }

// One endpoint, 100 requests a second for two seconds, over HTTP/2 by the file's own say-so.
void write_http2_scenario(const std::filesystem::path& file) {
  std::ofstream(file) << R"(name: h2-smoke
http: 2
history:
  series:
    flat:
      unit: requests
      yearly: { 2023: 3153600000, 2024: 3162240000 }
      model: exponential
growth:
  project_to: 2024
mix:
  endpoints: { hello: 1 }
flows:
  hello:
    method: GET
    path: /hello
replay:
  window: interval
  from: 2024-03-04T10:00
  to: 2024-03-04T10:00:02
  scale: 1
)";
}

}  // namespace

TEST_CASE("run --url --http2: h2c with the streams asked for") {
  Http2Server server({});
  const auto out = cli_test::scratch_folder("cli-http2-adhoc");
  const auto run = cli_test::uptake("run --url " + server.url("/hello") + " --rate 200 --duration 1s --http2 --connections 2 --streams 5 --out " +
                                    (out / "r").string());
  INFO(run.output);
  CHECK(run.exit_code == 0);
  const auto summary = summary_of(out / "r");
  CHECK(summary["connections"]["protocol"] == "h2c");
  CHECK(summary["connections"]["streams"] == 5);
  CHECK(summary["requests"]["ok"] == summary["requests"]["planned"]);
  CHECK(server.answered == summary["requests"]["ok"].get<std::uint64_t>());
}

TEST_CASE("a scenario's http: 2 is spoken to its --target, h2 over TLS included") {
  Http2Server server({.tls = true});
  const auto out = cli_test::scratch_folder("cli-http2-scenario");
  write_http2_scenario(out / "h2.yaml");
  const auto run = cli_test::uptake("run " + (out / "h2.yaml").string() + " --target " + server.url("") + " --out " + (out / "r").string());
  INFO(run.output);
  CHECK(run.exit_code == 0);
  const auto summary = summary_of(out / "r");
  CHECK(summary["connections"]["protocol"] == "h2");
  CHECK(summary["connections"]["streams"] == 100);
  CHECK(summary["requests"]["ok"].get<std::uint64_t>() > 100);
  CHECK(server.answered == summary["requests"]["ok"].get<std::uint64_t>());
}

TEST_CASE("over HTTP/2, journeys capture, check, keep cookies and follow redirects as over HTTP/1.1") {
  Http2Server server({});
  const auto out = cli_test::scratch_folder("cli-http2-journeys");
  // 20 sessions a second for 2 s: a login whose 302 sets a cookie and is followed to /home (401
  // without the cookie), then an issue whose credential the verify step sends back (404 for an
  // unknown one). The captures need the warm-up, which goes over HTTP/2 too.
  std::ofstream(out / "journeys.yaml") << R"(name: h2-journeys
seed: 3
http: 2
history:
  series:
    flat:
      yearly: { 2023: 630720000, 2024: 630720000 }
      model: exponential
growth: { project_to: 2024 }
journeys:
  start: login
  think_time: const:5ms
  steps:
    login:  { endpoint: login, next: { issue: 1 } }
    issue:  { endpoint: issue, next: { verify: 1 } }
    verify: { endpoint: verify, next: { exit: 1 } }
flows:
  login:
    method: POST
    path: /login
    headers: { Content-Type: application/json }
    body: '{"user":"u{{session_id}}"}'
    redirects: 1
    check: { status: 200 }
  issue:
    method: POST
    path: /issue
    body: '{}'
    capture: { credential: /credential }
  verify:
    method: GET
    path: /verify/{{credential}}
    check: { status: 200, json: { /status: active } }
replay: { window: interval, from: 2024-03-04T10:00, to: 2024-03-04T10:00:02, scale: 1 }
)";
  const auto run = cli_test::uptake("run " + (out / "journeys.yaml").string() + " --target " + server.url("") + " --out " + (out / "r").string());
  INFO(run.output);
  CHECK(run.exit_code == 0);
  const auto summary = summary_of(out / "r");
  CHECK(summary["connections"]["protocol"] == "h2c");
  std::uint64_t errors = 0;
  for (const auto& [name, count] : summary["errors"].items()) errors += count.get<std::uint64_t>();
  CHECK(errors == 0);
  const auto sessions = summary["sessions"]["completed"].get<std::uint64_t>();
  CHECK(sessions > 20);
  CHECK(summary["endpoints"]["login"]["redirects"] == summary["endpoints"]["login"]["requests"]["completed"]);
  CHECK(summary["endpoints"]["verify"]["requests"]["ok"].get<std::uint64_t>() >= sessions);
  // Every /home hop and every later step of a session carried the cookie its login set.
  CHECK(server.with_cookie >= 3 * sessions);
}

TEST_CASE("HTTP/2 options that cannot be honoured are refused before any load") {
  const auto out = cli_test::scratch_folder("cli-http2-refused");
  write_http2_scenario(out / "h2.yaml");
  cli_test::check_refused("run " + (out / "h2.yaml").string() + " --out " + (out / "r").string(),
                          "h2.yaml:2:7: field 'http': asks for HTTP/2, and the embedded reference service speaks HTTP/1.1 only");
  cli_test::check_refused("run scenarios/smoke.yaml --http2 --out " + (out / "r").string(), "field '--http2': asks for HTTP/2");
  cli_test::check_refused("capacity scenarios/smoke.yaml --http2 --out " + (out / "c").string(), "field '--http2': asks for HTTP/2");
  cli_test::check_refused("run --url http://127.0.0.1:1/ --rate 10 --duration 1s --streams 10", "field '--streams': is given without --http2");
  cli_test::check_refused("run --url http://127.0.0.1:1/ --rate 10 --duration 1s --http2 --streams 0", "field '--streams': 0 is out of range");
  CHECK_FALSE(std::filesystem::exists(out / "r"));
  CHECK_FALSE(std::filesystem::exists(out / "c"));
}
