// Response checks, captures from heads and bodies, and templates with environment values and
// escaping by context: the scenario syntax, the compiled plan and the pure functions the engine
// calls, all without a network.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include <cstdlib>
#include <string>

#include "sim/scenario_builder.hpp"
#include "uptake/loadgen/request_plan.hpp"
#include "uptake/loadgen/response_checks.hpp"

using namespace uptake;
using namespace uptake::loadgen;

namespace {

// A scenario of one endpoint "issue" (and "verify" when its flow is given) with these flows.
sim::Scenario with_flows(const std::string& flows, const std::string& mix = "issue: 1.0") {
  auto text = test::flat_scenario(1e6, "flows:\n" + flows);
  const auto at = text.find("issue: 1.0");
  text.replace(at, 10, mix);
  return test::scenario_from_yaml(text);
}

Target target() {
  std::string problem;
  return *parse_target("http://127.0.0.1:8080", problem);
}

CompiledChecks checks_of(const std::string& check) {
  const auto scenario = with_flows("  issue: { method: POST, path: /v1/certificates, check: " + check + " }\n");
  return compile_checks(scenario.flows.at(0).checks);
}

const std::string kHead = "HTTP/1.1 201 Created\r\nLocation: /v1/certificates/c-42\r\nContent-Type: application/json\r\n";
const std::string kBody = R"({"credential":"eyJ.a.b","status":"active","count":3,"tags":["x"],"nested":{"ok":true}})";

std::string failure_of(const std::string& yaml) {
  try {
    test::scenario_from_yaml(test::flat_scenario(1e6, "flows:\n" + yaml));
  } catch (const InputError& error) {
    return error.what();
  }
  return "loaded";
}

// Renders the only request of a plan with `pool`, returning what would be sent.
std::string rendered(const RequestPlan& plan, const CapturePool& pool, std::size_t endpoint = 0, RenderProblem* problem = nullptr) {
  Random random(3);
  std::string body, out;
  int missing = -1;
  NegativeCase chosen{};
  if (!render_request(plan.endpoints[endpoint], plan, pool, random, 5, body, out, missing, &chosen, problem)) return "<not rendered>";
  return out;
}

}  // namespace

TEST_CASE("the check syntax loads: statuses, ranges, JSON exists and equals, a body expression") {
  const auto scenario = with_flows(R"(  issue:
    method: POST
    path: /v1/certificates
    check:
      status: [200-201, 409]
      json: { /credential: exists, /status: active, /count: 3, /quoted: "exists", /tags: [x], /nested: { ok: true } }
      body: '"credential"'
)");
  const auto& checks = scenario.flows.at(0).checks;
  REQUIRE(checks.status.size() == 2);
  CHECK((checks.status[0].from == 200 && checks.status[0].to == 201 && checks.status[1].from == 409 && checks.status[1].to == 409));
  REQUIRE(checks.json.size() == 6);
  CHECK(checks.json[0].equals_json.empty());        // exists
  CHECK(checks.json[1].equals_json == R"("active")");
  CHECK(checks.json[2].equals_json == "3");
  CHECK(checks.json[3].equals_json == R"("exists")");  // quoted: the string, not the word
  CHECK(checks.json[4].equals_json == R"(["x"])");
  CHECK(checks.json[5].equals_json == R"({"ok":true})");
  CHECK(checks.body_regex == R"("credential")");
  CHECK(with_flows("  issue: { method: GET, path: /, check: { status: 200-299 } }\n").flows[0].checks.status.size() == 1);
  CHECK(with_flows("  issue: { method: GET, path: /, check: { status: 201 } }\n").flows[0].checks.status[0].to == 201);
}

TEST_CASE("bad checks and captures are refused with their field and line") {
  CHECK_THAT(failure_of("  issue: { method: GET, path: /, check: { status: 2xx } }\n"), Catch::Contains("flows.issue.check.status': '2xx' is not a status"));
  CHECK_THAT(failure_of("  issue: { method: GET, path: /, check: { status: [299-200] } }\n"), Catch::Contains("ends before it starts"));
  CHECK_THAT(failure_of("  issue: { method: GET, path: /, check: { status: 600 } }\n"), Catch::Contains("is not a status"));
  CHECK_THAT(failure_of("  issue: { method: GET, path: /, check: { status: [] } }\n"), Catch::Contains("is an empty list"));
  CHECK_THAT(failure_of("  issue: { method: GET, path: /, check: { json: { credential: exists } } }\n"), Catch::Contains("is not a JSON pointer"));
  CHECK_THAT(failure_of("  issue: { method: GET, path: /, check: { body: '(' } }\n"), Catch::Contains("flows.issue.check.body': '(' is not a regular expression"));
  CHECK_THAT(failure_of("  issue: { method: GET, path: /, check: { stauts: 200 } }\n"), Catch::Contains("flows.issue.check.stauts': is not a known field"));
  CHECK_THAT(failure_of("  issue: { method: GET, path: /, capture: { t: { regex: 'ticket=[a-z]+' } } }\n"), Catch::Contains("has no group to capture"));
  CHECK_THAT(failure_of("  issue: { method: GET, path: /, capture: { t: { header: 'Bad Name' } } }\n"), Catch::Contains("is not a header name"));
  CHECK_THAT(failure_of("  issue: { method: GET, path: /, capture: { t: { from: body } } }\n"), Catch::Contains("flows.issue.capture.t.from': is not a known field"));
  CHECK_THAT(failure_of("  issue: { method: GET, path: /, capture: { t: {} } }\n"), Catch::Contains("names no source"));
  CHECK_THAT(failure_of("  issue: { method: GET, path: '/{{env.1X}}' }\n"), Catch::Contains("does not name an environment variable"));
  CHECK_THAT(failure_of("  issue: { method: GET, path: /, check: { status: 2xx } }\n"), Catch::StartsWith("test.yaml:10:51: field 'flows.issue.check.status'"));
}

TEST_CASE("status checks: a set and ranges, and an expected status of 400 or more is ok") {
  const auto created = checks_of("{ status: [201] }");
  CHECK_FALSE(judge_response(created, 201, kHead, kBody).error);
  const auto wrong = judge_response(created, 200, kHead, kBody);
  CHECK(wrong.error == ErrorClass::check_failed);
  CHECK(wrong.failed_check == kStatusCheck);
  CHECK(describe_check(created, wrong.failed_check) == "status in [201]");
  // An unexpected status of 400 or more keeps its HTTP class.
  CHECK(judge_response(created, 404, kHead, kBody).error == ErrorClass::http_4xx);
  CHECK(judge_response(created, 503, kHead, kBody).error == ErrorClass::http_5xx);
  // A negative path that expects 401 or 409 is ok when it gets them, and only then.
  const auto refused = checks_of("{ status: [401, 409] }");
  CHECK_FALSE(judge_response(refused, 401, kHead, "{}").error);
  CHECK_FALSE(judge_response(refused, 409, kHead, "{}").error);
  CHECK(judge_response(refused, 200, kHead, "{}").error == ErrorClass::check_failed);
  CHECK(judge_response(refused, 403, kHead, "{}").error == ErrorClass::http_4xx);
  const auto range = checks_of("{ status: 200-299 }");
  CHECK_FALSE(judge_response(range, 204, kHead, "").error);
  CHECK(judge_response(range, 302, kHead, "").error == ErrorClass::check_failed);
  CHECK(describe_check(range, kStatusCheck) == "status in [200-299]");
  // Without checks, and with checks but no status check: below 400 is ok, as without checks.
  const CompiledChecks none;
  CHECK_FALSE(judge_response(none, 302, kHead, "").error);
  CHECK(judge_response(none, 401, kHead, "").error == ErrorClass::http_4xx);
  CHECK(judge_response(checks_of("{ body: 'x' }"), 500, kHead, "x").error == ErrorClass::http_5xx);
}

TEST_CASE("JSON checks: exists, and equals compared as JSON") {
  const auto exists = checks_of("{ json: { /credential: exists, /nested/ok: exists } }");
  CHECK_FALSE(judge_response(exists, 201, kHead, kBody).error);
  const auto missing = judge_response(exists, 201, kHead, R"({"nested":{"ok":1}})");
  CHECK(missing.error == ErrorClass::check_failed);
  CHECK(describe_check(exists, missing.failed_check) == "json /credential exists");
  const auto second = judge_response(exists, 201, kHead, R"({"credential":"x","nested":{}})");
  CHECK(second.failed_check == 1);
  CHECK(judge_response(exists, 201, kHead, "not json").error == ErrorClass::check_failed);
  CHECK(judge_response(exists, 201, kHead, "").error == ErrorClass::check_failed);

  const auto equals = checks_of(R"({ json: { /status: "active", /count: 3.0, /tags: [x], /nested: { ok: true } } })");
  CHECK_FALSE(judge_response(equals, 201, kHead, kBody).error);  // 3 equals 3.0 as JSON numbers
  const auto revoked = judge_response(equals, 201, kHead, R"({"status":"revoked","count":3,"tags":["x"],"nested":{"ok":true}})");
  CHECK(revoked.error == ErrorClass::check_failed);
  CHECK(describe_check(equals, revoked.failed_check) == R"(json /status equals "active")");
  // The string "3" is not the number 3.
  CHECK(judge_response(equals, 201, kHead, R"({"status":"active","count":"3","tags":["x"],"nested":{"ok":true}})").failed_check == 1);
  // A pointer into something that is not an object or array fails, it does not throw.
  CHECK(judge_response(checks_of("{ json: { /status/deeper: exists } }"), 201, kHead, kBody).error == ErrorClass::check_failed);
}

TEST_CASE("body checks: an ECMAScript expression searched in the body") {
  const auto body = checks_of(R"({ body: '"credential":"eyJ[^"]*"' })");
  CHECK_FALSE(judge_response(body, 201, kHead, kBody).error);
  const auto failed = judge_response(body, 201, kHead, R"({"error":"no"})");
  CHECK(failed.error == ErrorClass::check_failed);
  CHECK(failed.failed_check == kBodyCheck);
  CHECK(describe_check(body, kBodyCheck) == R"(body matches '"credential":"eyJ[^"]*"')");
  // The first failing check is named: status before JSON before body.
  const auto all = checks_of(R"({ status: 201, json: { /id: exists }, body: 'zzz' })");
  CHECK(judge_response(all, 200, kHead, kBody).failed_check == kStatusCheck);
  CHECK(judge_response(all, 201, kHead, kBody).failed_check == 0);
  CHECK(judge_response(all, 201, kHead, R"({"id":1})").failed_check == kBodyCheck);
  // An expression that backtracks without end on a body gives up, as a failed check.
  const auto hostile = checks_of("{ body: '(a+)+b' }");
  CHECK(judge_response(hostile, 200, kHead, std::string(5000, 'a')).error == ErrorClass::check_failed);
}

TEST_CASE("captures from a header, by a regular expression, and by JSON pointer") {
  const auto scenario = with_flows(R"(  issue:
    method: POST
    path: /v1/certificates
    capture:
      credential: /credential
      location: { header: location }
      item: { header: Location, regex: '/c-([0-9]+)$' }
      ticket: { regex: 'ticket=([A-Za-z0-9]+)' }
      absent: { header: X-Absent }
  verify:
    method: GET
    path: '/v1/status/{{ticket}}'
    headers: { X-Location: '{{location}}', X-Item: '{{item}}' }
    body: '{"credential":"{{credential}}"}'
)", "issue: 0.5, verify: 0.5");
  const auto plan = plan_from_scenario(scenario, {"issue", "verify"}, target());
  CHECK(plan.endpoints[0].reads_body());
  CapturePool pool(plan.variable_names.size());
  std::string scratch;
  capture_values(plan.endpoints[0].captures, kHead, R"({"credential":"eyJ.a.b","note":"ticket=T123 ok"})", pool, scratch);
  const auto out = rendered(plan, pool, 1);
  CHECK_THAT(out, Catch::StartsWith("GET /v1/status/T123 HTTP/1.1\r\n"));
  CHECK_THAT(out, Catch::Contains("\r\nX-Location: /v1/certificates/c-42\r\n"));
  CHECK_THAT(out, Catch::Contains("\r\nX-Item: 42\r\n"));
  CHECK_THAT(out, Catch::EndsWith(R"({"credential":"eyJ.a.b"})"));
  const auto absent = std::find(plan.variable_names.begin(), plan.variable_names.end(), "absent") - plan.variable_names.begin();
  CHECK(pool.size(static_cast<int>(absent)) == 0);
  // Header captures alone do not need the body.
  const auto head_only = plan_from_scenario(with_flows("  issue: { method: GET, path: /, capture: { l: { header: Location } } }\n"), {"issue"}, target());
  CHECK_FALSE(head_only.endpoints[0].reads_body());
  CHECK(plan_from_scenario(with_flows("  issue: { method: GET, path: /, check: { status: 200 } }\n"), {"issue"}, target()).endpoints[0].reads_body() == false);
  CHECK(plan_from_scenario(with_flows("  issue: { method: GET, path: /, check: { body: x } }\n"), {"issue"}, target()).endpoints[0].reads_body());
}

TEST_CASE("values are escaped for where they stand: path, query, header, JSON string, JSON value, form") {
  const auto scenario = with_flows(R"(  issue:
    method: POST
    path: '/v1/{{value}}/items?q={{value}}&n=1'
    headers: { X-Value: '{{value}}' }
    body: '{"text":"a {{value}} b","raw":{{value}},"number":{{count}}}'
  verify:
    method: POST
    path: /v1/form
    headers: { Content-Type: application/x-www-form-urlencoded }
    body: 'v={{value}}&plain=1'
  seed:
    method: POST
    path: /v1/seed
    capture: { value: /value, count: /count }
)", "issue: 0.4, verify: 0.4, seed: 0.2");
  const auto plan = plan_from_scenario(scenario, {"issue", "verify", "seed"}, target());
  const auto value = std::find(plan.variable_names.begin(), plan.variable_names.end(), "value") - plan.variable_names.begin();
  const auto count = std::find(plan.variable_names.begin(), plan.variable_names.end(), "count") - plan.variable_names.begin();
  const std::string hostile = "a\"b\\c\x01/d?e&f%g é";
  CapturePool pool(plan.variable_names.size());
  pool.put(static_cast<int>(value), hostile);
  pool.put(static_cast<int>(count), "-12.5e3");
  const auto out = rendered(plan, pool, 0);
  CHECK_THAT(out, Catch::StartsWith("POST /v1/a%22b%5Cc%01%2Fd%3Fe&f%25g%20%C3%A9/items?q=a%22b%5Cc%01%2Fd%3Fe%26f%25g%20%C3%A9&n=1 HTTP/1.1\r\n"));
  CHECK_THAT(out, Catch::Contains("\r\nX-Value: " + hostile + "\r\n"));  // as is: no CR, LF or NUL
  const auto body = out.substr(out.find("\r\n\r\n") + 4);
  CHECK(body == "{\"text\":\"a a\\\"b\\\\c\\u0001/d?e&f%g é b\",\"raw\":\"a\\\"b\\\\c\\u0001/d?e&f%g é\",\"number\":-12.5e3}");
  const auto parsed = nlohmann::json::parse(body);
  CHECK(parsed["raw"] == hostile);
  CHECK(parsed["text"] == "a " + hostile + " b");
  CHECK(rendered(plan, pool, 1).ends_with("v=a%22b%5Cc%01%2Fd%3Fe%26f%25g%20%C3%A9&plain=1"));

  // A value with CR or LF for a header is not sent: it would inject a header line.
  for (const std::string& injection : {std::string("x\r\nX-Injected: 1"), std::string("x\ny"), std::string("x\0y", 3)}) {
    CapturePool only(plan.variable_names.size());
    only.put(static_cast<int>(value), injection);
    only.put(static_cast<int>(count), "1");
    RenderProblem problem = RenderProblem::missing_capture;
    CHECK(rendered(plan, only, 0, &problem) == "<not rendered>");
    CHECK(problem == RenderProblem::unsafe_value);
    // The same value in a body is escaped, not refused.
    CHECK_THAT(rendered(plan, only, 1), Catch::EndsWith("&plain=1"));
  }
}

TEST_CASE("JSON bodies are told by their Content-Type, or by being JSON around their placeholders") {
  const auto plan_for = [](const std::string& headers, const std::string& body) {
    return plan_from_scenario(with_flows("  issue: { method: POST, path: /, headers: " + headers + ", body: '" + body + "' }\n"), {"issue"}, target());
  };
  CapturePool pool(4);
  const auto body_of = [&](const RequestPlan& plan) {
    const auto out = rendered(plan, pool);
    return out.substr(out.find("\r\n\r\n") + 4);
  };
  // {{request_id}} renders as 5: a number stays a number outside a string, and is text inside one.
  CHECK(body_of(plan_for("{}", R"({"id":{{request_id}},"s":"{{request_id}}"})")) == R"({"id":5,"s":"5"})");
  CHECK(body_of(plan_for("{ Content-Type: application/vnd.api+json }", R"(["{{request_id}}"])")) == R"(["5"])");
  // Not JSON: a plain text body takes values as they are.
  CHECK(body_of(plan_for("{ Content-Type: text/plain }", R"(id {{request_id}} "{{citizen_id}})")).starts_with("id 5 \""));
  CHECK(body_of(plan_for("{}", "id={{request_id}}")) == "id=5");
  // A synthetic citizen id is not a JSON number: outside a string it becomes one.
  const auto citizen = body_of(plan_for("{}", R"({"holder":{{citizen_id}}})"));
  CHECK(nlohmann::json::parse(citizen)["holder"].is_string());
}

TEST_CASE("env templates: read once when the plan is compiled, escaped, and never shown") {
  ::setenv("UPTAKE_TEST_TOKEN", "s3cr\"et/?&%", 1);
  ::unsetenv("UPTAKE_TEST_UNSET");
  const auto scenario = with_flows(R"(  issue:
    method: POST
    path: '/v1/{{env.UPTAKE_TEST_TOKEN}}'
    headers: { Authorization: 'Bearer {{env.UPTAKE_TEST_TOKEN}}' }
    body: '{"token":"{{env.UPTAKE_TEST_TOKEN}}"}'
)");
  REQUIRE(scenario.flows[0].environment.size() == 3);
  CHECK(scenario.flows[0].environment[1].field == "flows.issue.headers.Authorization");
  const auto plan = plan_from_scenario(scenario, {"issue"}, target());
  CapturePool pool(plan.variable_names.size());
  const auto out = rendered(plan, pool);
  CHECK_THAT(out, Catch::StartsWith("POST /v1/s3cr%22et%2F%3F&%25 HTTP/1.1\r\n"));
  CHECK_THAT(out, Catch::Contains("\r\nAuthorization: Bearer s3cr\"et/?&%\r\n"));
  CHECK_THAT(out, Catch::EndsWith(R"({"token":"s3cr\"et/?&%"})"));
  // Read once: a change afterwards does not reach the plan.
  ::setenv("UPTAKE_TEST_TOKEN", "other", 1);
  CHECK_THAT(rendered(plan, pool), Catch::Contains("Bearer s3cr\"et/?&%"));
  // Any form of it in a text that quotes an answer is replaced by its placeholder.
  std::string echoed = R"(HTTP 401 on issue: {"saw":"Bearer s3cr\"et/?&%","path":"/v1/s3cr%22et%2F%3F&%25"} s3cr"et/?&%)";
  redact_environment(plan, echoed);
  CHECK(echoed.find("s3cr") == std::string::npos);
  CHECK_THAT(echoed, Catch::Contains("{{env.UPTAKE_TEST_TOKEN}}"));

  // Missing: an error naming the field, the line and the variable, before any load.
  const auto missing = with_flows("  issue:\n    method: GET\n    path: /\n    headers: { X-Key: '{{env.UPTAKE_TEST_UNSET}}' }\n");
  try {
    plan_from_scenario(missing, {"issue"}, target());
    FAIL("compiled without the variable");
  } catch (const InputError& error) {
    CHECK(error.field() == "flows.issue.headers.X-Key");
    CHECK(error.where().line == 13);
    CHECK_THAT(error.what(), Catch::Contains("UPTAKE_TEST_UNSET is not set"));
  }
  CHECK_THROWS_AS(environment_values(missing), InputError);
  // A value with a line break cannot go into a header: refused before load, without the value.
  ::setenv("UPTAKE_TEST_TOKEN", "line\r\nX-Injected: secretvalue", 1);
  try {
    plan_from_scenario(scenario, {"issue"}, target());
    FAIL("compiled with a line break in a header");
  } catch (const InputError& error) {
    CHECK_THAT(error.what(), Catch::Contains("holds a line break"));
    CHECK_THAT(error.what(), !Catch::Contains("secretvalue"));
  }
  ::unsetenv("UPTAKE_TEST_TOKEN");
}
