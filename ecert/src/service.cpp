#include "uptake/ecert/service.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <deque>
#include <mutex>
#include <random>

#include "uptake/base/civil_time.hpp"
#include "uptake/base/random.hpp"
#include "uptake/ecert/credential.hpp"
#include "uptake/ecert/store.hpp"

namespace uptake::ecert {
namespace {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

enum Endpoint : std::size_t { issue, verify, get, revoke, healthz, metrics, other, endpoint_count };

// The status codes the service answers with, for the metrics' fixed counters.
constexpr std::array<int, 11> kStatuses{200, 201, 400, 404, 405, 408, 409, 413, 431, 500, 503};
// Latency histogram bucket bounds in seconds (Prometheus `le`), plus +Inf.
constexpr std::array<double, 14> kLatencyBounds{0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};

std::size_t status_index(int status) {
  for (std::size_t i = 0; i < kStatuses.size(); ++i) {
    if (kStatuses[i] == status) return i;
  }
  return kStatuses.size() - 2;  // anything unexpected counts as 500
}

struct EndpointMetrics {
  std::array<std::atomic<std::uint64_t>, kStatuses.size()> responses{};
  std::array<std::atomic<std::uint64_t>, kLatencyBounds.size() + 1> latency_buckets{};
  std::atomic<std::uint64_t> latency_count{0};
  std::atomic<std::uint64_t> latency_sum_ns{0};
};

std::string random_id() {
  // Per thread, seeded from the system: ids must not repeat across restarts.
  thread_local Random random(std::random_device{}() ^ (static_cast<std::uint64_t>(std::random_device{}()) << 32));
  return fmt::format("{:016x}{:016x}", random(), random());
}

// A station of `workers` servers with a FIFO queue: the synthetic stand-in for an endpoint's work.
class Station {
 public:
  Station(ServiceTimeDistribution distribution, unsigned workers, std::uint64_t seed)
      : distribution_(std::move(distribution)), workers_(workers), random_(seed) {}

  // Runs `finish` once a server is free and the drawn service time has passed.
  void enter(const ScheduleAfter& schedule_after, std::function<void()> finish) {
    std::unique_lock lock(mutex_);
    if (busy_ >= workers_) {
      waiting_.push_back(std::move(finish));
      return;
    }
    ++busy_;
    const auto delay = draw();
    lock.unlock();
    start(schedule_after, delay, std::move(finish));
  }

  std::size_t queued() const {
    std::lock_guard lock(mutex_);
    return waiting_.size();
  }

 private:
  void start(const ScheduleAfter& schedule_after, std::chrono::nanoseconds delay, std::function<void()> finish) {
    schedule_after(delay, [this, &schedule_after, finish = std::move(finish)] {
      finish();
      std::unique_lock lock(mutex_);
      if (waiting_.empty()) {
        --busy_;
        return;
      }
      auto next = std::move(waiting_.front());
      waiting_.pop_front();
      const auto next_delay = draw();
      lock.unlock();
      start(schedule_after, next_delay, std::move(next));
    });
  }

  // Called with the mutex held: the random stream is shared by the station's servers.
  std::chrono::nanoseconds draw() { return distribution_.draw(random_); }

  ServiceTimeDistribution distribution_;
  unsigned workers_;
  mutable std::mutex mutex_;
  unsigned busy_ = 0;
  std::deque<std::function<void()>> waiting_;
  Random random_;
};

Endpoint endpoint_named(std::string_view name) {
  for (std::size_t e = 0; e < endpoint_count; ++e) {
    if (name == kEndpointNames[e]) return static_cast<Endpoint>(e);
  }
  return other;
}

}  // namespace

struct Service::State {
  ServiceConfig config;
  ScheduleAfter schedule_after;
  SigningKey key;
  CertificateStore store;
  std::array<std::unique_ptr<Station>, endpoint_count> stations;
  std::array<EndpointMetrics, endpoint_count> metrics;
  // Verification outcomes by reason, so that a load test can see that its credentials held.
  static constexpr std::array<const char*, 7> kReasons{"valid", "malformed", "bad_signature", "unknown_key", "expired", "not_yet_valid", "revoked"};
  std::array<std::atomic<std::uint64_t>, kReasons.size()> verifications{};

  void count_verification(std::string_view reason) {
    for (std::size_t i = 0; i < kReasons.size(); ++i) {
      if (reason == kReasons[i]) verifications[i].fetch_add(1, std::memory_order_relaxed);
    }
  }

  State(ServiceConfig c, ScheduleAfter s)
      : config(std::move(c)), schedule_after(std::move(s)), key(SigningKey::load_or_create(config.data_dir)), store(config.data_dir) {
    std::uint64_t seed = config.seed ? config.seed : std::random_device{}();
    for (const auto& synthetic : config.synthetic) {
      stations[endpoint_named(synthetic.endpoint)] = std::make_unique<Station>(synthetic.distribution, config.workers, splitmix64(seed));
    }
    if (!config.now_unix_seconds) {
      config.now_unix_seconds = [] {
        return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
      };
    }
  }

  void record(Endpoint endpoint, int status, Clock::time_point started) {
    auto& m = metrics[endpoint];
    m.responses[status_index(status)].fetch_add(1, std::memory_order_relaxed);
    const auto elapsed = std::chrono::duration<double>(Clock::now() - started).count();
    std::size_t bucket = 0;
    while (bucket < kLatencyBounds.size() && elapsed > kLatencyBounds[bucket]) ++bucket;
    m.latency_buckets[bucket].fetch_add(1, std::memory_order_relaxed);
    m.latency_count.fetch_add(1, std::memory_order_relaxed);
    m.latency_sum_ns.fetch_add(static_cast<std::uint64_t>(elapsed * 1e9), std::memory_order_relaxed);
  }
};

HttpResponse Service::error_response(int status, std::string_view code, std::string_view message) {
  // Messages quote the request (its path, an id), which may hold bytes that are not UTF-8: they
  // are replaced (U+FFFD), as dump() would otherwise throw and take the server down.
  return {status, json{{"error", code}, {"message", message}}.dump(-1, ' ', false, json::error_handler_t::replace), "application/json", {}};
}

Service::Service(ServiceConfig config, ScheduleAfter schedule_after)
    : state_(std::make_unique<State>(std::move(config), std::move(schedule_after))) {}

Service::~Service() { close(); }

void Service::close() { state_->store.close(); }

void Service::count_refused(int status) { state_->record(other, status, Clock::now()); }

namespace {

// Characters (Unicode code points) in UTF-8 text, which the JSON parser has checked: a holder's
// name in Hangul takes three bytes a character, and its limit is stated in characters.
std::size_t characters(std::string_view utf8) {
  return static_cast<std::size_t>(std::count_if(utf8.begin(), utf8.end(), [](char byte) { return (static_cast<unsigned char>(byte) & 0xC0) != 0x80; }));
}

// Reads {"field": "text"} requirements from a request body with a clear answer for each way it
// can be wrong.
std::optional<HttpResponse> required_text(const json& body, const char* field, std::size_t max_length, std::string& out) {
  const auto found = body.find(field);
  if (found == body.end()) return Service::error_response(400, "missing_field", fmt::format("field '{}' is required", field));
  if (!found->is_string()) return Service::error_response(400, "wrong_type", fmt::format("field '{}' must be a string", field));
  out = found->get<std::string>();
  if (out.empty() || characters(out) > max_length) {
    return Service::error_response(400, "invalid_field", fmt::format("field '{}' must have 1 to {} characters", field, max_length));
  }
  return std::nullopt;
}

std::optional<json> parse_object(const std::string& text, HttpResponse& error) {
  auto body = json::parse(text, nullptr, false);
  if (body.is_discarded()) {
    error = Service::error_response(400, "malformed_json", "the request body is not valid JSON");
    return std::nullopt;
  }
  if (!body.is_object()) {
    error = Service::error_response(400, "wrong_type", "the request body must be a JSON object");
    return std::nullopt;
  }
  return body;
}

// A read the store could not make (out of descriptors for its connection, an I/O error): the
// request may well succeed again, so 503 with a hint when to retry, not 500.
HttpResponse store_unavailable(const std::exception& failure) {
  auto response = Service::error_response(503, "store_unavailable", fmt::format("the certificate store cannot be read now: {}", failure.what()));
  response.headers.emplace_back("Retry-After", "1");
  return response;
}

json record_json(const CertificateRecord& record) {
  return {{"id", record.id},
          {"holder", record.holder},
          {"type", record.type},
          {"issued_at", record.issued_at},
          {"expires_at", record.expires_at},
          {"revoked", record.revoked_at.has_value()},
          {"revoked_at", record.revoked_at ? json(*record.revoked_at) : json(nullptr)},
          {"credential", record.credential}};
}

}  // namespace

void Service::handle(HttpRequest request, Respond respond) {
  const auto started = Clock::now();
  in_flight_.fetch_add(1);
  std::string_view path = request.target;
  path = path.substr(0, path.find('?'));

  Endpoint endpoint = other;
  std::string certificate_id;
  std::string_view allowed;
  if (path == "/healthz") endpoint = healthz, allowed = "GET";
  else if (path == "/metrics") endpoint = metrics, allowed = "GET";
  else if (path == "/v1/certificates") endpoint = issue, allowed = "POST";
  else if (path == "/v1/verify") endpoint = verify, allowed = "POST";
  else if (path.rfind("/v1/certificates/", 0) == 0) {
    auto rest = path.substr(17);
    const auto slash = rest.find('/');
    if (slash == std::string_view::npos) {
      endpoint = get, allowed = "GET";
    } else if (rest.substr(slash) == "/revoke") {
      endpoint = revoke, allowed = "POST";
      rest = rest.substr(0, slash);
    }
    if (endpoint != other) certificate_id = std::string(rest);
    if (endpoint != other && (certificate_id.empty() || certificate_id.size() > 64)) endpoint = other;
  }

  // Every answer goes through here: counted, timed, and the in-flight gauge kept true.
  auto finish = [this, endpoint, started, respond = std::move(respond)](HttpResponse response) mutable {
    state_->record(endpoint, response.status, started);
    in_flight_.fetch_sub(1);
    respond(std::move(response));
  };

  if (endpoint == other) return finish(error_response(404, "not_found", fmt::format("no resource at '{}'", path)));
  if (request.method != allowed) {
    auto response = error_response(405, "method_not_allowed", fmt::format("{} takes {}, not {}", path, allowed, request.method));
    response.headers.emplace_back("Allow", std::string(allowed));
    return finish(std::move(response));
  }

  if (auto& station = state_->stations[endpoint]) {
    // Synthetic mode: the endpoint's work is a wait at a station of `workers` servers.
    auto shared_finish = std::make_shared<decltype(finish)>(std::move(finish));
    station->enter(state_->schedule_after, [shared_finish, endpoint] {
      (*shared_finish)({endpoint == issue ? 201 : 200, json{{"synthetic", true}, {"endpoint", kEndpointNames[endpoint]}}.dump(), "application/json", {}});
    });
    return;
  }

  const auto now = state_->config.now_unix_seconds();
  HttpResponse error;
  switch (endpoint) {
    case healthz:
      return finish({200, R"({"status":"ok"})", "application/json", {}});
    case metrics:
      return finish({200, metrics_text(), "text/plain; version=0.0.4", {}});
    case issue: {
      const auto body = parse_object(request.body, error);
      if (!body) return finish(std::move(error));
      CertificateRecord record;
      if (auto problem = required_text(*body, "holder", 128, record.holder)) return finish(std::move(*problem));
      if (auto problem = required_text(*body, "type", 64, record.type)) return finish(std::move(*problem));
      std::int64_t validity = state_->config.default_validity.count();
      if (const auto found = body->find("valid_seconds"); found != body->end()) {
        if (!found->is_number_integer() || found->get<std::int64_t>() < 1 || found->get<std::int64_t>() > 10LL * 366 * 86400) {
          return finish(error_response(400, "invalid_field", "field 'valid_seconds' must be a whole number from 1 to 10 years"));
        }
        validity = found->get<std::int64_t>();
      }
      record.id = random_id();
      record.issued_at = now;
      record.expires_at = now + validity;
      record.credential = sign_credential(state_->key, {record.id, record.holder, record.type, state_->key.key_id(), record.issued_at, record.expires_at});
      auto answer = record_json(record);
      answer.erase("revoked_at");
      // Durable before acknowledged: the answer waits for the group commit that holds the record.
      state_->store.issue_async(std::move(record), [finish = std::move(finish), answer = std::move(answer)](bool committed) mutable {
        if (!committed) return finish(error_response(503, "not_stored", "the certificate could not be stored; nothing was issued"));
        HttpResponse response{201, answer.dump(), "application/json", {}};
        response.headers.emplace_back("Location", "/v1/certificates/" + answer["id"].get<std::string>());
        finish(std::move(response));
      });
      return;
    }
    case verify: {
      const auto body = parse_object(request.body, error);
      if (!body) return finish(std::move(error));
      std::string credential;
      if (auto problem = required_text(*body, "credential", 16384, credential)) return finish(std::move(*problem));
      const auto verification = verify_credential(state_->key, credential, now);
      bool valid = verification.status == VerifyStatus::valid;
      std::string reason = to_string(verification.status);
      bool revoked = false;
      if (valid) {
        try {
          revoked = state_->store.is_revoked(verification.claims.id);
        } catch (const std::exception& failure) {
          return finish(store_unavailable(failure));
        }
      }
      if (revoked) {
        valid = false;
        reason = "revoked";
      }
      state_->count_verification(reason);
      json answer{{"valid", valid}, {"reason", reason}};
      if (!verification.claims.id.empty()) answer["id"] = verification.claims.id;
      return finish({200, answer.dump(), "application/json", {}});
    }
    case get: {
      std::optional<CertificateRecord> record;
      try {
        record = state_->store.find(certificate_id);
      } catch (const std::exception& failure) {
        return finish(store_unavailable(failure));
      }
      if (!record) return finish(error_response(404, "not_found", fmt::format("no certificate '{}'", certificate_id)));
      return finish({200, record_json(*record).dump(), "application/json", {}});
    }
    case revoke: {
      state_->store.revoke_async(certificate_id, now, [finish = std::move(finish), certificate_id](RevokeResult result) mutable {
        switch (result) {
          case RevokeResult::revoked: return finish({200, json{{"id", certificate_id}, {"revoked", true}}.dump(), "application/json", {}});
          case RevokeResult::not_found: return finish(error_response(404, "not_found", fmt::format("no certificate '{}'", certificate_id)));
          case RevokeResult::already_revoked: return finish(error_response(409, "already_revoked", fmt::format("certificate '{}' was already revoked", certificate_id)));
          default: return finish(error_response(503, "not_stored", "the revocation could not be stored"));
        }
      });
      return;
    }
    default:
      return finish(error_response(404, "not_found", "no such resource"));
  }
}

std::string Service::metrics_text() const {
  std::string out;
  out += "# HELP uptake_ecert_responses_total Responses by endpoint and status code.\n# TYPE uptake_ecert_responses_total counter\n";
  for (std::size_t e = 0; e < endpoint_count; ++e) {
    for (std::size_t s = 0; s < kStatuses.size(); ++s) {
      const auto count = state_->metrics[e].responses[s].load(std::memory_order_relaxed);
      if (count) out += fmt::format("uptake_ecert_responses_total{{endpoint=\"{}\",code=\"{}\"}} {}\n", kEndpointNames[e], kStatuses[s], count);
    }
  }
  out += "# HELP uptake_ecert_request_duration_seconds Time from a request's arrival at the service to its answer.\n"
         "# TYPE uptake_ecert_request_duration_seconds histogram\n";
  for (std::size_t e = 0; e < endpoint_count; ++e) {
    const auto& m = state_->metrics[e];
    const auto count = m.latency_count.load(std::memory_order_relaxed);
    if (!count) continue;
    std::uint64_t cumulative = 0;
    for (std::size_t b = 0; b <= kLatencyBounds.size(); ++b) {
      cumulative += m.latency_buckets[b].load(std::memory_order_relaxed);
      const auto bound = b < kLatencyBounds.size() ? fmt::format("{}", kLatencyBounds[b]) : std::string("+Inf");
      out += fmt::format("uptake_ecert_request_duration_seconds_bucket{{endpoint=\"{}\",le=\"{}\"}} {}\n", kEndpointNames[e], bound, cumulative);
    }
    out += fmt::format("uptake_ecert_request_duration_seconds_sum{{endpoint=\"{}\"}} {:.9f}\n", kEndpointNames[e],
                       static_cast<double>(m.latency_sum_ns.load(std::memory_order_relaxed)) * 1e-9);
    out += fmt::format("uptake_ecert_request_duration_seconds_count{{endpoint=\"{}\"}} {}\n", kEndpointNames[e], count);
  }
  out += fmt::format("# HELP uptake_ecert_in_flight_requests Requests received and not yet answered.\n"
                     "# TYPE uptake_ecert_in_flight_requests gauge\nuptake_ecert_in_flight_requests {}\n", in_flight_.load());
  out += "# HELP uptake_ecert_verifications_total Verification answers by reason.\n# TYPE uptake_ecert_verifications_total counter\n";
  for (std::size_t i = 0; i < State::kReasons.size(); ++i) {
    out += fmt::format("uptake_ecert_verifications_total{{reason=\"{}\"}} {}\n", State::kReasons[i], state_->verifications[i].load(std::memory_order_relaxed));
  }
  const auto batches = state_->store.batch_statistics();
  out += fmt::format("# HELP uptake_ecert_commit_batches_total Store commits (group commits), by records per commit.\n"
                     "# TYPE uptake_ecert_commit_batches_total counter\n");
  static constexpr const char* kBuckets[] = {"1", "2-4", "5-16", "17-64", "65+"};
  for (std::size_t b = 0; b < batches.batches_by_size.size() && b < 5; ++b) {
    out += fmt::format("uptake_ecert_commit_batches_total{{size=\"{}\"}} {}\n", kBuckets[b], batches.batches_by_size[b]);
  }
  out += fmt::format("# HELP uptake_ecert_committed_records_total Records written by group commits.\n"
                     "# TYPE uptake_ecert_committed_records_total counter\nuptake_ecert_committed_records_total {}\n", batches.records);
  return out;
}

}  // namespace uptake::ecert
