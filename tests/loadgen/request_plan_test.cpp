#include <catch2/catch.hpp>

#include "loadgen/negative_paths_scenario.hpp"
#include "temporary_directory.hpp"
#include "uptake/loadgen/request_plan.hpp"
#include "uptake/sim/scenario_loader.hpp"

using namespace uptake;
using namespace uptake::loadgen;

TEST_CASE("targets parse, with ports, IPv6 and base paths") {
  std::string problem;
  const auto plain = parse_target("http://127.0.0.1:8080", problem);
  REQUIRE(plain);
  CHECK(plain->port == 8080);
  CHECK(plain->base_path.empty());
  CHECK(plain->host_header() == "127.0.0.1:8080");
  const auto v6 = parse_target("http://[::1]:9000/api/", problem);
  REQUIRE(v6);
  CHECK(v6->host == "::1");
  CHECK(v6->base_path == "/api");
  CHECK(v6->host_header() == "[::1]:9000");
  CHECK(parse_target("https://localhost/", problem)->port == 443);
  CHECK_FALSE(parse_target("ftp://x", problem));
  CHECK_FALSE(parse_target("http://:80", problem));
  CHECK_FALSE(parse_target("http://h:99999", problem));
}

TEST_CASE("URLs with user information: only the host is the host, and the rest is Basic authorization") {
  std::string problem;
  const auto target = parse_target("http://user:p%40ss@127.0.0.1:8080/api/?q=1", problem);
  REQUIRE(target);
  CHECK(target->host == "127.0.0.1");
  CHECK(target->port == 8080);
  CHECK(target->path == "/api/?q=1");
  CHECK(target->authorization == "Basic dXNlcjpwQHNz");  // "user:p@ss", percent-decoded
  CHECK(target->to_string() == "http://127.0.0.1:8080/api/?q=1");  // no password in results
  const auto v6 = parse_target("https://admin@[::1]/", problem);
  REQUIRE(v6);
  CHECK(v6->host == "::1");
  CHECK(v6->authorization == "Basic YWRtaW46");  // "admin:"
  CHECK_FALSE(parse_target("http://127.0.0.1:8080", problem)->authorization.size());
  // What is not a URL stays refused, with a reason.
  CHECK_FALSE(parse_target("http://a b/", problem));
  CHECK_FALSE(parse_target("http://[::1/", problem));
  CHECK_FALSE(parse_target("http://user@:80/", problem));
  CHECK_FALSE(parse_target("http://h:0/", problem));

  Random random(1);
  CapturePool pool(3);
  std::string body, out;
  int missing = -1;
  const auto plan = plan_ad_hoc(*target, "GET", "", {});
  REQUIRE(render_request(plan.endpoints[0], plan, pool, random, 1, body, out, missing));
  CHECK_THAT(out, Catch::StartsWith("GET /api/?q=1 HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n"));
  CHECK_THAT(out, Catch::Contains("\r\nAuthorization: Basic dXNlcjpwQHNz\r\n"));
  // An Authorization header of the user's own wins: there is never a second one.
  const auto own = plan_ad_hoc(*target, "GET", "", {{"authorization", "Bearer t"}});
  REQUIRE(render_request(own.endpoints[0], own, pool, random, 2, body, out, missing));
  CHECK_THAT(out, !Catch::Contains("Basic"));
  CHECK_THAT(out, Catch::Contains("\r\nauthorization: Bearer t\r\n"));
}

TEST_CASE("flows render into complete requests, with captures from earlier answers") {
  const auto scenario = sim::load_scenario("scenarios/smoke.yaml");
  std::string problem;
  const auto target = *parse_target("http://127.0.0.1:8080", problem);
  const auto plan = plan_from_scenario(scenario, {"issue", "verify"}, target);
  REQUIRE(plan.endpoints.size() == 2);
  CapturePool pool(plan.variable_names.size());
  Random random(1);
  std::string body, out;
  int missing = -1;
  REQUIRE(render_request(plan.endpoints[0], plan, pool, random, 7, body, out, missing));
  CHECK_THAT(out, Catch::StartsWith("POST /v1/certificates HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n"));
  CHECK_THAT(out, Catch::Contains("Content-Length: " + std::to_string(body.size()) + "\r\n\r\n{\"holder\":\""));
  // verify needs a credential: none yet.
  CHECK_FALSE(render_request(plan.endpoints[1], plan, pool, random, 8, body, out, missing));
  CHECK(plan.variable_names[static_cast<std::size_t>(missing)] == "credential");
  std::string scratch;
  const std::string answer = R"({"id":"abc","credential":"eyJ.x.y","holder":"h"})";
  const auto value = extract_json_pointer(answer, "/credential", scratch);
  REQUIRE(value);
  CHECK(*value == "eyJ.x.y");
  pool.put(plan.endpoints[0].captures[0].variable, *value);
  REQUIRE(render_request(plan.endpoints[1], plan, pool, random, 9, body, out, missing));
  CHECK_THAT(out, Catch::EndsWith(R"({"credential":"eyJ.x.y"})"));
}

TEST_CASE("JSON pointers: the fast path and the full parse agree") {
  std::string scratch;
  CHECK(*extract_json_pointer(R"({"nested":{"id":"inner"},"id":"outer"})", "/id", scratch) == "outer");
  CHECK(*extract_json_pointer(R"({"data":[{"id":"first"}]})", "/data/0/id", scratch) == "first");
  CHECK(*extract_json_pointer(R"({"id":"a\"b"})", "/id", scratch) == "a\"b");
  CHECK(*extract_json_pointer(R"({"n":42})", "/n", scratch) == "42");
  CHECK_FALSE(extract_json_pointer(R"({"x":1})", "/missing", scratch));
  CHECK_FALSE(extract_json_pointer("not json", "/id", scratch));
}

TEST_CASE("negative paths: tampered and revoked shares, and the revoke flow for warm-up") {
  test::TemporaryDirectory folder("negative-plan");
  const auto scenario = sim::load_scenario(test::write_negative_paths_scenario(folder.path()));
  std::string problem;
  const auto target = *parse_target("http://127.0.0.1:8080", problem);
  const auto plan = plan_from_scenario(scenario, {"issue", "verify"}, target);
  REQUIRE(plan.endpoints.size() == 2);  // revoke is not an endpoint of the traffic
  REQUIRE(plan.warm_up_requests.size() == 1);
  const auto& rule = plan.endpoints[1].negative;
  REQUIRE(rule.variable >= 0);
  CHECK(plan.variable_names[static_cast<std::size_t>(rule.variable)] == "credential");
  CHECK(plan.variable_names[static_cast<std::size_t>(rule.revoked_variable)] == "credential#revoked");

  CapturePool pool(plan.variable_names.size());
  const std::string good = "eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJlc2lnbmF0dXJlc2ln";
  pool.put(rule.variable, good);
  pool.put(rule.revoked_variable, "revoked.credential.value");
  Random random(11);
  std::string body, out;
  int missing = -1;
  int counts[3] = {0, 0, 0};
  for (std::uint64_t sequence = 0; sequence < 20'000; ++sequence) {
    NegativeCase chosen = NegativeCase::none;
    REQUIRE(render_request(plan.endpoints[1], plan, pool, random, sequence, body, out, missing, &chosen));
    ++counts[static_cast<int>(chosen)];
    switch (chosen) {
      case NegativeCase::none: CHECK_THAT(out, Catch::EndsWith("\"" + good + "\"}")); break;
      case NegativeCase::revoked: CHECK_THAT(out, Catch::EndsWith("\"revoked.credential.value\"}")); break;
      case NegativeCase::tampered: {
        // Same length, same header and payload, one character of the signature changed.
        const auto value = body.substr(15, good.size());
        CHECK(value.size() == good.size());
        CHECK(value.substr(0, value.rfind('.')) == good.substr(0, good.rfind('.')));
        int differences = 0;
        for (std::size_t i = 0; i < good.size(); ++i) differences += value[i] != good[i];
        CHECK(differences == 1);
        break;
      }
    }
  }
  // 10% each, within 5 standard deviations of 2,000.
  CHECK(std::abs(counts[1] - 2000) < 5 * 42);
  CHECK(std::abs(counts[2] - 2000) < 5 * 42);

  // The revoke flow is rendered from one response's captures.
  CapturePool response(plan.variable_names.size(), 1);
  response.put(plan.endpoints[0].captures[1].variable, "cert-42");
  REQUIRE(render_request(plan.warm_up_requests[0], plan, response, random, 1, body, out, missing));
  CHECK_THAT(out, Catch::StartsWith("POST /v1/certificates/cert-42/revoke HTTP/1.1\r\n"));
}

TEST_CASE("the middle of the signature is altered, never only its padding bits") {
  std::string value = "aaa.bbb.ABCDEFGH";
  tamper(value);
  CHECK(value == "aaa.bbb.ABCDAFGH");
  std::string plain = "AAAA";
  tamper(plain);
  CHECK(plain == "AABA");
}

TEST_CASE("CSV feeders: a row per arrival, the same in every shard and thread") {
  for (const auto* order : {"sequential", "random"}) {
    INFO(order);
    test::TemporaryDirectory folder("feeder-plan");
    const auto scenario = sim::load_scenario(test::write_negative_paths_scenario(folder.path(), order));
    REQUIRE(scenario.feeders.size() == 1);
    CHECK(scenario.feeders[0].rows() == 3);
    std::string problem;
    const auto plan = plan_from_scenario(scenario, {"issue", "verify"}, *parse_target("http://127.0.0.1:8080", problem));
    CapturePool pool(plan.variable_names.size());
    std::string body, out, again;
    int missing = -1;
    int seen[3] = {0, 0, 0};
    for (std::uint64_t sequence = 0; sequence < 300; ++sequence) {
      Random first(1), second(99);  // the row depends on the arrival, not on the thread's random stream
      REQUIRE(render_request(plan.endpoints[0], plan, pool, first, sequence, body, out, missing));
      const auto rendered = body;
      REQUIRE(render_request(plan.endpoints[0], plan, pool, second, sequence, body, again, missing));
      CHECK(body == rendered);
      const auto row = feeder_row(plan.feeders[0], sequence, plan.seed);
      ++seen[row];
      CHECK(rendered == "{\"holder\":\"" + std::string(plan.feeders[0].table.at(row, 0)) + "\",\"type\":\"" + std::string(plan.feeders[0].table.at(row, 1)) + "\"}");
      if (std::string(order) == "sequential") CHECK(row == sequence % 3);
    }
    for (int count : seen) CHECK(count > 60);  // every row is used
  }
}
