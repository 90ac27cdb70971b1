#pragma once
// A loopback HTTP server for the engine's tests, with behaviour a test can set: a fixed delay,
// periodic stalls, resets, silence. Built on Asio alone, apart from the engine under test.
#include <boost/asio.hpp>

#include <atomic>
#include <chrono>
#include <memory>
#include <thread>

namespace uptake::test {

struct ServerBehaviour {
  std::chrono::microseconds delay{0};        // before every answer
  std::chrono::milliseconds stall_period{0}; // every period, the server stalls ...
  std::chrono::milliseconds stall_length{0}; // ... this long: requests arriving then wait for its end
  bool reset = false;                        // close the connection instead of answering
  bool silent = false;                       // read requests and never answer
};

class TestServer {
 public:
  explicit TestServer(ServerBehaviour behaviour) : behaviour_(behaviour), acceptor_(io_, {boost::asio::ip::make_address("127.0.0.1"), 0}) {
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

 private:
  struct Session : std::enable_shared_from_this<Session> {
    Session(TestServer& server, boost::asio::ip::tcp::socket socket) : server(server), socket(std::move(socket)), timer(server.io_) {}
    void read() {
      boost::asio::async_read_until(socket, buffer, "\r\n\r\n", [self = shared_from_this()](boost::system::error_code ec, std::size_t length) {
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
        static const std::string body = R"({"credential":"c"})";
        static const std::string response =
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
        boost::asio::async_write(self->socket, boost::asio::buffer(response),
                                 [self](boost::system::error_code ec, std::size_t) {
                                   if (!ec) self->read();
                                 });
      });
    }
    TestServer& server;
    boost::asio::ip::tcp::socket socket;
    boost::asio::streambuf buffer;
    boost::asio::steady_timer timer;
  };

  void accept() {
    acceptor_.async_accept([this](boost::system::error_code ec, boost::asio::ip::tcp::socket socket) {
      if (ec) return;
      std::make_shared<Session>(*this, std::move(socket))->read();
      accept();
    });
  }

  ServerBehaviour behaviour_;
  boost::asio::io_context io_;
  boost::asio::ip::tcp::acceptor acceptor_;
  std::chrono::steady_clock::time_point started_;
  std::thread thread_;
  std::atomic<std::uint64_t> requests_{0};
};

}  // namespace uptake::test
