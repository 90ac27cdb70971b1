#pragma once
// Answers read when the worker wakes up to send, not when they arrive (open loop, sleep pacing,
// plain HTTP/1.1).
//
// Why: on a virtual machine a thread's wake-up costs about 6 µs of CPU, more than the rest of a
// request's work. A worker that wakes for each answer as well as for each batch of sends wakes
// about once per request at 10,000 req/s; reading the answers at the send wake-ups halves that.
// What it must not cost: an answer's time. Each answer is timed by the kernel's receive
// timestamp (SO_TIMESTAMPNS) of its last bytes, not by when the worker got round to reading it,
// so response and service times stay those of the arrival (and no longer include the
// generator's own scheduling delay). A connection is free again for the next send at once: the
// answers are read before anything is sent.
//
// The connections so read are not waited on through the io_context for their answers (the
// worker sleeps instead of waiting in the reactor, see Worker::run_deferred), only through this
// reader's own epoll set, which is asked without waiting. Connects and writes that the socket
// could not take at once still go through Asio, and while any is under way the worker waits in
// the reactor as usual (io_started / io_ended), so nothing but an answer is ever read late.
#include <sys/socket.h>

#include <chrono>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "connection.hpp"

namespace uptake::loadgen::client {

class DeferredReads {
 public:
  DeferredReads();
  ~DeferredReads();
  DeferredReads(const DeferredReads&) = delete;
  DeferredReads& operator=(const DeferredReads&) = delete;

  // From now on `fd` carries receive timestamps, and read_ready() has `connection` read what
  // arrives on it. Closing the descriptor ends the watch.
  void watch(int fd, const std::shared_ptr<Connection>& connection);
  // Stops watching `fd` while it stays open (bytes no request asked for wait on it).
  void unwatch(int fd);
  // Has every watched connection with bytes waiting read them (Connection::read_deferred).
  void read_ready();
  // The worker's two ways to wait between looks: asleep until `until`, whatever arrives; or until
  // bytes arrive on a watched connection if sooner (for when requests wait for a connection: an
  // answer frees one).
  static void sleep_until(Clock::time_point until);
  void wait_for_bytes(Clock::time_point until);

  // Asio operations of these connections (and handlers they posted) that the worker must see
  // complete at once.
  void io_started() { ++io_under_way_; }
  void io_ended() { --io_under_way_; }
  bool io_under_way() const { return io_under_way_ > 0; }

  // One recvmsg into `into` with `flags`: the bytes read (0 at the end of the stream, -1 with
  // errno set), and in `received` the kernel's receive time of what it read, where stamped.
  static ssize_t receive(int fd, std::span<char> into, int flags, Clock::time_point not_before, std::optional<Clock::time_point>& received);
  // The receive time a recvmsg's control data carries, on the steady clock, within
  // [not_before, now]; nothing when it carries none.
  static std::optional<Clock::time_point> received_at(const msghdr& message, Clock::time_point not_before);

 private:
  int epoll_fd_ = -1;
  int stamping_fd_ = -1;  // holds the kernel's receive timestamping on (see the constructor)
  std::vector<std::weak_ptr<Connection>> by_fd_;
  int io_under_way_ = 0;
};

}  // namespace uptake::loadgen::client
