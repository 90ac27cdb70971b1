#pragma once
// A small HTTP/2 server on 127.0.0.1 for the engine's tests, framed by libnghttp2's server side:
// h2c with prior knowledge, or h2 over TLS (ALPN) with a self-signed certificate made at start.
// One thread accepts; each connection has a thread of its own with blocking I/O. What it answers
// depends on the request's path:
//   /reset   RST_STREAM with INTERNAL_ERROR
//   /refuse  RST_STREAM with REFUSED_STREAM (unprocessed: a client may send it again)
//   /goaway  GOAWAY with ENHANCE_YOUR_CALM that leaves this stream out, then the close
//   /slow    200 after Options::slow
//   /early   200 at once, before the request's body, then RST_STREAM with NO_ERROR (RFC 9113 §8.1)
//   /login   302 to /home, setting the cookie sid
//   /home    200 with the sid cookie, else 401
//   /issue   201 {"credential":"cN"}
//   /verify/cN  200 {"status":"active"}; any other /verify/... 404
//   other    200 "hello" with a Server-Timing header
// Options set its SETTINGS (the stream limit, a zero stream window that lets no request body
// through) and whether its ALPN chooses h2. It counts what it saw.
#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <nghttp2/nghttp2.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace uptake::test {

class Http2Server {
 public:
  struct Options {
    bool tls = false;
    bool alpn_h2 = true;                   // TLS: choose h2 when offered (false: choose nothing)
    std::uint32_t max_concurrent_streams = 100;
    bool zero_window = false;              // SETTINGS_INITIAL_WINDOW_SIZE 0: request bodies never get through
    std::chrono::milliseconds slow{20};
  };

  explicit Http2Server(Options options) : options_(options) {
    ::signal(SIGPIPE, SIG_IGN);  // a client that closes first must not end the test program
    listener_ = ::socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(listener_ >= 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(listener_, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
    REQUIRE(::listen(listener_, 128) == 0);
    socklen_t length = sizeof address;
    REQUIRE(::getsockname(listener_, reinterpret_cast<sockaddr*>(&address), &length) == 0);
    port_ = ntohs(address.sin_port);
    if (options_.tls) make_tls_context();
    acceptor_ = std::thread([this] { accept_loop(); });
  }
  ~Http2Server() {
    stop_ = true;
    acceptor_.join();
    for (auto& thread : connection_threads_) thread.join();
    ::close(listener_);
    if (tls_) SSL_CTX_free(tls_);
  }
  Http2Server(const Http2Server&) = delete;
  Http2Server& operator=(const Http2Server&) = delete;

  std::string url(const std::string& path = "/") const {
    return std::string(options_.tls ? "https" : "http") + "://127.0.0.1:" + std::to_string(port_) + path;
  }

  std::atomic<std::uint64_t> requests{0};     // request streams whose headers arrived
  std::atomic<std::uint64_t> answered{0};     // 200s sent
  std::atomic<std::uint64_t> connections{0};  // connections that spoke HTTP/2 (their preface arrived)
  std::atomic<int> peak_concurrent{0};        // most streams open at once on one connection
  std::atomic<std::uint64_t> with_cookie{0};  // requests that carried the sid cookie
  std::atomic<std::uint64_t> issued{0};

 private:
  struct Stream {
    std::string path;
    std::string cookie;
    std::string body;          // the answer's
    std::size_t sent = 0;
  };
  struct Connection {
    Http2Server* server = nullptr;
    int fd = -1;
    SSL* tls = nullptr;
    nghttp2_session* session = nullptr;
    std::map<std::int32_t, Stream> streams;
    std::vector<std::pair<std::chrono::steady_clock::time_point, std::int32_t>> delayed;
    int open_streams = 0;
    bool close_after_flush = false;
    bool preface_counted = false;
  };

  void make_tls_context() {
    EVP_PKEY* key = EVP_EC_gen("P-256");
    REQUIRE(key);
    X509* certificate = X509_new();
    X509_set_version(certificate, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(certificate), 1);
    X509_gmtime_adj(X509_getm_notBefore(certificate), 0);
    X509_gmtime_adj(X509_getm_notAfter(certificate), 86400);
    X509_set_pubkey(certificate, key);
    X509_NAME* name = X509_get_subject_name(certificate);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("localhost"), -1, -1, 0);
    X509_set_issuer_name(certificate, name);
    REQUIRE(X509_sign(certificate, key, EVP_sha256()) > 0);
    tls_ = SSL_CTX_new(TLS_server_method());
    REQUIRE(SSL_CTX_use_certificate(tls_, certificate) == 1);
    REQUIRE(SSL_CTX_use_PrivateKey(tls_, key) == 1);
    X509_free(certificate);
    EVP_PKEY_free(key);
    SSL_CTX_set_alpn_select_cb(
        tls_,
        [](SSL*, const unsigned char** out, unsigned char* out_length, const unsigned char* in, unsigned in_length, void* self) {
          if (!static_cast<Http2Server*>(self)->options_.alpn_h2) return SSL_TLSEXT_ERR_NOACK;
          static const unsigned char kH2[] = {2, 'h', '2'};
          unsigned char* chosen = nullptr;
          if (SSL_select_next_proto(&chosen, out_length, kH2, sizeof kH2, in, in_length) != OPENSSL_NPN_NEGOTIATED) return SSL_TLSEXT_ERR_NOACK;
          *out = chosen;
          return SSL_TLSEXT_ERR_OK;
        },
        this);
  }

  void accept_loop() {
    while (!stop_) {
      pollfd waiting{listener_, POLLIN, 0};
      if (::poll(&waiting, 1, 20) <= 0) continue;
      const int fd = ::accept(listener_, nullptr, nullptr);
      if (fd < 0) continue;
      const int one = 1;
      ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      connection_threads_.emplace_back([this, fd] { serve(fd); });
    }
  }

  // Blocking reads and writes, with a poll every few milliseconds for a stop and for delayed answers.
  void serve(int fd) {
    Connection connection;
    connection.server = this;
    connection.fd = fd;
    if (tls_) {
      connection.tls = SSL_new(tls_);
      SSL_set_fd(connection.tls, fd);
      if (SSL_accept(connection.tls) != 1) {
        SSL_free(connection.tls);
        ::close(fd);
        return;
      }
    }
    nghttp2_session_callbacks* callbacks = nullptr;
    nghttp2_session_callbacks_new(&callbacks);
    nghttp2_session_callbacks_set_on_begin_headers_callback(callbacks, on_begin_headers);
    nghttp2_session_callbacks_set_on_header_callback(callbacks, on_header);
    nghttp2_session_callbacks_set_on_frame_recv_callback(callbacks, on_frame_recv);
    nghttp2_session_callbacks_set_on_stream_close_callback(callbacks, on_stream_close);
    nghttp2_session_callbacks_set_on_frame_send_callback(callbacks, on_frame_send);
    nghttp2_session_server_new(&connection.session, callbacks, &connection);
    nghttp2_session_callbacks_del(callbacks);
    std::vector<nghttp2_settings_entry> settings{{NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, options_.max_concurrent_streams}};
    if (options_.zero_window) settings.push_back({NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, 0});
    nghttp2_submit_settings(connection.session, NGHTTP2_FLAG_NONE, settings.data(), settings.size());
    std::vector<std::uint8_t> buffer(16384);
    bool open = flush(connection);
    while (open && !stop_) {
      const bool buffered = connection.tls && SSL_pending(connection.tls) > 0;
      pollfd waiting{fd, POLLIN, 0};
      if (!buffered && ::poll(&waiting, 1, 2) <= 0) {
        answer_delayed(connection);
        open = flush(connection);
        continue;
      }
      const auto got = connection.tls ? SSL_read(connection.tls, buffer.data(), static_cast<int>(buffer.size()))
                                      : ::read(fd, buffer.data(), buffer.size());
      if (got <= 0) break;
      if (nghttp2_session_mem_recv(connection.session, buffer.data(), static_cast<std::size_t>(got)) < 0) break;
      answer_delayed(connection);
      open = flush(connection) && !connection.close_after_flush;
    }
    nghttp2_session_del(connection.session);
    if (connection.tls) SSL_free(connection.tls);
    ::close(fd);
  }

  // Everything the session has to send; false when the connection is done.
  static bool flush(Connection& connection) {
    for (;;) {
      const std::uint8_t* data = nullptr;
      const auto size = nghttp2_session_mem_send(connection.session, &data);
      if (size < 0) return false;
      if (size == 0) break;
      std::size_t written = 0;
      while (written < static_cast<std::size_t>(size)) {
        const auto put = connection.tls ? SSL_write(connection.tls, data + written, static_cast<int>(static_cast<std::size_t>(size) - written))
                                        : ::write(connection.fd, data + written, static_cast<std::size_t>(size) - written);
        if (put <= 0) return false;
        written += static_cast<std::size_t>(put);
      }
    }
    return nghttp2_session_want_read(connection.session) || nghttp2_session_want_write(connection.session);
  }

  static void answer_delayed(Connection& connection) {
    const auto now = std::chrono::steady_clock::now();
    auto& delayed = connection.delayed;
    for (auto at = delayed.begin(); at != delayed.end();) {
      if (at->first > now) {
        ++at;
        continue;
      }
      answer(connection, at->second);
      at = delayed.erase(at);
    }
  }

  static void answer(Connection& connection, std::int32_t id) {
    auto found = connection.streams.find(id);
    if (found == connection.streams.end()) return;
    auto& stream = found->second;
    std::vector<std::pair<const char*, std::string>> headers;
    std::string status = "200";
    if (stream.cookie.find("sid=") != std::string::npos) ++connection.server->with_cookie;
    if (stream.path == "/login") {
      status = "302";
      headers = {{"location", "/home"}, {"set-cookie", "sid=s" + std::to_string(id) + "; Path=/"}};
    } else if (stream.path == "/home") {
      status = stream.cookie.find("sid=") != std::string::npos ? "200" : "401";
      stream.body = "home";
    } else if (stream.path == "/issue") {
      status = "201";
      headers = {{"content-type", "application/json"}};
      stream.body = "{\"credential\":\"c" + std::to_string(++connection.server->issued) + "\"}";
    } else if (stream.path.rfind("/verify/", 0) == 0) {
      const bool known = stream.path.rfind("/verify/c", 0) == 0;
      status = known ? "200" : "404";
      headers = {{"content-type", "application/json"}};
      stream.body = known ? "{\"status\":\"active\"}" : "{}";
    } else {
      stream.body = "hello";
      headers = {{"content-type", "text/plain"}, {"server-timing", "app;dur=1.5"}};
    }
    const std::string length = std::to_string(stream.body.size());
    std::vector<nghttp2_nv> fields{nv(":status", status), nv("content-length", length)};
    for (const auto& [name, value] : headers) fields.push_back(nv(name, value));
    nghttp2_data_provider body{};
    body.source.ptr = &found->second;
    body.read_callback = [](nghttp2_session*, std::int32_t, std::uint8_t* buffer, std::size_t length, std::uint32_t* flags, nghttp2_data_source* source,
                            void*) -> ssize_t {
      auto& stream = *static_cast<Stream*>(source->ptr);
      const auto size = std::min(length, stream.body.size() - stream.sent);
      std::memcpy(buffer, stream.body.data() + stream.sent, size);
      stream.sent += size;
      if (stream.sent == stream.body.size()) *flags |= NGHTTP2_DATA_FLAG_EOF;
      return static_cast<ssize_t>(size);
    };
    nghttp2_submit_response(connection.session, id, fields.data(), fields.size(), &body);
    ++connection.server->answered;
  }

  static nghttp2_nv nv(const char* name, const std::string& value) {
    return {reinterpret_cast<std::uint8_t*>(const_cast<char*>(name)), reinterpret_cast<std::uint8_t*>(const_cast<char*>(value.data())),
            std::strlen(name), value.size(), NGHTTP2_NV_FLAG_NONE};
  }

  static int on_begin_headers(nghttp2_session*, const nghttp2_frame* frame, void* user) {
    auto& connection = *static_cast<Connection*>(user);
    if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST) return 0;
    connection.streams[frame->hd.stream_id];
    ++connection.open_streams;
    auto& peak = connection.server->peak_concurrent;
    for (int seen = peak.load(); connection.open_streams > seen && !peak.compare_exchange_weak(seen, connection.open_streams);) {
    }
    return 0;
  }

  static int on_header(nghttp2_session*, const nghttp2_frame* frame, const std::uint8_t* name, std::size_t name_length, const std::uint8_t* value,
                       std::size_t value_length, std::uint8_t, void* user) {
    auto& connection = *static_cast<Connection*>(user);
    if (frame->hd.type != NGHTTP2_HEADERS) return 0;
    const std::string_view field(reinterpret_cast<const char*>(name), name_length);
    auto& stream = connection.streams[frame->hd.stream_id];
    if (field == ":path") stream.path.assign(reinterpret_cast<const char*>(value), value_length);
    if (field == "cookie") stream.cookie.append(reinterpret_cast<const char*>(value), value_length).append("; ");
    return 0;
  }

  static int on_frame_recv(nghttp2_session* session, const nghttp2_frame* frame, void* user) {
    auto& connection = *static_cast<Connection*>(user);
    if (!connection.preface_counted) {
      connection.preface_counted = true;
      ++connection.server->connections;
    }
    const bool request_ends = (frame->hd.type == NGHTTP2_HEADERS || frame->hd.type == NGHTTP2_DATA) && (frame->hd.flags & NGHTTP2_FLAG_END_STREAM);
    if (frame->hd.type == NGHTTP2_HEADERS && frame->headers.cat == NGHTTP2_HCAT_REQUEST) {
      ++connection.server->requests;
      if (connection.streams[frame->hd.stream_id].path == "/early" && !request_ends) answer(connection, frame->hd.stream_id);
    }
    if (!request_ends) return 0;
    const auto id = frame->hd.stream_id;
    const auto& path = connection.streams[id].path;
    if (path == "/reset") {
      nghttp2_submit_rst_stream(session, NGHTTP2_FLAG_NONE, id, NGHTTP2_INTERNAL_ERROR);
    } else if (path == "/refuse") {
      nghttp2_submit_rst_stream(session, NGHTTP2_FLAG_NONE, id, NGHTTP2_REFUSED_STREAM);
    } else if (path == "/goaway") {
      nghttp2_submit_goaway(session, NGHTTP2_FLAG_NONE, std::max(0, id - 2), NGHTTP2_ENHANCE_YOUR_CALM, nullptr, 0);
      connection.close_after_flush = true;
    } else if (path == "/early") {
      // answered when its headers came
    } else if (path == "/slow") {
      connection.delayed.emplace_back(std::chrono::steady_clock::now() + connection.server->options_.slow, id);
    } else {
      answer(connection, id);
    }
    return 0;
  }

  // /early: once the whole answer is out, the rest of the request's body is not wanted.
  static int on_frame_send(nghttp2_session* session, const nghttp2_frame* frame, void* user) {
    auto& connection = *static_cast<Connection*>(user);
    if (frame->hd.type != NGHTTP2_DATA || !(frame->hd.flags & NGHTTP2_FLAG_END_STREAM)) return 0;
    const auto found = connection.streams.find(frame->hd.stream_id);
    if (found != connection.streams.end() && found->second.path == "/early") {
      nghttp2_submit_rst_stream(session, NGHTTP2_FLAG_NONE, frame->hd.stream_id, NGHTTP2_NO_ERROR);
    }
    return 0;
  }

  static int on_stream_close(nghttp2_session*, std::int32_t id, std::uint32_t, void* user) {
    auto& connection = *static_cast<Connection*>(user);
    if (connection.streams.erase(id)) --connection.open_streams;
    return 0;
  }

  Options options_;
  int listener_ = -1;
  std::uint16_t port_ = 0;
  SSL_CTX* tls_ = nullptr;
  std::atomic<bool> stop_{false};
  std::thread acceptor_;
  std::vector<std::thread> connection_threads_;
};

}  // namespace uptake::test
