// Rendering a request from its compiled flow, once per arrival on the load generator's hot path:
// an issuance (synthetic values in a JSON body), a verification (a captured credential in a JSON
// body and a header) and a status poll (a captured id in the path and a query). After the first
// iteration the buffers have grown, so what is measured is the steady state, which must not
// allocate.
#include <benchmark/benchmark.h>

#include <string>

#include "uptake/base/random.hpp"
#include "uptake/loadgen/request_plan.hpp"
#include "uptake/sim/scenario.hpp"

namespace {

using namespace uptake;
using namespace uptake::loadgen;

sim::Scenario scenario() {
  sim::Scenario scenario;
  scenario.synthetic.certificate_types = {"resident-registration", "family-relations", "vaccination"};
  sim::Flow issue;
  issue.endpoint = "issue";
  issue.method = "POST";
  issue.path = "/v1/certificates";
  issue.headers = {{"Content-Type", "application/json"}, {"X-Request-Id", "{{request_id}}"}};
  issue.body = R"({"holder":"{{citizen_id}}","type":"{{certificate_type}}","purpose":"submission to an agency"})";
  issue.captures = {{"credential", "/credential"}, {"credential_id", "/id"}};
  sim::Flow verify;
  verify.endpoint = "verify";
  verify.method = "POST";
  verify.path = "/v1/verify";
  verify.headers = {{"Content-Type", "application/json"}, {"X-Credential", "{{credential}}"}};
  verify.body = R"({"credential":"{{credential}}"})";
  sim::Flow status;
  status.endpoint = "status";
  status.method = "GET";
  status.path = "/v1/certificates/{{credential_id}}/status?holder={{citizen_id}}&request={{request_id}}";
  scenario.flows = {issue, verify, status};
  return scenario;
}

struct Fixture {
  Fixture() : plan(plan_from_scenario(scenario(), {"issue", "verify", "status"}, target())), pool(plan.variable_names.size()) {
    const std::string credential = "eyJhbGciOiJFZERTQSIsInR5cCI6InZjK2p3dCJ9.eyJzdWIiOiI5MDAxMDEtMTAwMDAwMSIsInR5cGUiOiJ2YWNjaW5hdGlvbiJ9."
                                   "c2lnbmF0dXJlc2lnbmF0dXJlc2lnbmF0dXJlc2lnbmF0dXJlc2lnbmF0dXJlc2lnbmF0dXJl";
    for (int i = 0; i < 64; ++i) {
      pool.put(plan.endpoints[0].captures[0].variable, credential + std::to_string(i));
      pool.put(plan.endpoints[0].captures[1].variable, "c-" + std::to_string(100000 + i));
    }
  }
  static Target target() {
    std::string problem;
    return *parse_target("http://127.0.0.1:8080", problem);
  }
  RequestPlan plan;
  CapturePool pool;
};

void render(benchmark::State& state, std::size_t endpoint) {
  static const Fixture fixture;
  Random random(7);
  std::string body, out;
  int missing = -1;
  std::uint64_t sequence = 0;
  for (auto _ : state) {
    const bool rendered = render_request(fixture.plan.endpoints[endpoint], fixture.plan, fixture.pool, random, ++sequence, body, out, missing);
    benchmark::DoNotOptimize(rendered);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_RenderIssue(benchmark::State& state) { render(state, 0); }
void BM_RenderVerify(benchmark::State& state) { render(state, 1); }
void BM_RenderStatus(benchmark::State& state) { render(state, 2); }
BENCHMARK(BM_RenderIssue);
BENCHMARK(BM_RenderVerify);
BENCHMARK(BM_RenderStatus);

}  // namespace

BENCHMARK_MAIN();
