#include <catch2/catch.hpp>

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
