#pragma once
// A loopback HTTP server for the engine's tests, with behaviour a test can set: a fixed delay,
// periodic stalls, resets, silence, and the hostile kind: floods, stray bytes. Built on Asio alone, apart from the engine under test.
#include <boost/asio.hpp>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>

namespace uptake::test {

struct ServerBehaviour {
  std::chrono::microseconds delay{0};        // before every answer
  std::chrono::milliseconds stall_period{0}; // every period, the server stalls ...
  std::chrono::milliseconds stall_length{0}; // ... this long: requests arriving then wait for its end
  bool reset = false;                        // close the connection instead of answering
  bool silent = false;                       // read requests and never answer
  bool reset_mid_response = false;           // send the head and half the body, then reset
  bool byte_by_byte = false;                 // write the answer one byte per write, with a pause
  std::chrono::milliseconds idle_close{0};   // close a keep-alive connection idle this long (no Connection: close)
  std::string raw_answer;                    // send these bytes as the answer (garbage HTTP), then close
  std::string status = "200 OK";             // the status line's code and reason of every answer
  // Bytes that follow every answer (a stray second response, bytes beyond Content-Length): in
  // the answer's own write, or on their own this long after it, while the connection is idle.
  std::string after_answer;
  std::chrono::milliseconds after_answer_delay{0};
  // A flood instead of the answer: `flood_head`, then `flood_unit` again and again until
  // `flood_bytes` in all are written (endless interim heads, trailers or chunk extensions; a
  // large body); then the next request is read. A client that closes ends it early.
  std::string flood_head;
  std::string flood_unit;
  std::size_t flood_bytes = 0;
};

class TestServer {
 public:
  explicit TestServer(ServerBehaviour behaviour)
      : behaviour_(behaviour),
        response_("HTTP/1.1 " + behaviour_.status + "\r\nContent-Type: application/json\r\nContent-Length: 18\r\n\r\n" + std::string(kBody)),
        answer_(response_ + (behaviour_.after_answer_delay.count() ? "" : behaviour_.after_answer)),
        acceptor_(io_, {boost::asio::ip::make_address("127.0.0.1"), 0}) {
    started_ = std::chrono::steady_clock::now();
    accept();
    thread_ = std::thread([this] { io_.run(); });
  }
  ~TestServer() {
    io_.stop();
    thread_.join();
  }
  std::uint16_t port() const { return acceptor_.local_endpoint().port(); }
  std::uint64_t requests() const { return requests_; }
  std::uint64_t connections() const { return connections_; }
  std::uint64_t flooded_bytes() const { return flooded_; }
  std::uint64_t idle_closes() const { return idle_closes_; }  // connections closed by idle_close

 private:
  struct Session : std::enable_shared_from_this<Session> {
    Session(TestServer& server, boost::asio::ip::tcp::socket socket) : server(server), socket(std::move(socket)), timer(server.io_) {}
    void read() {
      if (!server.behaviour_.raw_answer.empty()) return answer_raw();
      ++reads_started;
      request_arrived = buffer.size() > 0;
      if (server.behaviour_.idle_close.count() > 0) {
        // Closes the connection quietly (FIN, no Connection: close) when no request comes in time.
        idle_timer.expires_after(server.behaviour_.idle_close);
        idle_timer.async_wait([self = shared_from_this(), reads = reads_started](boost::system::error_code ec) {
          // A request that came in as the timer fired wins: its read started no later read.
          if (ec || self->reads_started != reads || self->request_arrived) return;
          ++self->server.idle_closes_;
          boost::system::error_code ignored;
          self->socket.shutdown(boost::asio::socket_base::shutdown_both, ignored);
          self->socket.close(ignored);
        });
      }
      boost::asio::async_read_until(socket, buffer, "\r\n\r\n", [self = shared_from_this()](boost::system::error_code ec, std::size_t length) {
        self->request_arrived = true;
        self->idle_timer.cancel();
        if (ec) return;
        // Requests in these tests have no body, or a Content-Length one we skip.
        std::string head(boost::asio::buffers_begin(self->buffer.data()), boost::asio::buffers_begin(self->buffer.data()) + static_cast<long>(length));
        self->buffer.consume(length);
        std::size_t body = 0;
        if (const auto at = head.find("Content-Length: "); at != std::string::npos) body = std::stoul(head.substr(at + 16));
        self->skip_body(body);
      });
    }
    void skip_body(std::size_t remaining) {
      if (buffer.size() >= remaining) {
        buffer.consume(remaining);
        return answer();
      }
      boost::asio::async_read(socket, buffer, boost::asio::transfer_at_least(remaining - buffer.size()),
                              [self = shared_from_this(), remaining](boost::system::error_code ec, std::size_t) {
                                if (!ec) self->skip_body(remaining);
                              });
    }
    void answer() {
      ++server.requests_;
      const auto& b = server.behaviour_;
      if (b.reset) {
        boost::system::error_code ignored;
        socket.set_option(boost::asio::socket_base::linger(true, 0), ignored);  // RST, not FIN
        socket.close(ignored);
        return;
      }
      if (b.silent) return read();

      auto when = std::chrono::steady_clock::now() + b.delay;
      if (b.stall_period.count() > 0) {
        const auto since = std::chrono::steady_clock::now() - server.started_;
        const auto into_period = since % b.stall_period;
        if (into_period < b.stall_length) when = std::max(when, std::chrono::steady_clock::now() + (b.stall_length - into_period));
      }
      timer.expires_at(when);
      timer.async_wait([self = shared_from_this()](boost::system::error_code) {
        const auto& b = self->server.behaviour_;
        if (b.reset_mid_response) {
          const auto half = std::string_view(self->server.response_).substr(0, self->server.response_.size() - kBody.size() / 2);
          boost::asio::async_write(self->socket, boost::asio::buffer(half), [self](boost::system::error_code, std::size_t) {
            boost::system::error_code ignored;
            self->socket.set_option(boost::asio::socket_base::linger(true, 0), ignored);  // RST, not FIN
            self->socket.close(ignored);
          });
          return;
        }
        if (b.byte_by_byte) return self->write_byte(0);
        if (b.flood_bytes) return self->flood();
        boost::asio::async_write(self->socket, boost::asio::buffer(self->server.answer_),
                                 [self](boost::system::error_code ec, std::size_t) {
                                   if (ec) return;
                                   if (self->server.behaviour_.after_answer_delay.count()) self->send_stray();
                                   self->read();
                                 });
      });
    }
    void send_stray() {
      stray_timer.expires_after(server.behaviour_.after_answer_delay);
      stray_timer.async_wait([self = shared_from_this()](boost::system::error_code ec) {
        if (ec) return;
        boost::asio::async_write(self->socket, boost::asio::buffer(self->server.behaviour_.after_answer), [self](boost::system::error_code, std::size_t) {});
      });
    }
    void flood() {
      const auto& b = server.behaviour_;
      if (flood_block.empty()) {
        while (flood_block.size() < (64u << 10)) flood_block += b.flood_unit;
      }
      boost::asio::async_write(socket, boost::asio::buffer(b.flood_head), [self = shared_from_this()](boost::system::error_code ec, std::size_t written) {
        self->server.flooded_ += written;
        if (!ec) self->flood_more(self->server.behaviour_.flood_head.size());
      });
    }
    void flood_more(std::size_t sent) {
      const auto total = server.behaviour_.flood_bytes;
      if (sent >= total) return read();
      const auto size = std::min(flood_block.size(), total - sent);
      boost::asio::async_write(socket, boost::asio::buffer(flood_block.data(), size), [self = shared_from_this(), sent](boost::system::error_code ec, std::size_t written) {
        self->server.flooded_ += written;
        if (!ec) self->flood_more(sent + written);
      });
    }
    // Whatever arrives first (a request, a TLS ClientHello) gets the raw bytes, then a close: the
    // way a plain HTTP server answers a TLS client, or a broken one answers anything.
    void answer_raw() {
      socket.async_read_some(boost::asio::buffer(scratch), [self = shared_from_this()](boost::system::error_code ec, std::size_t) {
        if (ec) return;
        ++self->server.requests_;
        boost::asio::async_write(self->socket, boost::asio::buffer(self->server.behaviour_.raw_answer), [self](boost::system::error_code, std::size_t) {
          boost::system::error_code ignored;
          self->socket.shutdown(boost::asio::socket_base::shutdown_both, ignored);
          self->socket.close(ignored);
        });
      });
    }
    // One byte per write, 1 ms apart: every read of the client sees a fragment.
    void write_byte(std::size_t at) {
      if (at == server.response_.size()) return read();
      boost::asio::async_write(socket, boost::asio::buffer(server.response_.data() + at, 1), [self = shared_from_this(), at](boost::system::error_code ec, std::size_t) {
        if (ec) return;
        self->timer.expires_after(std::chrono::milliseconds(1));
        self->timer.async_wait([self, at](boost::system::error_code) { self->write_byte(at + 1); });
      });
    }
    TestServer& server;
    boost::asio::ip::tcp::socket socket;
    boost::asio::streambuf buffer;
    std::array<char, 4096> scratch;
    boost::asio::steady_timer timer;
    boost::asio::steady_timer idle_timer{server.io_};
    boost::asio::steady_timer stray_timer{server.io_};
    std::string flood_block;  // flood_unit repeated to 64 KiB
    std::uint64_t reads_started = 0;
    bool request_arrived = false;  // since the current read started
  };

  void accept() {
    acceptor_.async_accept([this](boost::system::error_code ec, boost::asio::ip::tcp::socket socket) {
      if (ec) {
        // Out of descriptors (EMFILE) or aborted: keep accepting while the server lives.
        if (ec != boost::asio::error::operation_aborted) accept();
        return;
      }
      ++connections_;
      std::make_shared<Session>(*this, std::move(socket))->read();
      accept();
    });
  }

  static constexpr std::string_view kBody = R"({"credential":"c"})";
  ServerBehaviour behaviour_;
  const std::string response_;  // every answer, whole
  const std::string answer_;    // what is written for it: the answer and what follows it at once
  boost::asio::io_context io_;
  boost::asio::ip::tcp::acceptor acceptor_;
  std::chrono::steady_clock::time_point started_;
  std::thread thread_;
  std::atomic<std::uint64_t> requests_{0};
  std::atomic<std::uint64_t> connections_{0};
  std::atomic<std::uint64_t> flooded_{0};
  std::atomic<std::uint64_t> idle_closes_{0};
};

}  // namespace uptake::test
