#include "uptake/ecert/server.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/ssl.hpp>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <fmt/format.h>

#include <atomic>
#include <chrono>
#include <list>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "uptake/base/input_error.hpp"

namespace uptake::ecert {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;

namespace {

namespace ssl = net::ssl;

// A self-signed certificate for 127.0.0.1 and localhost, made in memory at start-up, so that
// `--tls` works without any files; clients must skip verification (curl -k, wrk does).
std::pair<std::string, std::string> self_signed_pair() {
  EVP_PKEY* key = EVP_EC_gen("P-256");
  X509* certificate = X509_new();
  X509_set_version(certificate, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(certificate), static_cast<long>(std::time(nullptr)));
  X509_gmtime_adj(X509_getm_notBefore(certificate), -3600);
  X509_gmtime_adj(X509_getm_notAfter(certificate), 30L * 24 * 3600);
  X509_set_pubkey(certificate, key);
  X509_NAME* name = X509_get_subject_name(certificate);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("uptake-ecert"), -1, -1, 0);
  X509_set_issuer_name(certificate, name);
  X509_sign(certificate, key, EVP_sha256());
  auto to_pem = [](auto write) {
    BIO* bio = BIO_new(BIO_s_mem());
    write(bio);
    char* data = nullptr;
    const long length = BIO_get_mem_data(bio, &data);
    std::string pem(data, static_cast<std::size_t>(length));
    BIO_free(bio);
    return pem;
  };
  auto certificate_pem = to_pem([&](BIO* bio) { PEM_write_bio_X509(bio, certificate); });
  auto key_pem = to_pem([&](BIO* bio) { PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr); });
  X509_free(certificate);
  EVP_PKEY_free(key);
  return {certificate_pem, key_pem};
}

// The connections open now, so that when descriptors run out the one that has waited longest
// for a request (idle, or trickling one in) can make room for a fresh client instead of every
// newcomer waiting in the backlog for a timeout.
class ConnectionRegistry {
 public:
  class Member {
   public:
    virtual ~Member() = default;
    // Any thread: ends the connection on its own strand, at once, then posts `then` (with its
    // descriptor free by then).
    virtual void evict(std::function<void()> then) = 0;
    // Keeps the member alive while it is evicted; empty when it is already being destroyed.
    virtual std::shared_ptr<Member> lock() = 0;

    // Steady-clock nanoseconds since which the connection has waited for a request; 0 while one
    // is being answered (then it is not a candidate).
    std::atomic<std::int64_t> waiting_since{0};
    std::list<Member*>::iterator place;
  };

  void add(Member& member) {
    std::lock_guard lock(mutex_);
    member.place = members_.insert(members_.end(), &member);
  }
  void remove(Member& member) {
    std::lock_guard lock(mutex_);
    members_.erase(member.place);
  }

  // Evicts the connection that has waited longest and runs `then` once it is closed; false
  // (and `then` not run) when none waits.
  bool evict_longest_waiting(std::function<void()> then) {
    std::shared_ptr<Member> chosen;
    {
      std::lock_guard lock(mutex_);
      Member* longest = nullptr;
      std::int64_t longest_since = 0;
      for (Member* member : members_) {
        const auto since = member->waiting_since.load(std::memory_order_relaxed);
        if (since != 0 && (longest == nullptr || since < longest_since)) longest = member, longest_since = since;
      }
      // A member whose last owner is gone waits here, in its destructor, to be removed: lock()
      // then gives nothing, and it is not touched again.
      if (longest != nullptr) chosen = longest->lock();
    }
    if (!chosen) return false;
    chosen->waiting_since.store(0, std::memory_order_relaxed);
    chosen->evict(std::move(then));
    return true;
  }

 private:
  std::mutex mutex_;
  std::list<Member*> members_;
};

std::int64_t steady_nanoseconds() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// What a request head must satisfy beyond what the parser checks, or why it is refused.
struct Refusal {
  int status;
  const char* code;
  std::string message;
};

std::optional<Refusal> check_head(const http::request_parser<http::string_body>& parser) {
  const auto& head = parser.get();
  // RFC 9112 3.2: exactly one Host in HTTP/1.1.
  const auto hosts = head.count(http::field::host);
  if (head.version() >= 11 && hosts != 1) {
    return Refusal{400, "bad_request", hosts == 0 ? "an HTTP/1.1 request needs a Host header" : "a request may have one Host header only"};
  }
  // RFC 9112 6.3: a body's length must have one reading, or a body could run as the next request.
  if (head.find(http::field::transfer_encoding) != head.end()) {
    if (head.version() < 11) return Refusal{400, "bad_request", "Transfer-Encoding is not allowed in HTTP/1.0"};
    if (head.find(http::field::content_length) != head.end()) {
      return Refusal{400, "bad_request", "a request may not have both Transfer-Encoding and Content-Length"};
    }
    if (!parser.chunked()) return Refusal{400, "bad_request", "the last transfer coding must be chunked"};
    std::size_t codings = 0;
    const auto [first, last] = head.equal_range(http::field::transfer_encoding);
    for (auto field = first; field != last; ++field) {
      const http::token_list list(field->value());
      codings += static_cast<std::size_t>(std::distance(list.begin(), list.end()));
    }
    if (codings != 1) return Refusal{501, "not_implemented", "chunked is the only transfer coding the service takes"};
  }
  return std::nullopt;
}

// RFC 9112 3.2.2: a server must take a target in absolute form (http://host/path?query); its
// path and query are what the request is routed by.
std::string origin_form(std::string_view target) {
  const auto scheme_end = target.find("://");
  if (target.empty() || target.front() == '/' || scheme_end == std::string_view::npos) return std::string(target);
  const auto scheme = target.substr(0, scheme_end);
  if (!beast::iequals(scheme, "http") && !beast::iequals(scheme, "https")) return std::string(target);
  const auto path = target.find_first_of("/?", scheme_end + 3);
  if (path == std::string_view::npos) return "/";
  return target[path] == '/' ? std::string(target.substr(path)) : "/" + std::string(target.substr(path));
}

// One connection: read a request, hand it to the service, write its answer, repeat while the
// client keeps the connection alive. Every step is one handler; errors end the connection.
//
// The read loop is this class's own rather than http::async_read, for three things that loop
// cannot do: the idle timeout runs until a request's first byte and the request deadline from
// there (a client that trickles its head in is cut off after request_timeout); the head is
// checked before the body is read (smuggling, 100-continue); and the read buffer has a bound,
// so that no request part the parser has no limit for (a chunk line, a trailer) can grow it.
template <class Stream>
class Session : public ConnectionRegistry::Member, public std::enable_shared_from_this<Session<Stream>> {
 public:
  static constexpr bool kTls = !std::is_same_v<Stream, beast::tcp_stream>;
  // Bytes asked of the socket per read.
  static constexpr std::size_t kReadChunk = 16 * 1024;

  Session(tcp::socket socket, Service& service, const ServerOptions& options, ssl::context* tls, ConnectionRegistry& registry)
      : stream_(make_stream(std::move(socket), tls)),
        buffer_(options.header_limit + kReadChunk),
        service_(service),
        options_(options),
        registry_(registry) {
    waiting_since.store(steady_nanoseconds(), std::memory_order_relaxed);
    registry_.add(*this);
  }
  ~Session() override { registry_.remove(*this); }

  void start() {
    if constexpr (kTls) {
      beast::get_lowest_layer(stream_).expires_after(options_.request_timeout);
      stream_.async_handshake(ssl::stream_base::server, [self = this->shared_from_this()](beast::error_code ec) {
        if (ec) return self->close();  // a failed handshake ends only this connection
        self->read_request();
      });
    } else {
      read_request();
    }
  }

  void evict(std::function<void()> then) override {
    net::post(stream_.get_executor(), [self = this->shared_from_this(), then = std::move(then)] {
      self->evicted_ = true;
      self->close();
      then();
    });
  }

  std::shared_ptr<ConnectionRegistry::Member> lock() override { return this->weak_from_this().lock(); }

 private:
  static Stream make_stream(tcp::socket socket, ssl::context* tls) {
    if constexpr (kTls) return Stream(std::move(socket), *tls);
    else return Stream(std::move(socket));
  }

  void read_request() {
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(options_.header_limit));
    parser_->body_limit(options_.body_limit);
    head_checked_ = false;
    if (waiting_since.load(std::memory_order_relaxed) == 0) waiting_since.store(steady_nanoseconds(), std::memory_order_relaxed);
    if (buffer_.size() > 0) {
      // Pipelined: the next request has begun already.
      beast::get_lowest_layer(stream_).expires_after(options_.request_timeout);
      request_begun_ = true;
      return parse();
    }
    beast::get_lowest_layer(stream_).expires_after(options_.idle_timeout);
    request_begun_ = false;
    read_more();
  }

  void read_more() {
    const auto room = buffer_.max_size() - buffer_.size();
    stream_.async_read_some(buffer_.prepare(std::min(room, kReadChunk)), beast::bind_front_handler(&Session::on_bytes, this->shared_from_this()));
  }

  void on_bytes(beast::error_code ec, std::size_t bytes) {
    buffer_.commit(bytes);
    // The peer left, went quiet past its deadline, or was evicted: nothing to answer.
    if (ec) return close();
    if (!request_begun_) {
      request_begun_ = true;
      beast::get_lowest_layer(stream_).expires_after(options_.request_timeout);
    }
    parse();
  }

  void parse() {
    while (buffer_.size() > 0 && !parser_->is_done()) {
      beast::error_code ec;
      const auto used = parser_->put(buffer_.data(), ec);
      buffer_.consume(used);
      if (ec == http::error::need_more) break;
      if (ec) return refuse_unreadable(ec);
      if (parser_->is_header_done() && !head_checked_) {
        head_checked_ = true;
        if (auto refusal = check_head(*parser_)) return refuse(std::move(*refusal));
        parser_->eager(true);
        if (expects_continue()) return write_continue();
      }
      if (used == 0) break;
    }
    if (parser_->is_done()) return on_request();
    if (buffer_.size() == buffer_.max_size()) {
      // The parser still needs more of one part (a head, a chunk line, a trailer) than fits.
      return refuse({431, "header_too_large", fmt::format("a request head, chunk line or trailer exceeds {} bytes", options_.header_limit)});
    }
    read_more();
  }

  // RFC 9110 10.1.1: a client that sent `Expect: 100-continue` waits for 100 before its body;
  // unless the body has begun to arrive already.
  bool expects_continue() const {
    const auto& head = parser_->get();
    const auto expect = head.find(http::field::expect);
    return expect != head.end() && beast::iequals(expect->value(), "100-continue") && head.version() >= 11 && !parser_->is_done() &&
           buffer_.size() == 0;
  }

  void write_continue() {
    static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
    net::async_write(stream_, net::buffer(kContinue.data(), kContinue.size()), [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
      if (ec) return self->close();
      self->parse();
    });
  }

  void refuse_unreadable(beast::error_code ec) {
    if (ec == http::error::body_limit) return refuse({413, "body_too_large", fmt::format("the body exceeds {} bytes", options_.body_limit)});
    if (ec == http::error::header_limit) return refuse({431, "header_too_large", fmt::format("the header exceeds {} bytes", options_.header_limit)});
    refuse({400, "bad_request", fmt::format("malformed HTTP request: {}", ec.message())});
  }

  // The request could not be taken: answer once, then close (its framing cannot be trusted).
  void refuse(Refusal refusal) {
    waiting_since.store(0, std::memory_order_relaxed);
    service_.count_refused(refusal.status);
    keep_alive_ = false;
    write(Service::error_response(refusal.status, refusal.code, refusal.message), 11);
  }

  void on_request() {
    waiting_since.store(0, std::memory_order_relaxed);
    auto request = parser_->release();
    keep_alive_ = request.keep_alive();
    version_ = request.version();
    // A stuck service must not hold the connection open for ever either.
    beast::get_lowest_layer(stream_).expires_never();
    // Server-Timing (W3C): the service's own time for the request, from the moment it was read
    // whole to the answer, so that a client can tell it from the network's and its own.
    const auto received = std::chrono::steady_clock::now();
    service_.handle({std::string(request.method_string()), origin_form(request.target()), std::move(request.body())},
                    [self = this->shared_from_this(), received](HttpResponse response) {
                      const std::chrono::duration<double, std::milli> took = std::chrono::steady_clock::now() - received;
                      response.headers.emplace_back("Server-Timing", fmt::format("app;dur={:.3f}", took.count()));
                      // The service may answer from another thread: come back to this connection's strand.
                      net::post(self->stream_.get_executor(), [self, response = std::move(response)]() mutable {
                        self->write(std::move(response), self->version_);
                      });
                    });
  }

  void write(HttpResponse response, unsigned version) {
    auto message = std::make_shared<http::response<http::string_body>>(static_cast<http::status>(response.status), version);
    message->set(http::field::server, "uptake-ecert");
    message->set(http::field::content_type, response.content_type);
    for (const auto& [name, value] : response.headers) message->set(name, value);
    message->keep_alive(keep_alive_);
    message->body() = std::move(response.body);
    message->prepare_payload();
    beast::get_lowest_layer(stream_).expires_after(options_.request_timeout);
    http::async_write(stream_, *message, [self = this->shared_from_this(), message](beast::error_code ec, std::size_t) {
      if (ec || !self->keep_alive_ || self->evicted_) return self->close();
      self->read_request();
    });
  }

  void close() {
    waiting_since.store(0, std::memory_order_relaxed);
    if constexpr (kTls) {
      // An evicted connection's descriptor is wanted now: no close_notify exchange for it.
      if (!closing_ && !evicted_) {
        closing_ = true;
        beast::get_lowest_layer(stream_).expires_after(std::chrono::seconds(2));
        stream_.async_shutdown([self = this->shared_from_this()](beast::error_code) { beast::get_lowest_layer(self->stream_).close(); });
        return;
      }
      beast::get_lowest_layer(stream_).close();
    } else {
      beast::error_code ignored;
      stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
      stream_.close();
    }
  }

  Stream stream_;
  bool closing_ = false;
  bool evicted_ = false;
  bool request_begun_ = false;  // a byte of the current request has arrived: its deadline runs
  bool head_checked_ = false;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  Service& service_;
  const ServerOptions& options_;
  ConnectionRegistry& registry_;
  bool keep_alive_ = true;
  unsigned version_ = 11;
};

}  // namespace

struct HttpServer::Impl {
  ServerOptions options;
  ConnectionRegistry connections;  // before io: the sessions its destruction ends remove themselves
  net::io_context io;
  std::unique_ptr<Service> service;
  // The acceptor, its back-off and the shutdown that closes it share a strand: accepts are
  // retried from a session's thread after an eviction, and Asio objects are not thread-safe.
  net::strand<net::io_context::executor_type> accept_strand{net::make_strand(io)};
  tcp::acceptor acceptor{accept_strand};
  net::steady_timer accept_backoff{accept_strand};  // after an accept failed for want of descriptors
  net::signal_set signals{io};
  bool stopping_on_signals = false;  // SIGINT and SIGTERM are waited for (stop_on_signals)
  std::atomic<bool> stopping{false};
  std::unique_ptr<ssl::context> tls;

  Impl(ServerOptions o, ServiceConfig service_config) : options(std::move(o)) {
    if (options.tls) configure_tls();
    service = std::make_unique<Service>(std::move(service_config), [this](std::chrono::nanoseconds delay, std::function<void()> task) {
      auto timer = std::make_shared<net::steady_timer>(io, delay);
      timer->async_wait([timer, task = std::move(task)](beast::error_code) { task(); });
    });
    beast::error_code ec;
    const auto address = net::ip::make_address(options.host, ec);
    if (ec) throw InputError({}, "--listen", fmt::format("'{}' is not an IP address", options.host), "an address such as 127.0.0.1 or ::1");
    const tcp::endpoint endpoint{address, options.port};
    acceptor.open(endpoint.protocol(), ec);
    if (!ec) acceptor.set_option(net::socket_base::reuse_address(true), ec);
    if (!ec) acceptor.bind(endpoint, ec);
    if (!ec) acceptor.listen(net::socket_base::max_listen_connections, ec);
    if (ec) throw InputError({}, "--listen", fmt::format("cannot listen on {}:{}: {}", options.host, options.port, ec.message()), "a free port on a local address");
  }

  void configure_tls() {
    tls = std::make_unique<ssl::context>(ssl::context::tls_server);
    tls->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 | ssl::context::no_tlsv1 |
                     ssl::context::no_tlsv1_1);
    beast::error_code ec;
    if (options.tls_certificate.empty() != options.tls_key.empty()) {
      throw InputError({}, "--tls-cert/--tls-key", "only one of the two was given", "both a certificate and its key, or neither (a self-signed pair)");
    }
    if (options.tls_certificate.empty()) {
      const auto [certificate, key] = self_signed_pair();
      tls->use_certificate_chain(net::buffer(certificate), ec);
      if (!ec) tls->use_private_key(net::buffer(key), ssl::context::pem, ec);
      if (ec) throw InputError({}, "--tls", "the self-signed certificate could not be made: " + ec.message());
      return;
    }
    tls->use_certificate_chain_file(options.tls_certificate, ec);
    if (ec) throw InputError({options.tls_certificate, 0, 0}, "--tls-cert", "is not a usable PEM certificate chain: " + ec.message(), "a PEM file");
    tls->use_private_key_file(options.tls_key, ssl::context::pem, ec);
    if (ec) throw InputError({options.tls_key, 0, 0}, "--tls-key", "is not a usable PEM private key for the certificate: " + ec.message(), "a PEM file");
  }

  void accept() {
    acceptor.async_accept(net::make_strand(io), [this](beast::error_code ec, tcp::socket socket) {
      if (ec == net::error::operation_aborted || !acceptor.is_open()) return;
      if (!ec) {
        socket.set_option(tcp::no_delay(true), ec);
        if (tls) std::make_shared<Session<beast::ssl_stream<beast::tcp_stream>>>(std::move(socket), *service, options, tls.get(), connections)->start();
        else std::make_shared<Session<beast::tcp_stream>>(std::move(socket), *service, options, nullptr, connections)->start();
      } else if (ec == net::error::no_descriptors || ec == beast::errc::too_many_files_open_in_system || ec == net::error::no_buffer_space ||
                 ec == net::error::no_memory) {
        // Out of descriptors or memory: the pending connection stays in the backlog, so the
        // listener stays readable and an immediate retry would spin a core. Close the
        // connection that has waited longest for a request and take the newcomer in its place;
        // with none waiting (all busy), wait for sessions to end and free some.
        // The next accept waits for that close, so that one newcomer costs one connection.
        if (connections.evict_longest_waiting([this] {
              net::post(accept_strand, [this] {
                if (acceptor.is_open()) accept();
              });
            })) {
          return;
        }
        accept_backoff.expires_after(std::chrono::milliseconds(50));
        accept_backoff.async_wait([this](beast::error_code wait_ec) {
          if (!wait_ec && acceptor.is_open()) accept();
        });
        return;
      }
      // A client that vanished before it was accepted: keep accepting the others.
      accept();
    });
  }

  // Runs the event loop until it stops. A handler that throws (a fault not foreseen) ends only
  // the connection it served, whose last owner was that handler; the loop goes on for the rest.
  void run_loop() {
    while (true) {
      try {
        io.run();
        return;
      } catch (const std::exception& error) {
        fmt::print(stderr, "uptake serve: a connection ended on an unexpected error: {}\n", error.what());
      }
    }
  }

  // Stop accepting, let in-flight requests finish (bounded), commit, then end the loop.
  void begin_shutdown() {
    if (stopping.exchange(true)) return;
    net::post(accept_strand, [this] {
      beast::error_code ignored;
      acceptor.close(ignored);
      accept_backoff.cancel();
      signals.cancel(ignored);
      auto deadline = std::chrono::steady_clock::now() + options.drain_timeout;
      auto timer = std::make_shared<net::steady_timer>(io);
      auto wait = std::make_shared<std::function<void()>>();
      *wait = [this, timer, wait, deadline] {
        if (service->in_flight() == 0 || std::chrono::steady_clock::now() >= deadline) {
          // A moment for the last answers to be written before the loop ends.
          timer->expires_after(std::chrono::milliseconds(50));
          timer->async_wait([this, wait](beast::error_code) {
            service->close();
            io.stop();
            *wait = nullptr;  // break the self-reference
          });
          return;
        }
        timer->expires_after(std::chrono::milliseconds(5));
        timer->async_wait([wait](beast::error_code) { (*wait)(); });
      };
      (*wait)();
    });
  }
};

HttpServer::HttpServer(ServerOptions options, ServiceConfig service) : impl_(std::make_unique<Impl>(std::move(options), std::move(service))) {}

HttpServer::~HttpServer() = default;

std::uint16_t HttpServer::port() const { return impl_->acceptor.local_endpoint().port(); }

void HttpServer::stop() { impl_->begin_shutdown(); }

void HttpServer::stop_on_signals() {
  auto& impl = *impl_;
  if (impl.stopping_on_signals) return;
  impl.stopping_on_signals = true;
  impl.signals.add(SIGINT);
  impl.signals.add(SIGTERM);
  impl.signals.async_wait([this](beast::error_code ec, int) {
    if (!ec) stop();
  });
}

void HttpServer::run(bool handle_signals) {
  auto& impl = *impl_;
  if (handle_signals) stop_on_signals();
  impl.accept();
  const unsigned threads = impl.options.threads ? impl.options.threads : std::max(1u, std::thread::hardware_concurrency());
  std::vector<std::thread> workers;
  try {
    for (unsigned i = 1; i < threads; ++i) workers.emplace_back([&impl] { impl.run_loop(); });
  } catch (const std::system_error& error) {
    // The threads already running must be stopped and joined: destroying a joinable thread
    // aborts the process.
    impl.io.stop();
    for (auto& worker : workers) worker.join();
    impl.service->close();
    throw InputError({}, "--threads", fmt::format("could not start {} threads ({})", threads, error.what()),
                     "fewer threads, within the system's limit");
  }
  impl.run_loop();
  for (auto& worker : workers) worker.join();
  impl.service->close();
}

}  // namespace uptake::ecert
