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

// One connection: read a request, hand it to the service, write its answer, repeat while the
// client keeps the connection alive. Every step is one handler; errors end the connection.
template <class Stream>
class Session : public std::enable_shared_from_this<Session<Stream>> {
 public:
  static constexpr bool kTls = !std::is_same_v<Stream, beast::tcp_stream>;

  Session(tcp::socket socket, Service& service, const ServerOptions& options, ssl::context* tls)
      : stream_(make_stream(std::move(socket), tls)), service_(service), options_(options) {}

  void start() {
    if constexpr (kTls) {
      beast::get_lowest_layer(stream_).expires_after(options_.request_timeout);
      stream_.async_handshake(ssl::stream_base::server, [self = this->shared_from_this()](beast::error_code ec) {
        if (ec) return self->close();  // a failed handshake ends only this connection
        self->read_request(self->options_.idle_timeout);
      });
    } else {
      read_request(options_.idle_timeout);
    }
  }

 private:
  static Stream make_stream(tcp::socket socket, ssl::context* tls) {
    if constexpr (kTls) return Stream(std::move(socket), *tls);
    else return Stream(std::move(socket));
  }

  void read_request(std::chrono::seconds timeout) {
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(options_.header_limit));
    parser_->body_limit(options_.body_limit);
    beast::get_lowest_layer(stream_).expires_after(timeout);
    http::async_read(stream_, buffer_, *parser_, beast::bind_front_handler(&Session::on_read, this->shared_from_this()));
  }

  void on_read(beast::error_code ec, std::size_t) {
    if (ec == http::error::end_of_stream || ec == beast::error::timeout || ec == net::error::connection_reset ||
        ec == net::error::operation_aborted || ec == net::error::eof || ec == ssl::error::stream_truncated) {
      return close();
    }
    if (ec) {
      // The request could not be read whole: answer once, then close (the framing is lost).
      const bool body_too_large = ec == http::error::body_limit;
      const bool header_too_large = ec == http::error::header_limit;
      const int status = body_too_large ? 413 : header_too_large ? 431 : 400;
      service_.count_refused(status);
      keep_alive_ = false;
      return write(Service::error_response(status, body_too_large ? "body_too_large" : header_too_large ? "header_too_large" : "bad_request",
                                           body_too_large ? fmt::format("the body exceeds {} bytes", options_.body_limit)
                                           : header_too_large ? fmt::format("the header exceeds {} bytes", options_.header_limit)
                                                              : fmt::format("malformed HTTP request: {}", ec.message())),
                   11);
    }
    auto request = parser_->release();
    keep_alive_ = request.keep_alive();
    version_ = request.version();
    // A stuck service must not hold the connection open for ever either.
    beast::get_lowest_layer(stream_).expires_never();
    // Server-Timing (W3C): the service's own time for the request, from the moment it was read
    // whole to the answer, so that a client can tell it from the network's and its own.
    const auto received = std::chrono::steady_clock::now();
    service_.handle({std::string(request.method_string()), std::string(request.target()), std::move(request.body())},
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
      if (ec || !self->keep_alive_) return self->close();
      self->read_request(self->options_.idle_timeout);
    });
  }

  void close() {
    if constexpr (kTls) {
      if (!closing_) {
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
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  Service& service_;
  const ServerOptions& options_;
  bool keep_alive_ = true;
  unsigned version_ = 11;
};

}  // namespace

struct HttpServer::Impl {
  ServerOptions options;
  net::io_context io;
  std::unique_ptr<Service> service;
  tcp::acceptor acceptor{io};
  net::steady_timer accept_backoff{io};  // after an accept failed for want of descriptors
  net::signal_set signals{io};
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
        if (tls) std::make_shared<Session<beast::ssl_stream<beast::tcp_stream>>>(std::move(socket), *service, options, tls.get())->start();
        else std::make_shared<Session<beast::tcp_stream>>(std::move(socket), *service, options, nullptr)->start();
      } else if (ec == net::error::no_descriptors || ec == beast::errc::too_many_files_open_in_system || ec == net::error::no_buffer_space ||
                 ec == net::error::no_memory) {
        // Out of descriptors or memory: the pending connection stays in the backlog, so the
        // listener stays readable and an immediate retry would spin a core. Wait for sessions
        // to end and free some, then take it.
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

  // Stop accepting, let in-flight requests finish (bounded), commit, then end the loop.
  void begin_shutdown() {
    if (stopping.exchange(true)) return;
    net::post(io, [this] {
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

void HttpServer::run(bool handle_signals) {
  auto& impl = *impl_;
  if (handle_signals) {
    impl.signals.add(SIGINT);
    impl.signals.add(SIGTERM);
    impl.signals.async_wait([this](beast::error_code ec, int) {
      if (!ec) stop();
    });
  }
  impl.accept();
  const unsigned threads = impl.options.threads ? impl.options.threads : std::max(1u, std::thread::hardware_concurrency());
  std::vector<std::thread> workers;
  try {
    for (unsigned i = 1; i < threads; ++i) workers.emplace_back([&impl] { impl.io.run(); });
  } catch (const std::system_error& error) {
    // The threads already running must be stopped and joined: destroying a joinable thread
    // aborts the process.
    impl.io.stop();
    for (auto& worker : workers) worker.join();
    impl.service->close();
    throw InputError({}, "--threads", fmt::format("could not start {} threads ({})", threads, error.what()),
                     "fewer threads, within the system's limit");
  }
  impl.io.run();
  for (auto& worker : workers) worker.join();
  impl.service->close();
}

}  // namespace uptake::ecert
