#include "uptake/loadgen/metrics_server.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>
#include <fmt/format.h>
#include <sys/socket.h>

#include <charconv>

#include "uptake/base/input_error.hpp"
#include "uptake/loadgen/response_parser.hpp"

namespace uptake::loadgen {

namespace net = boost::asio;
using tcp = net::ip::tcp;

namespace {

constexpr std::size_t kLargestRequestHead = 8192;
constexpr int kScrapeTimeoutSeconds = 2;  // to read a request and to write an answer

}  // namespace

ListenAddress parse_listen_address(std::string_view text, const char* field) {
  const auto colon = text.rfind(':');
  const auto expected = "HOST:PORT, such as 127.0.0.1:9464, [::1]:9464 or 0.0.0.0:9464 (every interface)";
  if (colon == std::string_view::npos) throw InputError({}, field, fmt::format("'{}' has no port", text), expected);
  ListenAddress address;
  auto host = text.substr(0, colon);
  if (host.starts_with('[') && host.ends_with(']')) host = host.substr(1, host.size() - 2);
  address.host = host.empty() ? "0.0.0.0" : std::string(host);
  const auto port_text = text.substr(colon + 1);
  unsigned port = 0;
  const auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (ec != std::errc{} || end != port_text.data() + port_text.size() || port_text.empty() || port > 65535) {
    throw InputError({}, field, fmt::format("'{}' has no valid port", text), expected);
  }
  address.port = static_cast<std::uint16_t>(port);
  boost::system::error_code bad;
  net::ip::make_address(address.host, bad);
  if (bad) throw InputError({}, field, fmt::format("'{}' is not an IP address to listen on", address.host), expected);
  return address;
}

struct MetricsServer::State {
  net::io_context io;
  tcp::acceptor acceptor{io};
};

MetricsServer::MetricsServer(const ListenAddress& address) : state_(std::make_unique<State>()) {
  boost::system::error_code ec;
  const tcp::endpoint endpoint(net::ip::make_address(address.host, ec), address.port);
  auto& acceptor = state_->acceptor;
  if (!ec) acceptor.open(endpoint.protocol(), ec);
  if (!ec) acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(16, ec);
  if (ec) {
    throw InputError({}, "--metrics-listen", fmt::format("cannot listen on {}:{}: {}", address.host, address.port, ec.message()),
                     "an address of this machine and a free port");
  }
  thread_ = std::thread([this] { serve(); });
}

MetricsServer::~MetricsServer() {
  stopping_ = true;
  // The accept blocks: a connection of its own wakes it to see the stop.
  boost::system::error_code ignored;
  tcp::socket wake(state_->io);
  auto endpoint = state_->acceptor.local_endpoint(ignored);
  if (endpoint.address().is_unspecified()) endpoint.address(endpoint.address().is_v6() ? net::ip::address(net::ip::address_v6::loopback()) : net::ip::address(net::ip::address_v4::loopback()));
  wake.connect(endpoint, ignored);
  thread_.join();
}

std::uint16_t MetricsServer::port() const {
  boost::system::error_code ignored;
  return state_->acceptor.local_endpoint(ignored).port();
}

void MetricsServer::update(const LiveFigures& figures) {
  const std::lock_guard lock(mutex_);
  figures_ = figures;
}

void MetricsServer::update(const LiveContext& context) {
  const std::lock_guard lock(mutex_);
  context_ = context;
}

void MetricsServer::serve() {
  while (!stopping_) {
    tcp::socket socket(state_->io);
    boost::system::error_code ec;
    state_->acceptor.accept(socket, ec);
    if (stopping_) return;
    if (ec) continue;
    const timeval timeout{kScrapeTimeoutSeconds, 0};
    ::setsockopt(socket.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    ::setsockopt(socket.native_handle(), SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
    net::streambuf buffer(kLargestRequestHead);
    const auto head_size = net::read_until(socket, buffer, "\r\n\r\n", ec);
    if (ec) continue;  // too large, too slow, or gone: no answer
    const std::string head(net::buffers_begin(buffer.data()), net::buffers_begin(buffer.data()) + static_cast<long>(head_size));
    const auto request_line = std::string_view(head).substr(0, head.find("\r\n"));
    const bool get = request_line.starts_with("GET ") || request_line.starts_with("HEAD ");
    const auto target = request_line.substr(request_line.find(' ') + 1, request_line.rfind(' ') - request_line.find(' ') - 1);
    std::string answer;
    if (get && (target == "/metrics" || target.starts_with("/metrics?"))) {
      // A request head is shaped as a response head: a first line, then fields.
      const auto format = format_for_accept(find_header(head, "accept").value_or(""));
      std::string body;
      {
        const std::lock_guard lock(mutex_);
        body = render_metrics(figures_, context_, format);
      }
      answer = fmt::format("HTTP/1.1 200 OK\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n", content_type(format), body.size());
      if (!request_line.starts_with("HEAD ")) answer += body;
    } else {
      const std::string_view body = "uptake serves its live metrics at GET /metrics\n";
      answer = fmt::format("HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{}", body.size(), body);
    }
    net::write(socket, net::buffer(answer), ec);
    socket.shutdown(tcp::socket::shutdown_both, ec);
  }
}

}  // namespace uptake::loadgen
