#include "deferred_reads.hpp"

#include <sys/epoll.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <system_error>

namespace uptake::loadgen::client {

// The kernel stamps received packets only while some socket asks for it, and turns that on a
// moment after the first one does (a deferred switch): packets in between carry no stamp, and
// their answers are timed by their read. A socket of this reader's own asks from its creation,
// before the run starts, and keeps asking while connections close and open.
DeferredReads::DeferredReads() : epoll_fd_(::epoll_create1(EPOLL_CLOEXEC)), stamping_fd_(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)) {
  if (epoll_fd_ < 0) throw std::system_error(errno, std::generic_category(), "epoll_create1");
  const int on = 1;
  if (stamping_fd_ >= 0) ::setsockopt(stamping_fd_, SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof on);
}

DeferredReads::~DeferredReads() {
  ::close(epoll_fd_);
  if (stamping_fd_ >= 0) ::close(stamping_fd_);
}

void DeferredReads::watch(int fd, const std::shared_ptr<Connection>& connection) {
  const int on = 1;
  if (::setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof on) != 0) throw std::system_error(errno, std::generic_category(), "SO_TIMESTAMPNS");
  // Level-triggered: an answer read in part is reported again while the rest waits, and a
  // close (EOF) while idle is seen at the next wake-up.
  epoll_event event{};
  event.events = EPOLLIN | EPOLLRDHUP;
  event.data.fd = fd;
  if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &event) != 0) throw std::system_error(errno, std::generic_category(), "epoll_ctl");
  if (by_fd_.size() <= static_cast<std::size_t>(fd)) by_fd_.resize(static_cast<std::size_t>(fd) + 1);
  by_fd_[static_cast<std::size_t>(fd)] = connection;
}

void DeferredReads::unwatch(int fd) {
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
  by_fd_[static_cast<std::size_t>(fd)].reset();
}

void DeferredReads::read_ready() {
  std::array<epoll_event, 64> events;
  for (;;) {
    const int ready = ::epoll_wait(epoll_fd_, events.data(), static_cast<int>(events.size()), 0);
    if (ready < 0 && errno == EINTR) continue;
    for (int i = 0; i < ready; ++i) {
      // A descriptor closed by an earlier read of this batch, and perhaps reused by a connection
      // opened since, gets a read that finds nothing: harmless.
      if (const auto connection = by_fd_[static_cast<std::size_t>(events[static_cast<std::size_t>(i)].data.fd)].lock()) connection->read_deferred();
    }
    if (ready < static_cast<int>(events.size())) return;
  }
}

namespace {

timespec timespec_of(Clock::duration duration) {
  const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(duration).count();
  return {static_cast<time_t>(ns / 1'000'000'000), static_cast<long>(ns % 1'000'000'000)};
}

}  // namespace

void DeferredReads::sleep_until(Clock::time_point until) {
  const auto at = timespec_of(until.time_since_epoch());
  ::clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &at, nullptr);  // steady_clock's clock
}

void DeferredReads::wait_for_bytes(Clock::time_point until) {
  const auto timeout = timespec_of(std::max(Clock::duration::zero(), until - Clock::now()));
  epoll_event event;
  // Level-triggered: what it finds stays ready for read_ready().
  ::epoll_pwait2(epoll_fd_, &event, 1, &timeout, nullptr);
}

ssize_t DeferredReads::receive(int fd, std::span<char> into, int flags, Clock::time_point not_before, std::optional<Clock::time_point>& received) {
  iovec vector{into.data(), into.size()};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(timespec))];
  msghdr message{};
  message.msg_iov = &vector;
  message.msg_iovlen = 1;
  message.msg_control = control;
  message.msg_controllen = sizeof control;
  const auto got = ::recvmsg(fd, &message, flags);
  if (got > 0) {
    if (const auto at = received_at(message, not_before)) received = at;
  }
  return got;
}

std::optional<Clock::time_point> DeferredReads::received_at(const msghdr& message, Clock::time_point not_before) {
  for (auto* control = CMSG_FIRSTHDR(&message); control; control = CMSG_NXTHDR(const_cast<msghdr*>(&message), control)) {
    if (control->cmsg_level != SOL_SOCKET || control->cmsg_type != SCM_TIMESTAMPNS) continue;
    timespec stamp;
    std::memcpy(&stamp, CMSG_DATA(control), sizeof stamp);
    // The stamp is on the real-time clock; the engine's times are on the steady one. Their
    // difference is read now: the stamp is at most a wake-up interval old, so a clock step or
    // slew between the two is negligible, and the result is kept within what is possible.
    timespec real_now;
    ::clock_gettime(CLOCK_REALTIME, &real_now);
    const auto now = Clock::now();
    const auto age = std::chrono::seconds(real_now.tv_sec - stamp.tv_sec) + std::chrono::nanoseconds(real_now.tv_nsec - stamp.tv_nsec);
    return std::clamp(now - std::chrono::duration_cast<Clock::duration>(age), std::min(not_before, now), now);
  }
  return std::nullopt;
}

}  // namespace uptake::loadgen::client
