#pragma once
// The engine's client side, below the pacing: a connection carries requests to the target and
// hands each answer (or failure) back to its owner, the worker of one thread. Each protocol has
// its own implementation behind one interface: HTTP/1.1 (one request at a time, keep-alive) and
// HTTP/2 (many concurrent streams on one connection, by libnghttp2). The worker's pool sees only
// how many more requests a connection takes now (free_streams), so the same pool, pacing and
// recording serve both, and the warm-up uses the same client as the run.
//
// Requests travel as HTTP/1.1 bytes, as render_request builds them: cookies and redirects
// rewrite those, whatever the protocol; the HTTP/2 codec translates them into a HEADERS frame
// (and DATA), and its answers back into an HTTP/1.1-style head, which checks, captures and
// cookies read as they read any other.
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "uptake/base/duration.hpp"
#include "uptake/loadgen/run_result.hpp"
#include "uptake/loadgen/target.hpp"

namespace uptake::loadgen::client {

using Clock = std::chrono::steady_clock;
using tcp = boost::asio::ip::tcp;

struct Session;  // the engine's: a journey's session on one thread

// A request waiting for, or travelling on, a connection. Its buffer is recycled.
struct Pending {
  Clock::time_point intended;
  std::uint32_t endpoint = 0;
  std::uint64_t sequence = 0;
  Session* session = nullptr;  // with journeys: the session whose step this is
  std::string bytes;           // the request as HTTP/1.1 puts it on the wire
  int redirects = 0;           // redirects followed so far: its bytes are the latest hop's
  Clock::time_point first_sent;  // with redirects: when its first hop went (service time runs from it)
  bool counted_sent = false;   // counted as sent (by its first hop, its first try)
  bool retried = false;        // refused unprocessed once (HTTP/2), and sent again
};

// What came back for one request: an answer (status > 0), or a failure's class.
struct Reply {
  int status = 0;
  std::string_view head;             // status line and header lines, each ending in CRLF
  std::string_view body;             // as much as the owner asked to keep
  std::int64_t server_time_ns = -1;  // from Server-Timing; -1: none
  std::optional<ErrorClass> error;   // set when there is no answer
  // When the answer's last bytes arrived, by the kernel's receive timestamp, where the answer
  // was read later than it arrived (DeferredReads); else it was read as it arrived.
  std::optional<Clock::time_point> received_at;
};

class Connection;

// What a connection needs from the worker that owns it. All calls come on the worker's thread.
class ConnectionOwner {
 public:
  virtual const Target& target() const = 0;
  virtual const std::vector<tcp::endpoint>& endpoints() const = 0;
  virtual Seconds connect_timeout() const = 0;
  virtual Seconds request_timeout() const = 0;
  // The request was HEAD: its answer has no body whatever it says.
  virtual bool is_head_request(const Pending& pending) const = 0;
  // How much of the answer's body to keep (all of it where checks or captures read it).
  virtual std::size_t kept_body_bytes(const Pending& pending) const = 0;
  virtual void connection_opened() = 0;
  // The connection closed: it takes no more requests and leaves the pool. Called once, before
  // the finished() calls of the requests it still carried.
  virtual void connection_lost(const std::shared_ptr<Connection>& connection) = 0;
  // A request's exchange ended. `connection` is the one that carried it while it stays open
  // (the worker may send the next request on it at once), else null.
  virtual void finished(std::unique_ptr<Pending> pending, Clock::time_point sent_at, const Reply& reply,
                        const std::shared_ptr<Connection>& connection) = 0;
  // The server refused `pending` unprocessed (HTTP/2: a GOAWAY that left its stream out, or a
  // REFUSED_STREAM reset): it may go once more, on another connection.
  virtual void retry(std::unique_ptr<Pending> pending) = 0;
  // Room for more requests opened up on `connection` other than by an answer (HTTP/2: the
  // server's SETTINGS raised its stream limit).
  virtual void room_opened(const std::shared_ptr<Connection>& connection) = 0;
  // Why a request failed, for people, when the class alone does not say (the first is kept).
  virtual void describe_failure(std::string description) = 0;

 protected:
  ~ConnectionOwner() = default;
};

// One connection to the target.
class Connection : public std::enable_shared_from_this<Connection> {
 public:
  virtual ~Connection() = default;
  // Carries `pending` (connecting first when not yet open). Only while free_streams() > 0.
  virtual void send(std::unique_ptr<Pending> pending) = 0;
  // How many more requests it takes now: HTTP/1.1 one when idle, HTTP/2 its stream limit less
  // the streams open. 0 once it is closed or closing.
  virtual unsigned free_streams() const = 0;
  // Fails what is past its deadline (the connect and handshake, or a request) as a timeout.
  // Called by the worker's sweep, ten times a second: no timer per request.
  virtual void expire_if_due(Clock::time_point now) = 0;
  // Whether an idle connection may carry the next request; closes it when not (the server
  // closed it while idle). The caller then drops it from the pool.
  virtual bool reusable(Clock::time_point now) = 0;
  // Closes it now; the requests it carries fail as reset, without a connection_lost call.
  virtual void shut() = 0;
  // Bytes wait on its socket: read them (DeferredReads, for connections made with one).
  virtual void read_deferred() {}

  bool pooled = false;  // in the worker's list of connections with room (one entry each)
};

// The TLS client context of a run: peers are not verified (a load generator measures, it does
// not judge certificates; test targets are self-signed); with `http2`, ALPN offers h2 only.
std::unique_ptr<boost::asio::ssl::context> make_tls_context(bool http2);

class DeferredReads;

// An HTTP/1.1 connection (TLS when `tls` is given). With `deferred` (plain TCP only), its answers
// are read when the owner has `deferred` read them, and timed by their arrival.
std::shared_ptr<Connection> make_http1_connection(ConnectionOwner& owner, boost::asio::io_context& io, boost::asio::ssl::context* tls,
                                                  DeferredReads* deferred = nullptr);
// An HTTP/2 connection: h2 negotiated by ALPN over TLS when `tls` is given, else h2c with prior
// knowledge. At most `streams` concurrent streams, fewer when the server's SETTINGS say so.
std::shared_ptr<Connection> make_http2_connection(ConnectionOwner& owner, boost::asio::io_context& io, boost::asio::ssl::context* tls,
                                                  unsigned streams);

// A connection's byte stream, plain TCP or TLS over it, and its TCP socket.
template <class Stream>
Stream make_stream(boost::asio::io_context& io, boost::asio::ssl::context* tls) {
  if constexpr (std::is_same_v<Stream, tcp::socket>) return Stream(io);
  else return Stream(io, *tls);
}
template <class Stream>
tcp::socket& socket_of(Stream& stream) {
  if constexpr (std::is_same_v<Stream, tcp::socket>) return stream;
  else return stream.next_layer();
}
// Closes both directions and the descriptor; pending operations complete with operation_aborted.
inline void close_socket(tcp::socket& socket) {
  boost::system::error_code ignored;
  if (!socket.is_open()) return;
  socket.shutdown(tcp::socket::shutdown_both, ignored);
  socket.close(ignored);
}

// A failed answer's body for people: its start, anything unprintable (and line breaks) as '.',
// so that it fits on one line of a report.
inline constexpr std::size_t kShownBodyBytes = 160;

}  // namespace uptake::loadgen::client
