#include "uptake/loadgen/engine.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <fmt/format.h>
#include <sys/prctl.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <cerrno>
#include <ctime>

#include <algorithm>
#include <array>
#include <functional>
#include <future>
#include <latch>
#include <limits>
#include <memory>
#include <mutex>
#include <optional>
#include <system_error>
#include <thread>

#include "connection.hpp"
#include "connection_pool.hpp"
#include "deferred_reads.hpp"
#include "interval_encoder.hpp"
#include "uptake/base/input_error.hpp"
#include "uptake/loadgen/cookie_jar.hpp"
#include "uptake/loadgen/histogram_log.hpp"
#include "uptake/loadgen/pacer.hpp"
#include "uptake/loadgen/redirect.hpp"
#include "uptake/loadgen/response_parser.hpp"

namespace uptake::loadgen {

namespace net = boost::asio;
using tcp = net::ip::tcp;
namespace ssl = net::ssl;
using Clock = std::chrono::steady_clock;
using client::Connection;
using client::kShownBodyBytes;
using client::Pending;
using client::Reply;
using client::Session;

// A journey's session on one thread: its walk through the chain and the values it captured.
struct client::Session {
  Session(const CapturePool& shared, const RequestPlan& plan, const Target& target)
      : values(plan.variable_names.size(), 1), cookies(target.host, target.tls) {
    values.fall_back_to(&shared, &plan.session_scoped);
  }
  std::uint64_t number = 0;  // its arrival's number in the unsharded schedule
  std::optional<sim::SessionWalk> walk;
  CapturePool values;        // the variables it captures: one value each, its own
  CookieJar cookies;         // with RequestPlan::cookies: what the target set, sent back
  std::uint64_t requests = 0;
};

namespace {

// A failed answer for people: its status, endpoint and the start of its body, with anything
// unprintable (and line breaks) shown as '.', so that it fits on one line of a report.
std::string shown_body(std::string_view body) {
  constexpr std::size_t kShown = kShownBodyBytes;
  std::string shown;
  for (const char c : body.substr(0, kShown)) shown += (static_cast<unsigned char>(c) >= 0x20 && static_cast<unsigned char>(c) < 0x7f) ? c : '.';
  if (body.size() > kShown) shown += "...";
  return shown;
}

// Environment values are never shown: a target may echo the request that carried them.
std::string describe_failed_answer(int status, std::string_view body, const std::string& endpoint, const RequestPlan& plan) {
  const auto shown = shown_body(body);
  auto described = fmt::format("HTTP {} on {}{}{}", status, endpoint, shown.empty() ? "" : ": ", shown);
  redact_environment(plan, described);
  return described;
}

std::int64_t nanoseconds_between(Clock::time_point from, Clock::time_point to) {
  return std::max<std::int64_t>(0, std::chrono::duration_cast<std::chrono::nanoseconds>(to - from).count());
}

// The open-loop pacing timer of one thread: a timerfd of its own, waited on through the
// io_context as a socket is. Asio's steady_timer shares one timerfd among all of a thread's
// timers and resets it whenever the earliest of them changes and again after each expiry: two
// timerfd_settime calls per wake-up, each about 7.5 µs on a virtual machine, which at high rates
// was most of an open-loop request's CPU. This one is set once per wake-up, and not at all when
// the time it waits for has not changed.
class WakeUpTimer {
 public:
  WakeUpTimer(net::io_context& io, std::function<void()> on_wake) : descriptor_(io), on_wake_(std::move(on_wake)) {
    const int fd = ::timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);  // steady_clock's clock
    if (fd < 0) throw std::system_error(errno, std::generic_category(), "timerfd_create");
    descriptor_.assign(fd);
  }
  // Calls on_wake once at `when` (at once when it has passed); a later call replaces the time.
  void wake_at(Clock::time_point when) {
    if (waiting_ && when == armed_) return;
    // A zero time would disarm the timer: the clock's first nanosecond stands for "now".
    const auto ns = std::max<std::int64_t>(1, std::chrono::duration_cast<std::chrono::nanoseconds>(when.time_since_epoch()).count());
    itimerspec spec{};
    spec.it_value.tv_sec = static_cast<time_t>(ns / 1'000'000'000);
    spec.it_value.tv_nsec = static_cast<long>(ns % 1'000'000'000);
    ::timerfd_settime(descriptor_.native_handle(), TFD_TIMER_ABSTIME, &spec, nullptr);
    armed_ = when;
    if (waiting_) return;
    waiting_ = true;
    descriptor_.async_wait(net::posix::stream_descriptor::wait_read, [this](const boost::system::error_code& ec) {
      waiting_ = false;
      if (ec) return;
      std::uint64_t expirations = 0;  // read, so that the descriptor is not ready until the next expiry
      [[maybe_unused]] const auto read = ::read(descriptor_.native_handle(), &expirations, sizeof expirations);
      on_wake_();
    });
  }
  void cancel() {
    const itimerspec disarmed{};
    ::timerfd_settime(descriptor_.native_handle(), 0, &disarmed, nullptr);
    boost::system::error_code ignored;
    descriptor_.cancel(ignored);
  }

 private:
  net::posix::stream_descriptor descriptor_;
  std::function<void()> on_wake_;
  Clock::time_point armed_;
  bool waiting_ = false;
};

// CPU seconds the calling thread has used.
double thread_cpu_seconds() {
  timespec now{};
  ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
  return static_cast<double>(now.tv_sec) + static_cast<double>(now.tv_nsec) / 1e9;
}

// The most requests one wake-up sends before the thread reads the answers that came meanwhile:
// after a stall (another thread took the core), the requests due meanwhile go in a burst, and a
// connection whose answer arrived during the burst must be free for the rest of it, or they
// wait for a connection although the target keeps up.
constexpr int kLongestBurst = 8;
// With DeferredReads, how long the thread may sleep while answers are out.
constexpr auto kDeferredLook = std::chrono::milliseconds(1);
// During the warm-up, how often a thread looks for a stop.
constexpr auto kWarmUpStopPoll = std::chrono::milliseconds(50);
// After a stop, how long a thread may spend counting the unsent rest of its schedule.
constexpr auto kUnsentCountBudget = std::chrono::seconds(1);

// A whole answer, as the warm-up keeps it.
struct Answer {
  int status = 0;
  std::string head;
  std::string body;
};

// The warm-up's end of a connection: one request at a time, its answer kept whole. The run's own
// connections carry it, so the warm-up speaks the run's protocol with the same parser and
// bounds, while the worker's pool, counters and results never see it.
class WarmUpOwner final : public client::ConnectionOwner {
 public:
  WarmUpOwner(const EngineOptions& options, const std::vector<tcp::endpoint>& endpoints) : options_(options), endpoints_(endpoints) {}
  // Before each exchange.
  void start(bool head_request) {
    head_request_ = head_request;
    answer.reset();
    done = false;
  }

  const Target& target() const override { return options_.target; }
  const std::vector<tcp::endpoint>& endpoints() const override { return endpoints_; }
  Seconds connect_timeout() const override { return options_.connect_timeout; }
  Seconds request_timeout() const override { return options_.request_timeout; }
  bool is_head_request(const Pending&) const override { return head_request_; }
  std::size_t kept_body_bytes(const Pending&) const override { return std::numeric_limits<std::size_t>::max(); }  // captures read it
  void connection_opened() override {}
  void connection_lost(const std::shared_ptr<Connection>&) override {}
  void finished(std::unique_ptr<Pending>, Clock::time_point, const Reply& reply, const std::shared_ptr<Connection>&) override {
    if (reply.status) answer = Answer{reply.status, std::string(reply.head), std::string(reply.body)};
    done = true;
  }
  void retry(std::unique_ptr<Pending>) override { done = true; }  // the warm-up tries its next request instead
  void room_opened(const std::shared_ptr<Connection>&) override {}
  void describe_failure(std::string) override {}

  std::optional<Answer> answer;
  bool done = false;

 private:
  const EngineOptions& options_;
  const std::vector<tcp::endpoint>& endpoints_;
  bool head_request_ = false;
};

class Worker final : public client::ConnectionOwner {
 public:
  Worker(const EngineOptions& options, const RequestPlan& plan, unsigned index, unsigned connection_cap,
         std::vector<tcp::endpoint> endpoints, const std::atomic<bool>& aborted)
      : options_(options),
        aborted_(aborted),
        plan_(plan),
        index_(index),
        endpoints_(std::move(endpoints)),
        start_timer_(io_),
        wake_up_(io_, [this] {
          if (!deferred_) send_due();  // else it only woke run_deferred()
        }),
        tick_timer_(io_),
        sweep_timer_(io_),
        pool_(connection_cap, [this] { return new_connection(); }),
        random_(options.seed * 0x9e3779b97f4a7c15ULL + index + 1),
        captures_(plan.variable_names.size()) {
    if (options.target.tls) tls_ = client::make_tls_context(options.http2);
    for (const auto& endpoint : plan.endpoints) {
      result_.endpoints.emplace_back();
      result_.endpoints.back().name = endpoint.endpoint;
    }
    result_.endpoint_intervals.resize(plan.endpoints.size());
    errors_by_endpoint_.resize(plan.endpoints.size());
    current_interval_histograms_.assign(plan.endpoints.size() + 1, make_latency_histogram());
    interval_encoder_ = std::make_unique<IntervalEncoder>(current_interval_histograms_);
  }

  RunResult& result() { return result_; }
  // This thread's figures as of its last tick, and at its end its final ones (only for
  // --abort-on-fail and live metrics): copied on this thread, read by the calling thread.
  LiveFigures published_figures() {
    const std::lock_guard lock(published_mutex_);
    return published_;
  }
  std::atomic<std::uint64_t>& completed_counter() { return completed_; }
  std::atomic<std::uint64_t>& error_counter() { return error_count_; }
  // Response time p99 of the last whole second this thread completed, for progress lines.
  std::int64_t last_second_p99_ns() const { return interval_encoder_->last_second_p99_ns(); }

  // Before the clock starts, on this worker's thread: seed the capture pools.
  void prepare_run() {
    // Linux lets a sleeping thread's timers fire up to 50 us late by default (timer slack) to
    // batch wake-ups; a pacer that aims at sub-millisecond send times asks for the least slack.
    ::prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);
    if (reads_deferred()) deferred_.emplace();  // before the start: it turns on receive timestamps
    if (options_.warmup_requests) warm_up();
  }

  // From the common start (a moment ahead) to the end of the schedule or duration.
  void run(Clock::time_point start) {
    start_ = start;
    const double cpu_at_start = thread_cpu_seconds();
    last_published_at_ = start_;
    last_published_cpu_ = cpu_at_start;
    if (options_.closed_loop) {
      // Closed loop too begins at the start: requests before it would be counted in a run
      // whose duration is measured from it.
      start_timer_.expires_at(start_);
      start_timer_.async_wait([this](const boost::system::error_code& ec) {
        if (ec) return;
        for (unsigned c = 0; c < pool_.cap() * streams_per_connection(); ++c) closed_loop_send();
      });
    } else {
      schedule_.emplace(options_.make_schedule(sim::Shard{index_, static_cast<std::uint32_t>(options_.threads)}));
      sessions_end_ = start_ + std::chrono::duration_cast<Clock::duration>(schedule_->duration());
      pacer_.emplace(*schedule_, start_, options_.pacing, options_.batch_window);
      net::post(io_, [this] { arm(); });
    }
    tick();
    sweep();
    if (deferred_) {
      run_deferred();
      // A connection whose answer is awaited holds itself, as a pending read's handler holds a
      // connection that Asio reads for (requests abandoned after a stop): closed, it lets go.
      for (const auto& weak : live_) {
        if (const auto connection = weak.lock()) connection->shut();
      }
    } else {
      io_.run();
    }
    const double wall = std::chrono::duration<double>(finish_time_ - start_).count();
    busy_fraction_ = wall > 0 ? std::clamp((thread_cpu_seconds() - cpu_at_start) / wall, 0.0, 1.0) : 0.0;
    for (auto& encoded : interval_encoder_->finish()) {
      for (std::size_t series = 0; series < encoded.series.size(); ++series) {
        if (encoded.series[series].empty()) continue;
        row(series == 0 ? result_.intervals : result_.endpoint_intervals[series - 1], encoded.second).response_time = std::move(encoded.series[series]);
      }
    }
  }

  // From the connection: a response arrived (or the request failed).
  void finished(std::unique_ptr<Pending> pending, Clock::time_point sent_at, const Reply& reply, const std::shared_ptr<Connection>& connection) override {
    const auto now = Clock::now();
    const auto answered = reply.received_at.value_or(now);  // what the answer's times run to
    const int status = reply.status;
    const auto head = reply.head;
    const auto body = reply.body;
    auto error = reply.error;
    auto& endpoint = result_.endpoints[pending->endpoint];
    const auto& request = plan_.endpoints[pending->endpoint];
    // Whatever the answer, the session keeps the cookies it sets (a redirect's among them).
    if (status && pending->session && plan_.cookies) pending->session->cookies.store(head, request_target_of(pending->bytes), std::chrono::system_clock::now());
    std::string unfollowed_redirect;
    if (status && request.max_redirects > 0 && is_followed_redirect(status)) {
      const auto next = next_hop_target(options_.target, pending->bytes, status, head, pending->redirects, request.max_redirects, unfollowed_redirect);
      if (next) return follow(std::move(pending), sent_at, status, *next, connection, now);
    }
    if (!unfollowed_redirect.empty()) {
      error = ErrorClass::redirect;
      if (result_.sample_failure.empty()) result_.sample_failure = fmt::format("redirect not followed on {}: {}", request.endpoint, unfollowed_redirect);
    } else if (status) {
      const auto verdict = judge_response(request.checks, status, head, body);
      error = verdict.error;
      if (error == ErrorClass::check_failed && !result_.check_failure) {
        result_.check_failure = RunResult::CheckFailure{request.endpoint, describe_check(request.checks, verdict.failed_check), status, shown_body(body)};
        redact_environment(plan_, result_.check_failure->body);
        if (result_.sample_failure.empty()) {
          result_.sample_failure = fmt::format("check failed on {}: {}; {}", request.endpoint, result_.check_failure->check,
                                               describe_failed_answer(status, body, request.endpoint, plan_));
        }
      }
    }
    if (error && status && result_.sample_failure.empty()) result_.sample_failure = describe_failed_answer(status, body, request.endpoint, plan_);
    if (error) count_error(*error, pending->endpoint, now);
    if (status) {
      ++endpoint.completed;
      tally_in(current_second(), pending->endpoint, &Interval::completed);
      completed_.fetch_add(1, std::memory_order_relaxed);
      const auto response_ns = nanoseconds_between(pending->intended, answered);
      endpoint.response_time.record(response_ns);
      endpoint.service_time.record(nanoseconds_between(pending->redirects ? pending->first_sent : sent_at, answered));
      if (reply.server_time_ns >= 0) endpoint.server_time.record(reply.server_time_ns);
      current_interval_histograms_[0].record(response_ns);
      current_interval_histograms_[1 + pending->endpoint].record(response_ns);
      if (!error) {
        ++endpoint.ok;
        // A session's captures are its own; anything else feeds the thread's pool.
        capture_values(request.captures, head, body, pending->session ? pending->session->values : captures_, capture_scratch_);
      }
    }
    --in_flight_;
    auto* session = pending->session;
    recycle(std::move(pending));
    // Hand the connection the next waiting request, or park it; closed loop, a new request
    // takes the place of the one answered.
    release(connection, now);
    if (options_.closed_loop && !sending_stopped(now)) return closed_loop_send();
    // The session's next step comes a pause after this response, whatever its outcome: a
    // step that needs a value this one failed to capture ends the session then.
    if (session) continue_session(*session, now, now);
    maybe_finish();
  }

  // The next hop of a redirect: the same request (the same intended time, so its response time
  // runs to the last answer), rewritten for where the redirect points, on the same connection
  // when it stays open. It is sent once already: not counted again.
  void follow(std::unique_ptr<Pending> pending, Clock::time_point sent_at, int status, std::string_view next_target,
              const std::shared_ptr<Connection>& connection, Clock::time_point now) {
    redirected_request(pending->bytes, status, next_target, redirect_scratch_);
    std::swap(pending->bytes, redirect_scratch_);
    if (pending->session && plan_.cookies) add_cookie_header(pending->bytes, pending->session->cookies, std::chrono::system_clock::now());
    if (pending->redirects++ == 0) pending->first_sent = sent_at;
    ++result_.endpoints[pending->endpoint].redirects;
    --in_flight_;
    if (connection && connection->free_streams() > 0) return send_on(*connection, std::move(pending), now);
    assign(std::move(pending), now, true);
  }

  // Hands a connection that has room again (an exchange on it ended) the waiting requests it
  // takes, and pools it when room is left.
  void release(const std::shared_ptr<Connection>& connection, Clock::time_point now) {
    if (!connection) {
      // The connection closed under a waiting queue: open another for it.
      if (pool_.has_waiting() && pool_.can_open()) assign(pool_.take_waiting(), now, true);
      return;
    }
    while (pool_.has_waiting() && connection->free_streams() > 0) send_on(*connection, pool_.take_waiting(), now);
    pool_.sent_on(connection);
  }

  // What the connections ask of their owner (client::ConnectionOwner).
  const Target& target() const override { return options_.target; }
  const std::vector<tcp::endpoint>& endpoints() const override { return endpoints_; }
  Seconds connect_timeout() const override { return options_.connect_timeout; }
  Seconds request_timeout() const override { return options_.request_timeout; }
  bool is_head_request(const Pending& pending) const override {
    return plan_.endpoints[pending.endpoint].head_method;
  }
  // How much of a response body to keep: all of it where captures or checks read it, else only
  // what a failure's description shows (one more byte tells it there was more). Keeping every
  // body would let each connection hold the largest one it ever read.
  std::size_t kept_body_bytes(const Pending& pending) const override {
    return plan_.endpoints[pending.endpoint].reads_body() ? std::numeric_limits<std::size_t>::max() : kShownBodyBytes + 1;
  }
  void connection_opened() override { ++result_.connections_opened; }
  void connection_lost(const std::shared_ptr<Connection>& connection) override {
    // A closed connection leaves the pool; the next request may open a new one.
    pool_.lost(connection);
  }
  void retry(std::unique_ptr<Pending> pending) override {
    --in_flight_;
    assign(std::move(pending), Clock::now(), true);
  }
  void room_opened(const std::shared_ptr<Connection>& connection) override {
    release(connection, Clock::now());
  }
  void describe_failure(std::string description) override {
    if (result_.sample_failure.empty()) result_.sample_failure = std::move(description);
  }
  unsigned streams_per_connection() const { return options_.http2 ? std::max(1u, options_.streams) : 1u; }
  // A connection of the run's protocol, reporting to `owner`; its answers read when `deferred`
  // says, if given.
  std::shared_ptr<Connection> open_connection(client::ConnectionOwner& owner, client::DeferredReads* deferred = nullptr) {
    return options_.http2 ? client::make_http2_connection(owner, io_, tls_.get(), streams_per_connection())
                          : client::make_http1_connection(owner, io_, tls_.get(), deferred);
  }
  std::shared_ptr<Connection> new_connection() {
    auto connection = open_connection(*this, deferred_ ? &*deferred_ : nullptr);
    live_.push_back(connection);
    return connection;
  }

 private:
  std::size_t second_of(Clock::time_point when) const {
    return static_cast<std::size_t>(std::max<std::int64_t>(0, nanoseconds_between(start_, when) / 1'000'000'000));
  }
  static Interval& row(std::vector<Interval>& series, std::size_t second) {
    if (series.size() <= second) series.resize(second + 1);
    return series[second];
  }
  // Counts one event in its second, for the whole run and for its endpoint.
  void tally(Clock::time_point when, std::uint32_t endpoint, std::uint64_t Interval::*field) { tally_in(second_of(when), endpoint, field); }
  void tally_in(std::size_t second, std::uint32_t endpoint, std::uint64_t Interval::*field) {
    ++(row(result_.intervals, second).*field);
    ++(row(result_.endpoint_intervals[endpoint], second).*field);
  }

  std::unique_ptr<Pending> take_buffer() {
    if (free_.empty()) return std::make_unique<Pending>();
    auto pending = std::move(free_.back());
    free_.pop_back();
    pending->session = nullptr;
    pending->redirects = 0;
    pending->counted_sent = false;
    pending->retried = false;
    return pending;
  }
  void recycle(std::unique_ptr<Pending> pending) { free_.push_back(std::move(pending)); }

  bool prepare(Pending& pending) {
    int missing = -1;
    auto negative_case = NegativeCase::none;
    auto problem = RenderProblem::missing_capture;
    const auto& values = pending.session ? pending.session->values : captures_;
    if (render_request(plan_.endpoints[pending.endpoint], plan_, values, random_, pending.sequence, body_scratch_, pending.bytes, missing,
                       &negative_case, &problem)) {
      if (pending.session && plan_.cookies) add_cookie_header(pending.bytes, pending.session->cookies, std::chrono::system_clock::now());
      auto& endpoint = result_.endpoints[pending.endpoint];
      if (negative_case == NegativeCase::tampered) ++endpoint.tampered;
      else if (negative_case == NegativeCase::revoked) ++endpoint.revoked;
      return true;
    }
    count_error(problem == RenderProblem::unsafe_value ? ErrorClass::unsafe_value : ErrorClass::missing_capture, pending.endpoint, Clock::now());
    return false;
  }

  // The one place a failure is counted: by class, for its endpoint, in its second's row, and
  // for the live progress line.
  void count_error(ErrorClass error, std::uint32_t endpoint, Clock::time_point when) {
    if (result_.sample_failure.empty()) result_.sample_failure = fmt::format("{} on {}", to_string(error), plan_.endpoints[endpoint].endpoint);
    ++result_.errors[static_cast<std::size_t>(error)];
    ++result_.endpoints[endpoint].errors;
    ++errors_by_endpoint_[endpoint][static_cast<std::size_t>(error)];
    tally(when, endpoint, &Interval::errors);
    error_count_.fetch_add(1, std::memory_order_relaxed);
  }

  // One warm-up request of `request`'s flow, its redirects followed as the run follows them
  // (with a cookie jar of its own): the head and body of the last answer when `request`'s checks
  // pass it (without checks: 2xx or 3xx), or nothing. warm_up_answer_status_ and
  // warm_up_answer_start_ describe the last answer for a failure's message.
  std::optional<Answer> warm_up_exchange(const std::string& request_bytes, const EndpointRequest& request) {
    warm_up_answer_status_ = 0;
    CookieJar cookies(options_.target.host, options_.target.tls);
    std::string bytes = request_bytes;
    for (int hops = 0;; ++hops) {
      auto answer = exchange(bytes, request.head_method);
      if (!answer) return std::nullopt;
      warm_up_answer_status_ = answer->status;
      warm_up_answer_start_.assign(std::string_view(answer->body).substr(0, kShownBodyBytes + 1));
      if (request.max_redirects == 0 || !is_followed_redirect(answer->status)) {
        if (judge_response(request.checks, answer->status, answer->head, answer->body).error) return std::nullopt;
        return answer;
      }
      std::string problem;
      const auto next = next_hop_target(options_.target, bytes, answer->status, answer->head, hops, request.max_redirects, problem);
      if (!next) return std::nullopt;  // a redirect the run could not follow either
      const auto now = std::chrono::system_clock::now();
      cookies.store(answer->head, request_target_of(bytes), now);
      redirected_request(bytes, answer->status, *next, redirect_scratch_);
      bytes = redirect_scratch_;
      add_cookie_header(bytes, cookies, now);
    }
  }

  // One request and its response, synchronously, on a connection of its own: warm-up only,
  // before the measured run. Returns any complete answer, or nothing (no connection, no answer,
  // a stop). The run's own client carries it (the same protocol, parser and bounds), on the
  // worker's io_context, which is not yet running.
  std::optional<Answer> exchange(const std::string& request_bytes, bool head_request) {
    warm_up_owner_.start(head_request);
    auto pending = std::make_unique<Pending>();
    pending->bytes = request_bytes;
    pending->intended = Clock::now();
    auto connection = open_connection(warm_up_owner_);
    connection->send(std::move(pending));
    // Until the exchange is over, or a stop: a stop during the warm-up must not wait for the
    // connect and request time-outs. The deadlines are the connection's own, checked as the
    // run's sweep checks them; the last one is a guard against a connection that never reports.
    const auto give_up = Clock::now() + std::chrono::duration_cast<Clock::duration>(options_.connect_timeout + options_.request_timeout) +
                         std::chrono::seconds(1);
    while (!warm_up_owner_.done) {
      io_.restart();
      io_.run_for(kWarmUpStopPoll);
      if (warm_up_owner_.done) break;
      const auto now = Clock::now();
      connection->expire_if_due(now);
      if (stopped() || now >= give_up) connection->shut();
      if (now >= give_up + kWarmUpStopPoll) break;
    }
    connection->shut();
    io_.restart();
    io_.poll();  // the handlers the shut ended
    io_.restart();
    return std::move(warm_up_owner_.answer);
  }

  // Seeds the capture pools: a few requests of every endpoint that captures, one at a time,
  // before the measured run begins. Where an endpoint's negative paths need revoked values, the
  // value captured from a response is revoked at once with the revoke flow, rendered from that
  // same response's captures, and kept in the revoked pool.
  void warm_up() {
    std::vector<const NegativeRule*> revoking;
    for (const auto& request : plan_.endpoints) {
      if (request.negative.revoke_request >= 0) revoking.push_back(&request.negative);
    }
    CapturePool response_captures(plan_.variable_names.size(), 1);
    std::string warm_up_bytes;
    std::vector<std::string> last_answer(plan_.endpoints.size());  // per endpoint, described: for unfilled_capture
    for (std::uint32_t e = 0; e < plan_.endpoints.size() && !stopped(); ++e) {
      const auto& captures = plan_.endpoints[e].captures;
      if (captures.empty()) continue;
      // The revoking rules whose variable this endpoint captures.
      std::vector<const NegativeRule*> revokes_here;
      for (const auto* rule : revoking) {
        if (std::any_of(captures.begin(), captures.end(), [&](const CaptureRule& capture) { return capture.variable == rule->variable; })) revokes_here.push_back(rule);
      }
      const unsigned requests = options_.warmup_requests * (revokes_here.empty() ? 1 : 2);
      for (unsigned i = 0; i < requests && !stopped(); ++i) {
        auto pending = take_buffer();
        pending->endpoint = e;
        pending->sequence = ~0ULL - i;
        const bool rendered = prepare(*pending);
        const auto answer = rendered ? warm_up_exchange(pending->bytes, plan_.endpoints[e]) : std::nullopt;
        recycle(std::move(pending));
        if (rendered && warm_up_answer_status_) last_answer[e] = describe_failed_answer(warm_up_answer_status_, warm_up_answer_start_, plan_.endpoints[e].endpoint, plan_);
        if (!answer) break;
        capture_values(captures, answer->head, answer->body, response_captures, capture_scratch_);
        // Every other response seeds the revoked pools instead of the normal ones: a revoked
        // value must never be sent as a normal one.
        const bool revoke_this = !revokes_here.empty() && i % 2 == 1;
        for (const auto& capture : captures) {
          const bool revoked_variable = revoke_this && std::any_of(revokes_here.begin(), revokes_here.end(), [&](const NegativeRule* rule) { return rule->variable == capture.variable; });
          if (!revoked_variable && response_captures.size(capture.variable)) captures_.put(capture.variable, *response_captures.pick(capture.variable, random_));
        }
        if (!revoke_this) continue;
        for (const auto* rule : revokes_here) {
          int missing = -1;
          const auto& revoke = plan_.warm_up_requests[static_cast<std::size_t>(rule->revoke_request)];
          if (!render_request(revoke, plan_, response_captures, random_, ~0ULL - i, body_scratch_, warm_up_bytes, missing)) continue;
          if (warm_up_exchange(warm_up_bytes, revoke)) captures_.put(rule->revoked_variable, *response_captures.pick(rule->variable, random_));
        }
      }
    }
    if (!stopped()) warm_up_failure_ = unfilled_capture(last_answer);
    result_.errors.fill(0);
    for (auto& endpoint : result_.endpoints) endpoint.errors = endpoint.tampered = endpoint.revoked = endpoint.redirects = 0;
    for (auto& counts : errors_by_endpoint_) counts.fill(0);
    error_count_ = 0;
    result_.sample_failure.clear();
  }

  // Where a capture reads an answer, for people: "at JSON pointer /credential", "from header
  // Location", "by regex from the body".
  static std::string where_captured(const CaptureRule& capture) {
    if (!capture.header.empty()) return fmt::format("from header {}{}", capture.header, capture.regex ? " by regex" : "");
    if (capture.regex) return "by regex from the body";
    return "at JSON pointer " + capture.json_pointer;
  }

  // After the warm-up: a capture that a flow needs and that none of the answers filled, named
  // with its pointer and an answer of the endpoint that should have filled it. Every request of
  // that flow would fail as missing_capture for the whole run. A target that never answered is
  // left to the run's own verdict (unreachable: exit 3).
  std::optional<InputError> unfilled_capture(const std::vector<std::string>& last_answer) const {
    for (const auto& needing : plan_.endpoints) {
      for (const int variable : needing.needs) {
        if (captures_.size(variable)) continue;
        for (std::size_t e = 0; e < plan_.endpoints.size(); ++e) {
          for (const auto& capture : plan_.endpoints[e].captures) {
            if (capture.variable != variable || last_answer[e].empty()) continue;
            const auto& name = plan_.variable_names[static_cast<std::size_t>(variable)];
            const auto& endpoint = plan_.endpoints[e].endpoint;
            return InputError({}, fmt::format("flows.{}.capture.{}", endpoint, name),
                              fmt::format("the warm-up captured nothing {} of {}'s answers, and flow {} needs {{{{{}}}}}; "
                                          "the run stopped before its measured part. The last answer: {}",
                                          where_captured(capture), endpoint, needing.endpoint, name, last_answer[e]),
                              fmt::format("a pointer to a value that {}'s successful answers hold, or a target that answers {} as the scenario expects", endpoint, endpoint));
          }
        }
      }
    }
    return std::nullopt;
  }

  // Open loop: sleep until the next intended send time (of the schedule's next arrival or of a
  // session's next step), as the pacer says, then send everything that is due.
  void arm() {
    if (stopped()) return notice_stop(Clock::now());
    if (!pacer_->has_arrivals()) schedule_done_ = true;
    const auto wake_up = pacer_->wake_up(Clock::now());
    if (!wake_up) {
      armed_for_ = Clock::time_point::max();
      deferred_wake_.reset();
      return maybe_finish();
    }
    armed_for_ = wake_up->at;
    if (deferred_) {
      deferred_wake_ = wake_up->at;
      return;
    }
    if (!wake_up->poll) return wake_up_.wake_at(wake_up->at);
    // Spin pacing, close to the send: each poll is a posted handler, so responses are still
    // read between polls; one poll at a time.
    if (poll_posted_) return;
    poll_posted_ = true;
    net::post(io_, [this] {
      poll_posted_ = false;
      send_due();
    });
  }

  // Answers are read at the send wake-ups (DeferredReads) in open loop with sleep pacing over
  // plain HTTP/1.1, where nothing is sent because of an answer: journeys send a session's next
  // step after an answer, and redirects their next hop, so they read answers as they come.
  bool reads_deferred() const {
    if (options_.closed_loop || options_.pacing != Pacing::sleep || options_.http2 || options_.target.tls || plan_.sessions) return false;
    return std::none_of(plan_.endpoints.begin(), plan_.endpoints.end(), [](const auto& endpoint) { return endpoint.max_redirects > 0; });
  }

  // The thread's loop with DeferredReads: sleep until the next send is due, read the answers
  // that came meanwhile (a connection they free takes a request at once), run what Asio has
  // ready, then send what is due. While answers are out, it looks at least every kDeferredLook,
  // so that a run's last answers, its timeouts and its ticks are not held up by a distant send.
  // Asio is asked (an epoll round) only when it may have something: a connection's operation
  // under way, or a timer of this worker due; else the loop would spend a syscall per wake-up
  // on nothing. The sweep's timer comes due ten times a second, so nothing else Asio holds
  // waits longer.
  void run_deferred() {
    while (!finished_) {
      auto now = Clock::now();
      if (!deferred_wake_ || *deferred_wake_ > now) {
        wait_deferred(now);
        now = Clock::now();
      }
      deferred_->read_ready();
      if (deferred_->io_under_way() || now >= std::min(tick_timer_.expiry(), sweep_timer_.expiry())) io_.poll();
      if (finished_) break;
      if (deferred_wake_ && *deferred_wake_ <= Clock::now()) {
        deferred_wake_.reset();
        send_due();
      }
    }
  }
  void wait_deferred(Clock::time_point now) {
    if (deferred_->io_under_way() || in_flight_ == 0) {
      // A connect or a write that the socket could not take whole must be followed at once, and
      // with no answer out there is nothing to read: the reactor waits, woken by the timer too.
      if (deferred_wake_) wake_up_.wake_at(*deferred_wake_);
      io_.run_one();
      return;
    }
    const auto until = std::min(deferred_wake_.value_or(Clock::time_point::max()), now + kDeferredLook);
    // Requests waiting for a connection go as soon as an answer frees one, not at the next send.
    if (pool_.has_waiting()) deferred_->wait_for_bytes(until);
    else deferred_->sleep_until(until);
  }

  // Everything that is due goes now, in intended order: a late timer never delays a request
  // twice, and no request goes before its time (no catch-up bursts beyond the schedule). A
  // schedule that comes due faster than it can be sent never lets this loop end by itself: it
  // must see a stop.
  // Before it sleeps, the loop reads the clock once more: at high rates the next request often
  // comes due while the last ones are sent, and a wake-up (a timer set, an epoll round) costs
  // more than sending it now.
  void send_due() {
    auto now = Clock::now();
    bool clock_fresh = true;
    int sent = 0;
    while (!stopped()) {
      const auto due = pacer_->next_due();
      if (!due) break;
      if (*due > now) {
        if (clock_fresh) break;
        now = Clock::now();
        clock_fresh = true;
        continue;
      }
      clock_fresh = false;
      if (sent++ == kLongestBurst) {
        // The answers first (the reactor runs before a handler posted now; run_deferred() reads
        // them before it sends), then the rest.
        if (deferred_) {
          deferred_wake_ = now;
          return;
        }
        return net::post(io_, [this] { send_due(); });
      }
      const auto send = *pacer_->take_due(now);
      if (const auto& arrival = send.arrival) {
        if (plan_.sessions) start_session(*arrival, send.intended, now);
        else dispatch(send.intended, arrival->endpoint, arrival->sequence, nullptr, now);
      } else {
        send_session_step(*static_cast<Session*>(send.step.session), send.step.endpoint, send.intended, now);
      }
    }
    arm();
  }

  // A session arrives: its first request goes at once or after the pause of steps that send
  // nothing; the rest follow its responses (continue_session).
  void start_session(const sim::Arrival& arrival, Clock::time_point arrived, Clock::time_point now) {
    Session* session;
    if (free_sessions_.empty()) {
      sessions_.push_back(std::make_unique<Session>(captures_, plan_, options_.target));
      session = sessions_.back().get();
    } else {
      session = free_sessions_.back();
      free_sessions_.pop_back();
      session->values.clear();
      session->cookies.clear();
    }
    session->number = arrival.sequence;
    session->requests = 0;
    session->walk.emplace(*plan_.sessions, options_.seed, arrival.sequence);
    ++session_counts_.started;
    ++active_sessions_;
    continue_session(*session, arrived, now);
  }

  // The session's next step, a pause after `after`: sent now if due, else queued. A step due
  // after the schedule's end is not sent: the session is counted as unfinished.
  void continue_session(Session& session, Clock::time_point after, Clock::time_point now) {
    sim::SessionVisit visit;
    if (!session.walk->next(visit)) return end_session(session, &SessionCounts::completed);
    const auto at = after + std::chrono::duration_cast<Clock::duration>(visit.think);
    if (at >= sessions_end_ || stopped()) return end_session(session, &SessionCounts::unfinished);
    if (at <= now) return send_session_step(session, visit.endpoint, at, now);
    pacer_->add_step({at, &session, visit.endpoint});
    if (at < armed_for_) arm();
  }

  void send_session_step(Session& session, std::uint32_t endpoint, Clock::time_point intended, Clock::time_point now) {
    if (session.requests + 1 >= (1ULL << kSessionRequestBits)) return end_session(session, &SessionCounts::unfinished);
    dispatch(intended, endpoint, (session.number << kSessionRequestBits) | session.requests++, &session, now);
  }

  void end_session(Session& session, std::uint64_t SessionCounts::*how) {
    ++(session_counts_.*how);
    --active_sessions_;
    free_sessions_.push_back(&session);
  }

  void dispatch(Clock::time_point intended, std::uint32_t endpoint, std::uint64_t sequence, Session* session, Clock::time_point now) {
    result_.schedule_lag.record(nanoseconds_between(intended, now));
    auto pending = take_buffer();
    pending->intended = intended;
    pending->endpoint = endpoint;
    pending->sequence = sequence;
    pending->session = session;
    ++result_.endpoints[endpoint].planned;
    tally(intended, endpoint, &Interval::planned);
    if (!prepare(*pending)) {
      recycle(std::move(pending));
      // A step that lacks a value its session should have captured cannot go on.
      if (session) end_session(*session, &SessionCounts::abandoned);
      return;
    }
    assign(std::move(pending), now, false);
  }

  // A request onto a connection with room (the one pooled last first), a new one, or (every
  // connection full) the waiting queue: the wait is part of its response time. A redirect's
  // next hop (`first`) waits at the front, as its request came before those queued.
  void assign(std::unique_ptr<Pending> pending, Clock::time_point now, bool first) {
    if (const auto connection = pool_.connection_for_next(now)) {
      send_on(*connection, std::move(pending), now);
      return pool_.sent_on(connection);
    }
    ++result_.waited_for_connection;
    pool_.wait(std::move(pending), first);
  }

  // Closed loop: one more request, at once, on the connection free first.
  void closed_loop_send() {
    const auto now = Clock::now();
    if (sending_stopped(now)) return maybe_finish();
    auto pending = take_buffer();
    pending->intended = now;  // closed loop: there is no schedule, the send is its own intent
    pending->endpoint = 0;
    pending->sequence = closed_loop_sequence_++;
    ++result_.endpoints[0].planned;
    tally(now, 0, &Interval::planned);
    if (!prepare(*pending)) return recycle(std::move(pending));
    assign(std::move(pending), now, false);
  }

  // The one place a request is counted as sent: when a connection takes its first hop, on its
  // first try. A request still waiting for a connection when a stop comes was planned but never
  // sent.
  void send_on(Connection& connection, std::unique_ptr<Pending> pending, Clock::time_point now) {
    if (!pending->counted_sent) {
      pending->counted_sent = true;
      ++result_.endpoints[pending->endpoint].sent;
      tally(now, pending->endpoint, &Interval::sent);
    }
    ++in_flight_;
    connection.send(std::move(pending));
  }

  bool stopped() const { return (options_.stop && options_.stop->load()) || aborted_.load(std::memory_order_relaxed); }

  // Once a second and at the end, for --abort-on-fail and live metrics: a copy of what the
  // calling thread may judge and serve.
  void publish_figures(Clock::time_point now) {
    const double cpu = thread_cpu_seconds();
    const double wall = std::chrono::duration<double>(now - last_published_at_).count();
    const double busy = wall > 0 ? std::clamp((cpu - last_published_cpu_) / wall, 0.0, 1.0) : 0.0;
    last_published_at_ = now;
    last_published_cpu_ = cpu;
    const std::lock_guard lock(published_mutex_);
    auto& to = published_;
    to.endpoints.resize(result_.endpoints.size());
    for (std::size_t e = 0; e < result_.endpoints.size(); ++e) {
      const auto& from = result_.endpoints[e];
      auto& endpoint = to.endpoints[e];
      endpoint.name = from.name;
      static_cast<RequestCounts&>(endpoint) = from;
      endpoint.redirects = from.redirects;
      endpoint.response_time.reset();
      endpoint.response_time.add(from.response_time);
      if (!options_.on_live_figures) continue;  // --abort-on-fail alone reads response times only
      endpoint.service_time.reset();
      endpoint.service_time.add(from.service_time);
    }
    if (!options_.on_live_figures) return;
    to.errors = errors_by_endpoint_;
    to.schedule_lag.reset();
    to.schedule_lag.add(result_.schedule_lag);
    to.in_flight = in_flight_ + static_cast<std::int64_t>(pool_.waiting());
    to.open_connections = pool_.open_connections();
    to.busiest_thread_fraction = busy;
    to.elapsed_seconds = std::max(0.0, std::chrono::duration<double>(now - start_).count());
  }
  bool publishes() const { return options_.abort_when || options_.on_live_figures; }
  bool sending_stopped(Clock::time_point now) const {
    return stopped() || (options_.closed_loop && now - start_ >= std::chrono::duration_cast<Clock::duration>(options_.closed_loop_duration));
  }

  void maybe_finish() {
    if (stopped()) {
      // A stop ends the sessions between steps, and drops the requests still waiting for a
      // connection: they were never sent.
      while (pacer_ && pacer_->has_steps()) end_session(*static_cast<Session*>(pacer_->pop_step().session), &SessionCounts::unfinished);
    }
    const bool done_sending = options_.closed_loop ? sending_stopped(Clock::now()) : schedule_done_ && !pacer_->has_steps();
    if (!done_sending) return;
    if (stopped()) {
      while (pool_.has_waiting()) {
        auto pending = pool_.take_waiting();
        if (pending->session) end_session(*pending->session, &SessionCounts::unfinished);
        recycle(std::move(pending));
      }
    }
    if (in_flight_ > 0 || pool_.has_waiting()) return;
    finish();
  }

  void finish() {
    // Once: a stop seen while a session's next step is queued may lead here twice.
    if (finished_) return;
    finished_ = true;
    finish_time_ = Clock::now();
    if (plan_.sessions) {
      // Sessions whose request was still in flight when the drain after a stop ran out.
      result_.sessions = session_counts_;
      result_.sessions->unfinished += active_sessions_;
    }
    flush_interval_histogram();
    if (publishes()) publish_figures(finish_time_);  // the final figures: what the results hold
    start_timer_.cancel();
    wake_up_.cancel();
    tick_timer_.cancel();
    sweep_timer_.cancel();
    io_.stop();
  }

  // A stop (SIGINT): sending ends at once; the rest of the schedule still counts as planned (an
  // interrupted run must not look like a whole one of fewer requests); the requests in flight
  // get kStopDrain to finish. Past it they are abandoned: counted as sent, neither completed
  // nor failed, so a target that stopped answering cannot hold the stop for the whole timeout.
  void notice_stop(Clock::time_point now) {
    if (!stop_noticed_) {
      stop_noticed_ = now;
      if (!options_.closed_loop && !schedule_done_) {
        wake_up_.cancel();
        deferred_wake_.reset();
        count_unsent_rest();
        schedule_done_ = true;
      }
      return maybe_finish();
    }
    if (now - *stop_noticed_ >= kStopDrain) finish();
  }

  // The arrivals of this thread's schedule that a stop left unsent, counted as planned in their
  // seconds. Counting costs about as much per arrival as drawing it did, so it has a budget: a
  // day-long schedule stopped in its first minute is counted for a second at most, and the
  // planned count is then marked as a lower bound.
  void count_unsent_rest() {
    const auto budget_end = Clock::now() + kUnsentCountBudget;
    for (std::uint64_t counted = 1;; ++counted) {
      const auto rest = pacer_->take_arrival();
      if (!rest) break;
      const auto& [when, arrival] = *rest;
      if (plan_.sessions) {
        // An arrival of a session: its requests are drawn only as it runs, so it is counted as a
        // session, and the planned requests become a lower bound.
        ++session_counts_.not_started;
        result_.planned_is_lower_bound = true;
      } else {
        ++result_.endpoints[arrival.endpoint].planned;
        tally(when, arrival.endpoint, &Interval::planned);
      }
      if (pacer_->has_arrivals() && counted % 4096 == 0 && Clock::now() >= budget_end) {
        result_.planned_is_lower_bound = true;
        return;
      }
    }
  }

  // Once a second: close the current interval's histogram (compressed, so memory stays flat).
  void tick() {
    const auto next = start_ + std::chrono::seconds(++ticks_);
    tick_timer_.expires_at(next);
    tick_timer_.async_wait([this](const boost::system::error_code& ec) {
      if (ec) return;
      flush_interval_histogram();
      if (publishes()) publish_figures(Clock::now());
      if (options_.closed_loop) maybe_finish();
      tick();
    });
  }

  // A request that has waited for a free connection as long as the request timeout fails,
  // unsent, as wait_timeout: its answer could only have come later than --timeout allows. This
  // keeps the queue of a target that stopped answering to the rate times the timeout, where it
  // would otherwise grow for the whole run. The queue is in intended order, so the oldest lead.
  void expire_waiting(Clock::time_point now) {
    bool expired = false;
    while (pool_.has_waiting() && now - pool_.oldest_waiting().intended >= options_.request_timeout) {
      auto pending = pool_.take_waiting();
      count_error(ErrorClass::wait_timeout, pending->endpoint, now);
      auto* session = pending->session;
      recycle(std::move(pending));
      if (session) continue_session(*session, now, now);  // as after a failed answer
      expired = true;
    }
    if (expired) maybe_finish();  // the last of the schedule may have been among them
  }


  // Ten times a second: connections past their deadline are closed (timeouts without a timer
  // per request), requests that waited too long for one fail, idle connections the server has
  // closed leave the pool (it is used last in, first out, so the one at its bottom may sit
  // unused, holding a socket the peer closed, for as long as the load is light), and
  // connections that are gone leave the list.
  void sweep() {
    sweep_timer_.expires_after(std::chrono::milliseconds(100));
    sweep_timer_.async_wait([this](const boost::system::error_code& ec) {
      if (ec) return;
      const auto now = Clock::now();
      if (stopped()) notice_stop(now);
      if (io_.stopped()) return;
      pool_.drop_closed(now);
      expire_waiting(now);
      std::erase_if(live_, [now](const std::weak_ptr<Connection>& weak) {
        const auto connection = weak.lock();
        if (connection) connection->expire_if_due(now);
        return !connection;
      });
      sweep();
    });
  }

  // The second whose histograms are being filled: the tick that closes it is armed for
  // start + ticks_ seconds. Completions are counted in it too, so that each second's count and
  // histogram agree even when a tick runs a little late.
  std::size_t current_second() const { return static_cast<std::size_t>(std::max<std::int64_t>(0, ticks_ - 1)); }

  void flush_interval_histogram() {
    const auto second = current_second();
    const bool any = std::any_of(current_interval_histograms_.begin(), current_interval_histograms_.end(),
                                 [](const HdrHistogram& histogram) { return histogram.total_count() > 0; });
    if (any) interval_encoder_->submit(second, current_interval_histograms_);
  }

 public:
  Clock::time_point finish_time_;
  double busy_fraction_ = 0;  // this thread's CPU time over its wall time, from the start
  std::optional<InputError> warm_up_failure_;  // unfilled_capture's finding: the run must not start

 private:
  const EngineOptions& options_;
  const std::atomic<bool>& aborted_;  // set by the calling thread: --abort-on-fail decided
  std::mutex published_mutex_;
  LiveFigures published_;
  Clock::time_point last_published_at_;
  double last_published_cpu_ = 0;
  std::vector<std::array<std::uint64_t, kErrorClassCount>> errors_by_endpoint_;  // for live metrics
  const RequestPlan& plan_;
  unsigned index_;
  std::vector<tcp::endpoint> endpoints_;
  // Only this worker's thread runs it (the calling thread touches no handler of it): with the
  // concurrency hint 1, work it posts to itself goes on a private queue instead of waking the
  // reactor through an epoll_ctl call each time.
  net::io_context io_{1};
  // Open loop, sleep pacing, plain HTTP/1.1: answers read at the send wake-ups. Before the pool:
  // its connections name it.
  std::optional<client::DeferredReads> deferred_;
  std::unique_ptr<ssl::context> tls_;
  net::steady_timer start_timer_;   // closed loop: the common start
  WakeUpTimer wake_up_;             // open loop: the next intended send time
  net::steady_timer tick_timer_;
  net::steady_timer sweep_timer_;
  std::vector<std::weak_ptr<Connection>> live_;  // every connection opened, for the sweep
  // The connections, and the requests waiting for room on one. After io_ (and tls_): its
  // connections' sockets must go before the io_context they are registered with.
  client::ConnectionPool pool_;
  Random random_;
  CapturePool captures_;
  std::string body_scratch_;
  std::string capture_scratch_;
  std::string redirect_scratch_;       // a redirect's next request, built here, then swapped in
  // The warm-up's exchanges report here, not to the worker. A member, not a local: a
  // connection's last handlers may still name it after its exchange.
  WarmUpOwner warm_up_owner_{options_, endpoints_};
  int warm_up_answer_status_ = 0;      // the last warm-up exchange's status (0: no answer) and the start of its body
  std::string warm_up_answer_start_;
  RunResult result_;
  std::vector<HdrHistogram> current_interval_histograms_;  // [0]: the whole run; [1 + e]: endpoint e
  std::unique_ptr<IntervalEncoder> interval_encoder_;       // compresses each second's set off this thread
  std::optional<sim::ArrivalSchedule> schedule_;
  std::optional<Pacer> pacer_;          // open loop: what is due, and when to wake up
  bool schedule_done_ = false;
  std::optional<Clock::time_point> stop_noticed_;  // when this thread first saw the stop flag
  Clock::time_point start_;
  std::int64_t ticks_ = 0;
  std::vector<std::unique_ptr<Pending>> free_;
  // Sessions (journeys): all this thread ever made, and the ones free for reuse (the steps
  // waiting for their intended time are the pacer's).
  std::vector<std::unique_ptr<Session>> sessions_;
  std::vector<Session*> free_sessions_;
  std::uint64_t active_sessions_ = 0;
  SessionCounts session_counts_;
  Clock::time_point sessions_end_ = Clock::time_point::max();  // the schedule's end: no step goes after it
  Clock::time_point armed_for_ = Clock::time_point::max();     // what the dispatch timer waits for
  std::optional<Clock::time_point> deferred_wake_;             // with deferred_: when send_due() is next due
  bool poll_posted_ = false;                                   // spin pacing: a poll is queued
  bool finished_ = false;
  std::int64_t in_flight_ = 0;
  std::uint64_t closed_loop_sequence_ = 0;
  std::atomic<std::uint64_t> completed_{0};
  std::atomic<std::uint64_t> error_count_{0};
};

std::vector<tcp::endpoint> resolve(const Target& target) {
  net::io_context io;
  tcp::resolver resolver(io);
  boost::system::error_code ec;
  const auto results = resolver.resolve(target.host, std::to_string(target.port), ec);
  if (ec || results.empty()) {
    throw InputError({}, "target", fmt::format("cannot resolve '{}': {}", target.host, ec ? ec.message() : "no address"), "a reachable host name or address");
  }
  std::vector<tcp::endpoint> endpoints;
  for (const auto& entry : results) endpoints.push_back(entry.endpoint());
  return endpoints;
}

}  // namespace

// Adds one thread's per-second series into the merged one: counters add, histograms add.
static void merge_intervals(std::vector<Interval>& into_series, const std::vector<Interval>& from_series) {
  if (into_series.size() < from_series.size()) into_series.resize(from_series.size());
  for (std::size_t i = 0; i < from_series.size(); ++i) {
    auto& into = into_series[i];
    const auto& from = from_series[i];
    into += from;
    if (from.response_time.empty()) continue;
    auto histogram = decode_compressed(from.response_time);
    if (!into.response_time.empty()) histogram.add(decode_compressed(into.response_time));
    into.response_time = encode_compressed(histogram);
  }
}

sim::ArrivalSchedule schedule_for(const RequestPlan& plan, const sim::RateModel& model, const sim::ReplayWindow& window, std::uint64_t seed, sim::Shard shard) {
  return sim::ArrivalSchedule(model, plan.sessions ? sim::session_window(window, *plan.sessions) : window, seed, shard);
}

RunResult run_engine(const EngineOptions& options, const RequestPlan& plan) {
  const auto endpoints = resolve(options.target);
  const unsigned threads = std::max(1u, options.threads);
  std::atomic<bool> aborted{false};
  std::vector<std::unique_ptr<Worker>> workers;
  for (unsigned t = 0; t < threads; ++t) {
    const unsigned cap = options.connections / threads + (t < options.connections % threads ? 1 : 0);
    workers.push_back(std::make_unique<Worker>(options, plan, t, cap, endpoints, aborted));
  }
  // Every thread warms up first (as long as its target takes); then one common start a little
  // ahead, so every thread's schedule begins at the same instant and no warm-up eats into it.
  std::latch warmed_up(static_cast<std::ptrdiff_t>(threads));
  std::promise<Clock::time_point> start_promise;
  std::shared_future<Clock::time_point> start_future = start_promise.get_future().share();
  std::vector<std::thread> running;
  for (auto& worker : workers) {
    running.emplace_back([&worker, &warmed_up, start_future] {
      worker->prepare_run();
      warmed_up.count_down();
      worker->run(start_future.get());
    });
  }
  warmed_up.wait();
  // A capture the warm-up never filled would fail every request that needs it, for the whole
  // run: the workers stop from a start that sends nothing, and the error says why.
  for (auto& worker : workers) {
    if (!worker->warm_up_failure_) continue;
    aborted = true;
    start_promise.set_value(Clock::now());
    for (auto& thread : running) thread.join();
    throw InputError(*worker->warm_up_failure_);
  }
  const auto start = Clock::now() + std::chrono::milliseconds(50);
  const auto started_at = std::chrono::system_clock::now() + (start - Clock::now());
  start_promise.set_value(start);

  // Progress, about once a second, until every worker is done.
  std::atomic<bool> done{false};
  std::thread waiter([&] {
    for (auto& thread : running) thread.join();
    done = true;
  });
  std::uint64_t last_completed = 0;
  int polls = 0;
  const double total_seconds = options.closed_loop ? options.closed_loop_duration.count() : 0;
  std::optional<AbortReason> abort_reason;
  double aborted_at = 0;
  while (!done) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    if (++polls % 5) continue;
    const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
    if (options.abort_when && !abort_reason && elapsed >= options.abort_after.count()) {
      LiveFigures so_far;
      for (auto& worker : workers) so_far.add(worker->published_figures());
      if (!so_far.endpoints.empty() && (abort_reason = options.abort_when(so_far.endpoints))) {
        aborted_at = elapsed;
        aborted = true;
      }
    }
    if (options.on_live_figures) {
      LiveFigures live;
      for (auto& worker : workers) live.add(worker->published_figures());
      if (!live.endpoints.empty()) options.on_live_figures(live);
    }
    if (!options.on_progress) continue;
    Progress progress;
    progress.elapsed_seconds = elapsed;
    progress.total_seconds = total_seconds;
    for (auto& worker : workers) {
      progress.completed += worker->completed_counter().load();
      progress.errors += worker->error_counter().load();
      // The largest of the threads' p99s: exact with one thread, an upper bound with more.
      progress.p99_ms = std::max(progress.p99_ms, static_cast<double>(worker->last_second_p99_ns()) / 1e6);
    }
    progress.rate = static_cast<double>(progress.completed - last_completed);
    last_completed = progress.completed;
    options.on_progress(progress);
  }
  waiter.join();

  RunResult merged;
  merged.target = options.target.to_string();
  merged.closed_loop = options.closed_loop;
  merged.pacing = options.pacing;
  merged.batch_window = options.batch_window;
  merged.protocol = !options.http2 ? "http/1.1" : options.target.tls ? "h2" : "h2c";
  merged.streams_per_connection = options.http2 ? std::max(1u, options.streams) : 1u;
  merged.started_at = started_at;
  merged.interrupted = options.stop && options.stop->load();
  if (abort_reason) {
    merged.aborted_threshold = abort_reason->threshold;
    merged.aborted_reason = abort_reason->reason;
    merged.aborted_at_seconds = aborted_at;
  }
  Clock::time_point finish = start;
  for (auto& worker : workers) {
    auto& part = worker->result();
    merged.planned_is_lower_bound = merged.planned_is_lower_bound || part.planned_is_lower_bound;
    finish = std::max(finish, worker->finish_time_);
    merged.busiest_thread_fraction = std::max(merged.busiest_thread_fraction, worker->busy_fraction_);
    if (merged.endpoints.empty()) {
      merged.endpoints = part.endpoints;
    } else {
      for (std::size_t e = 0; e < part.endpoints.size(); ++e) merged.endpoints[e].add(part.endpoints[e]);
    }
    merged.schedule_lag.add(part.schedule_lag);
    for (std::size_t i = 0; i < merged.errors.size(); ++i) merged.errors[i] += part.errors[i];
    if (merged.sample_failure.empty()) merged.sample_failure = part.sample_failure;
    if (!merged.check_failure) merged.check_failure = part.check_failure;
    merged.waited_for_connection += part.waited_for_connection;
    if (part.sessions) {
      if (!merged.sessions) merged.sessions.emplace();
      merged.sessions->add(*part.sessions);
    }
    merged.connections_opened += part.connections_opened;
    merge_intervals(merged.intervals, part.intervals);
    merged.endpoint_intervals.resize(part.endpoint_intervals.size());
    for (std::size_t e = 0; e < part.endpoint_intervals.size(); ++e) merge_intervals(merged.endpoint_intervals[e], part.endpoint_intervals[e]);
  }
  merged.duration_seconds = std::chrono::duration<double>(finish - start).count();
  if (options.on_live_figures) {
    // Each thread published its last figures as it finished: together, what the result holds.
    LiveFigures last;
    for (auto& worker : workers) last.add(worker->published_figures());
    last.elapsed_seconds = merged.duration_seconds;
    last.busiest_thread_fraction = merged.busiest_thread_fraction;
    last.finished = true;
    options.on_live_figures(last);
  }
  return merged;
}

}  // namespace uptake::loadgen
