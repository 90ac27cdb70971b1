#pragma once
// A loopback HTTP/1.1 server for end-to-end tests of the uptake command: one blocking thread per
// connection, enough for a few hundred requests, each answered by the test's own function. Only
// Content-Length bodies; keep-alive until the client closes.
#include <boost/asio.hpp>

#include <atomic>
#include <chrono>
#include <functional>
#include <regex>
#include <string>
#include <thread>
#include <vector>

// Not in namespace uptake, as cli_helpers.hpp.
namespace cli_test {

struct HttpExchange {
  std::string target;  // path and query, as sent
  std::string head;    // request line and headers, with the blank line
  std::string body;
  std::chrono::steady_clock::time_point arrived;  // when its head had arrived
  // The answer: status line's code and reason, extra header lines (each ending in CRLF), body.
  std::string status = "200 OK";
  std::string headers;
  std::string answer_body = "{}";
};

class LoopbackHttpServer {
 public:
  // `answer` is called for each request, from that connection's thread: it fills the answer.
  explicit LoopbackHttpServer(std::function<void(HttpExchange&)> answer)
      : answer_(std::move(answer)), acceptor_(io_, {boost::asio::ip::make_address("127.0.0.1"), 0}) {
    thread_ = std::thread([this] { accept(); });
  }
  ~LoopbackHttpServer() {
    stopping_ = true;
    boost::system::error_code ignored;
    boost::asio::ip::tcp::socket wake(io_);
    wake.connect(acceptor_.local_endpoint(), ignored);
    thread_.join();
    for (auto& connection : connections_) connection.join();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(acceptor_.local_endpoint().port()); }

 private:
  void accept() {
    while (!stopping_) {
      boost::asio::ip::tcp::socket socket(io_);
      boost::system::error_code ec;
      acceptor_.accept(socket, ec);
      if (ec || stopping_) return;
      connections_.emplace_back([this, s = std::move(socket)]() mutable { serve(std::move(s)); });
    }
  }
  void serve(boost::asio::ip::tcp::socket socket) {
    namespace net = boost::asio;
    net::streambuf buffer;
    for (int requests = 0; requests < 100000; ++requests) {
      boost::system::error_code ec;
      const auto head_size = net::read_until(socket, buffer, "\r\n\r\n", ec);
      if (ec) return;
      HttpExchange exchange;
      exchange.arrived = std::chrono::steady_clock::now();
      exchange.head.assign(net::buffers_begin(buffer.data()), net::buffers_begin(buffer.data()) + static_cast<long>(head_size));
      buffer.consume(head_size);
      std::smatch match;
      std::size_t length = 0;
      if (std::regex_search(exchange.head, match, std::regex("\r\nContent-Length: ([0-9]+)\r\n", std::regex::icase))) length = std::stoul(match[1]);
      if (buffer.size() < length) net::read(socket, buffer, net::transfer_exactly(length - buffer.size()), ec);
      if (ec) return;
      exchange.body.assign(net::buffers_begin(buffer.data()), net::buffers_begin(buffer.data()) + static_cast<long>(length));
      buffer.consume(length);
      const auto& head = exchange.head;
      exchange.target = head.substr(head.find(' ') + 1, head.find(" HTTP/1.1") - head.find(' ') - 1);
      answer_(exchange);
      const auto answer = "HTTP/1.1 " + exchange.status + "\r\nContent-Type: application/json\r\n" + exchange.headers +
                          "Content-Length: " + std::to_string(exchange.answer_body.size()) + "\r\n\r\n" + exchange.answer_body;
      net::write(socket, net::buffer(answer), ec);
      if (ec) return;
    }
  }

  std::function<void(HttpExchange&)> answer_;
  boost::asio::io_context io_;
  boost::asio::ip::tcp::acceptor acceptor_;
  std::thread thread_;
  std::vector<std::thread> connections_;
  std::atomic<bool> stopping_{false};
};

}  // namespace cli_test
