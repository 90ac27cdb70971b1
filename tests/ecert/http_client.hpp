#pragma once
// A deliberately plain HTTP/1.1 client over POSIX sockets for tests: independent of the Beast
// code under test, and able to send what no well-behaved client would (garbage, half a request).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>

namespace uptake::test {

struct Reply {
  int status = 0;
  std::string headers;
  std::string body;
};

class Connection {
 public:
  explicit Connection(std::uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd_ < 0 || ::connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
      if (fd_ >= 0) ::close(fd_);
      fd_ = -1;
    }
    if (fd_ >= 0) {
      int one = 1;
      ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    }
  }
  ~Connection() {
    if (fd_ >= 0) ::close(fd_);
  }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  bool connected() const { return fd_ >= 0; }
  int native_handle() const { return fd_; }

  bool send_raw(const std::string& bytes) {
    std::size_t sent = 0;
    while (sent < bytes.size()) {
      const auto n = ::send(fd_, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) return false;
      sent += static_cast<std::size_t>(n);
    }
    return true;
  }

  std::optional<Reply> request(const std::string& method, const std::string& target, const std::string& body = {},
                               const std::string& extra_headers = {}) {
    std::string text = method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n" + extra_headers;
    if (!body.empty() || method == "POST") text += "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
    text += "\r\n" + body;
    if (!send_raw(text)) return std::nullopt;
    return read_reply();
  }

  // Reads one response (Content-Length framing, as the service always sends).
  std::optional<Reply> read_reply(std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    while (true) {
      const auto end = pending_.find("\r\n\r\n");
      if (end != std::string::npos) {
        Reply reply;
        reply.headers = pending_.substr(0, end);
        if (reply.headers.size() < 12) return std::nullopt;
        reply.status = std::stoi(reply.headers.substr(9, 3));
        std::size_t length = 0;
        const auto at = lowercase(reply.headers).find("content-length:");
        if (at != std::string::npos) length = std::stoul(reply.headers.substr(at + 15));
        if (pending_.size() >= end + 4 + length) {
          reply.body = pending_.substr(end + 4, length);
          pending_.erase(0, end + 4 + length);
          return reply;
        }
      }
      if (!receive(timeout)) return std::nullopt;
    }
  }

  // True when the server closed the connection within `timeout`.
  bool closed_by_peer(std::chrono::milliseconds timeout) {
    while (receive(timeout)) pending_.clear();
    return closed_;
  }

 private:
  bool receive(std::chrono::milliseconds timeout) {
    pollfd poll_fd{fd_, POLLIN, 0};
    if (::poll(&poll_fd, 1, static_cast<int>(timeout.count())) <= 0) return false;
    char buffer[16384];
    const auto n = ::recv(fd_, buffer, sizeof buffer, 0);
    if (n <= 0) {
      closed_ = true;
      return false;
    }
    pending_.append(buffer, static_cast<std::size_t>(n));
    return true;
  }
  static std::string lowercase(std::string text) {
    for (auto& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return text;
  }

  int fd_ = -1;
  std::string pending_;
  bool closed_ = false;
};

// The value of "field" in a flat JSON object of strings, enough for test assertions.
inline std::string json_string(const std::string& body, const std::string& field) {
  const auto key = "\"" + field + "\":\"";
  const auto at = body.find(key);
  if (at == std::string::npos) return {};
  const auto start = at + key.size();
  return body.substr(start, body.find('"', start) - start);
}

}  // namespace uptake::test
