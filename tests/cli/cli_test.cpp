// The uptake command as users meet it: help, exit codes, messages, files written or not.
#include <catch2/catch.hpp>

#include <sys/wait.h>

#include <algorithm>
#include <filesystem>

#include "cli/cli_helpers.hpp"

namespace fs = std::filesystem;
using cli_test::check_refused;
using cli_test::read;
using cli_test::scratch_folder;
using cli_test::uptake;

TEST_CASE("help lists the commands and every command has examples") {
  const auto overview = uptake("--help");
  CHECK(overview.exit_code == 0);
  for (const char* name : {"new", "check", "forecast", "schedule", "run", "capacity", "report", "gate", "merge", "serve"}) {
    CHECK_THAT(overview.output, Catch::Contains(name));
    const auto help = uptake(std::string(name) + " --help");
    INFO(name);
    CHECK(help.exit_code == 0);
    CHECK_THAT(help.output, Catch::Contains("Usage: uptake"));
    CHECK_THAT(help.output, Catch::Contains("Examples:"));
  }
  CHECK(uptake("").exit_code == 2);
  check_refused("frobnicate", "unknown command 'frobnicate'");
}

TEST_CASE("check names file, line, column and field, and exits 2") {
  check_refused("check tests/sim/fixtures/invalid/shares-sum.yaml", "shares-sum.yaml:8:14: field 'mix.endpoints': shares sum to 0.9");
  const auto good = uptake("check scenarios/smoke.yaml scenarios/ecert-korea.yaml");
  CHECK(good.exit_code == 0);
  CHECK_THAT(good.output, Catch::Contains("ok: scenarios/smoke.yaml"));
  CHECK(uptake("check --no-such-option scenarios/smoke.yaml").exit_code == 2);
}

TEST_CASE("forecast writes JSON only when everything is valid") {
  const auto folder = scratch_folder();
  const auto out = folder / "forecast.json";
  check_refused("forecast scenarios/smoke.yaml --format xml --out " + out.string(), "'xml' is not a format");
  CHECK_FALSE(fs::exists(out));
  check_refused("forecast scenarios/smoke.yaml --years 2030..2020", "ends before it starts");

  const auto good = uptake("forecast scenarios/smoke.yaml --format json --out " + out.string());
  CHECK(good.exit_code == 0);
  REQUIRE(fs::exists(out));
  CHECK_THAT(read(out), Catch::Contains("\"schema\": \"uptake.forecast/v1\""));
  CHECK_FALSE(cli_test::has_partial_left(out));

  const auto table = uptake("forecast scenarios/ecert-korea.yaml");
  CHECK(table.exit_code == 0);
  CHECK_THAT(table.output, Catch::Contains("Design peaks"));
}

TEST_CASE("new writes a scenario that checks, and does not overwrite") {
  const auto folder = scratch_folder();
  const auto file = folder / "demo.yaml";
  CHECK(uptake("new demo --out " + file.string()).exit_code == 0);
  CHECK_THAT(read(file), Catch::Contains("name: demo"));
  CHECK(uptake("check " + file.string()).exit_code == 0);
  check_refused("new demo --out " + file.string(), "already exists");
  CHECK(uptake("new demo --force --out " + file.string()).exit_code == 0);
  // A name with a path in it would put result folders outside results/.
  check_refused("new ../outside", "field 'NAME': '../outside' is not a usable scenario name");
  const auto spaced = folder / "spaced.yaml";
  REQUIRE(uptake("new 'Korea: e-certs \"2027\"' --out " + spaced.string()).exit_code == 0);
  const auto checked = uptake("check " + spaced.string());
  CHECK(checked.exit_code == 0);
  CHECK_THAT(checked.output, Catch::Contains("(Korea: e-certs \"2027\")"));
}

TEST_CASE("schedule counts and shards") {
  const auto summary = uptake("schedule scenarios/smoke.yaml");
  CHECK(summary.exit_code == 0);
  CHECK_THAT(summary.output, Catch::Contains("total"));
  const auto csv = uptake("schedule scenarios/smoke.yaml --shard 1/4 --format csv --limit 5");
  CHECK(csv.exit_code == 0);
  CHECK_THAT(csv.output, Catch::StartsWith("intended_offset_ns,endpoint,sequence\n"));
  CHECK(std::count(csv.output.begin(), csv.output.end(), '\n') == 6);
  check_refused("schedule scenarios/smoke.yaml --shard 4/4", "K/N with 0 <= K < N");
}

TEST_CASE("serve refuses bad options with exit code 2") {
  check_refused("serve --listen nowhere", "is not HOST:PORT");
  check_refused("serve --listen 127.0.0.1:0 --service-time verify=gamma:2ms", "names no distribution");
  check_refused("serve --listen 127.0.0.1:0 --service-time sign=exp:2ms", "ENDPOINT=DIST");
  check_refused("serve --listen 127.0.0.1:0 --tls-cert x.pem", "field '--tls-cert': applies to HTTPS (--tls) only");
  // Numbers that used to wrap, overflow or parse as something else (issue #16, cases 5, 6, 18).
  check_refused("serve --listen 127.0.0.1:0 --threads -1", "field '--threads': '-1' is negative");
  check_refused("serve --listen 127.0.0.1:0 --threads 5000", "field '--threads': 5000 is too many");
  check_refused("serve --listen 127.0.0.1:0 --service-time verify=const:99999999999999999999s", "expected at most 1h");
  // A duration is digits and a unit: an exponent is not one of its forms.
  check_refused("serve --listen 127.0.0.1:0 --service-time verify=const:1e308s", "field '--service-time': 'const:1e308s' has no valid mean");
  check_refused("run --url http://127.0.0.1:1/ --rate 0x10 --duration 1", "field '--rate': '0x10' is not a rate");
  check_refused("run --url http://127.0.0.1:1/ --rate 10 --duration 1 --connections -1", "field '--connections': '-1' is negative");
  check_refused("run --url http://127.0.0.1:1/ --rate 10 --duration 1 --seed -1", "field '--seed': '-1' is negative");
  check_refused("run --url http://127.0.0.1:1/ --rate 10 --duration 1 --header \"$(printf 'X-A: 1\\r\\nX-Smuggled: 2')\"", "field '--header': holds a line break");
  check_refused("run --url http://127.0.0.1:1/ --rate 10 --duration 1 --method \"$(printf 'GET / HTTP/1.1\\r\\n\\r\\nPOST')\"", "field '--method': holds a line break");
  check_refused("capacity --url \"$(printf 'http://127.0.0.1:1/\\nx')\" --slo 'p99<5ms'", "field '--url': holds a line break");
}

TEST_CASE("run: a scenario against the embedded service, and bad usage") {
  const auto folder = scratch_folder();
  const auto smoke = uptake("run scenarios/smoke.yaml --lag-bound 1000 --out " + (folder / "smoke").string());
  CHECK(smoke.exit_code == 0);
  const auto summary = read(folder / "smoke" / "summary.json");
  CHECK_THAT(summary, Catch::Contains("\"schema\": \"uptake.summary/v1\""));
  CHECK_THAT(summary, Catch::Contains("\"interrupted\": false"));
  CHECK_THAT(read(folder / "smoke" / "latency.hlog"), Catch::Contains("#[Histogram log format version 1.3]"));

  CHECK(uptake("run --url http://127.0.0.1:1/ --rate fast --duration 1").exit_code == 2);
  CHECK(uptake("run --url ftp://x --rate 10 --duration 1").exit_code == 2);
  CHECK(uptake("run").exit_code == 2);
}
