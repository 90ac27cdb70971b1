#pragma once
// The connections of one engine thread, and the requests waiting for room on one: which
// connection takes the next request, how many are open against the cap, and the queue in
// intended order. It sends nothing itself: the worker sends on the connection it hands out.
//
// A connection is in the list of those with room at most once (Connection::pooled), whatever
// its number of free streams: one for an idle HTTP/1.1 connection, the stream limit less the
// open streams for HTTP/2. The one pooled last goes first, so that a light load keeps few
// connections busy.
#include <algorithm>
#include <deque>
#include <functional>
#include <memory>
#include <vector>

#include "connection.hpp"

namespace uptake::loadgen::client {

class ConnectionPool {
 public:
  ConnectionPool(unsigned cap, std::function<std::shared_ptr<Connection>()> open) : cap_(std::max(1u, cap)), open_(std::move(open)) {}

  unsigned cap() const { return cap_; }
  unsigned open_connections() const { return open_connections_; }
  bool can_open() const { return open_connections_ < cap_; }

  // The connection for the next request: one with room (an idle one the server closed is
  // dropped on the way), else a new one while under the cap; null when every connection is full.
  // After sending on it, the caller hands it to sent_on().
  std::shared_ptr<Connection> connection_for_next(Clock::time_point now) {
    while (!available_.empty()) {
      auto connection = available_.back();
      if (!connection->reusable(now)) {
        unpool(connection);
        --open_connections_;  // the server closed it while idle: another may open
        continue;
      }
      if (connection->free_streams() > 0) return connection;
      unpool(connection);
    }
    if (!can_open()) return nullptr;
    ++open_connections_;
    return open_();
  }
  // After a send on `connection` (or an exchange on it that ended): in the list while it has room.
  void sent_on(const std::shared_ptr<Connection>& connection) {
    if (connection->free_streams() > 0) pool(connection);
    else unpool(connection);
  }
  // A connection closed: it leaves the list and the count.
  void lost(const std::shared_ptr<Connection>& connection) {
    unpool(connection);
    --open_connections_;
  }
  // Idle connections the server closed leave the list (used last in, first out, the one at the
  // bottom may sit unused, holding a socket the peer closed, for as long as the load is light).
  void drop_closed(Clock::time_point now) {
    std::erase_if(available_, [this, now](const std::shared_ptr<Connection>& connection) {
      if (connection->reusable(now)) return false;
      connection->pooled = false;
      --open_connections_;
      return true;
    });
  }

  // The requests waiting for room, in intended order; a redirect's next hop (`first`) goes to
  // the front, as its request came before those queued.
  void wait(std::unique_ptr<Pending> pending, bool first) {
    if (first) waiting_.push_front(std::move(pending));
    else waiting_.push_back(std::move(pending));
  }
  bool has_waiting() const { return !waiting_.empty(); }
  std::size_t waiting() const { return waiting_.size(); }
  const Pending& oldest_waiting() const { return *waiting_.front(); }
  std::unique_ptr<Pending> take_waiting() {
    auto next = std::move(waiting_.front());
    waiting_.pop_front();
    return next;
  }

 private:
  void pool(const std::shared_ptr<Connection>& connection) {
    if (connection->pooled) return;
    connection->pooled = true;
    available_.push_back(connection);
  }
  void unpool(const std::shared_ptr<Connection>& connection) {
    if (!connection->pooled) return;
    connection->pooled = false;
    if (available_.back() == connection) available_.pop_back();  // the usual case: the one just taken
    else std::erase(available_, connection);
  }

  unsigned cap_;
  std::function<std::shared_ptr<Connection>()> open_;
  unsigned open_connections_ = 0;
  std::vector<std::shared_ptr<Connection>> available_;  // connections with room, each once
  std::deque<std::unique_ptr<Pending>> waiting_;
};

}  // namespace uptake::loadgen::client
