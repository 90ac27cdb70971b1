// HTTP/1.1 connections: one request at a time on a keep-alive connection, plain or over TLS.
//
// Plain sockets and a hand-made response parser rather than beast::tcp_stream and Beast's
// parser: the per-operation timers of tcp_stream and the per-response field containers cost
// more than the rest of a request's work. Deadlines are checked by the worker's sweep instead.
#include <boost/asio/connect.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/write.hpp>
#include <openssl/ssl.h>
#include <sys/socket.h>

#include <cerrno>

#include "connection.hpp"
#include "deferred_reads.hpp"
#include "uptake/loadgen/response_parser.hpp"

namespace uptake::loadgen::client {

namespace net = boost::asio;
namespace ssl = net::ssl;

std::unique_ptr<ssl::context> make_tls_context(bool http2) {
  auto context = std::make_unique<ssl::context>(ssl::context::tls_client);
  context->set_verify_mode(ssl::verify_none);
  if (http2) {
    // ALPN: a length-prefixed list of the protocols offered. Only h2: a server that would answer
    // HTTP/1.1 instead must say so in the handshake, not be taken for an HTTP/2 one.
    static constexpr unsigned char kH2[] = {2, 'h', '2'};
    SSL_CTX_set_alpn_protos(context->native_handle(), kH2, sizeof kH2);
  }
  return context;
}

namespace {

template <class Stream>
class Http1Connection final : public Connection {
 public:
  static constexpr bool kTls = !std::is_same_v<Stream, tcp::socket>;
  Http1Connection(ConnectionOwner& owner, net::io_context& io, ssl::context* tls, DeferredReads* deferred)
      : owner_(owner), stream_(make_stream<Stream>(io, tls)), deferred_(deferred) {}

  void send(std::unique_ptr<Pending> pending) override {
    pending_ = std::move(pending);
    if (early_answer_) return fail(ErrorClass::protocol);  // its answer came before it was written
    if (open_) return write();
    deadline_ = Clock::now() + std::chrono::duration_cast<Clock::duration>(owner_.connect_timeout());
    if (deferred_) deferred_->io_started();
    net::async_connect(socket(), owner_.endpoints(), [self = self()](const boost::system::error_code& ec, const tcp::endpoint&) { self->on_connect(ec); });
  }
  unsigned free_streams() const override { return open_ && !pending_ ? 1 : 0; }
  void expire_if_due(Clock::time_point now) override {
    if (now < deadline_ || timed_out_) return;
    timed_out_ = true;
    close();  // the pending operation completes with operation_aborted
  }
  bool reusable(Clock::time_point now) override {
    // A server may close a keep-alive connection while it is idle (its keep-alive timeout); a
    // request sent on it would then fail through no fault of the target. Nothing may arrive on
    // an idle HTTP/1.1 connection, so a peek that finds a close ends it. Bytes found over plain
    // TCP answer a request not yet written (an unsolicited response): the connection stays in
    // the pool only for the next exchange on it to fail as a protocol error (send()), rather
    // than take them as its answer. Over TLS they may be a record that is no answer (an alert, a
    // session ticket), so the connection just ends. Back-to-back reuse, within a millisecond of
    // the last send, skips the call: a syscall per request costs more than the rest of the
    // exchange's bookkeeping, and bytes that came with the last response were refused already.
    // With DeferredReads the reads before each send have looked already (read_while_idle).
    if (!open_) return false;
    if (deferred_ || early_answer_ || now - sent_at_ < std::chrono::milliseconds(1)) return true;
    char byte;
    const auto peeked = ::recv(socket().native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    if (peeked < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return true;
    if (peeked > 0 && !kTls) return early_answer_ = true;
    close();
    reported_lost_ = true;  // the caller drops it from the pool and its count
    return false;
  }
  void shut() override {
    reported_lost_ = true;
    close();
  }

  // DeferredReads: the answer's bytes (all that came, the rest of it later), each read timed by
  // the kernel; or, while idle, a close or bytes no request asked for.
  void read_deferred() override {
    if (!open_) return;
    if (!awaiting_) {
      if (!pending_) read_while_idle();
      return;  // else the request is still being written: its answer is read once it is out
    }
    for (;;) {
      const auto got = DeferredReads::receive(socket().native_handle(), parser_.prepare(), MSG_DONTWAIT, sent_at_, received_at_);
      const int error = got < 0 ? errno : 0;
      if (error == EINTR) continue;
      if (error == EAGAIN || error == EWOULDBLOCK) return;  // the rest is on its way
      awaiting_.reset();  // read_ready() holds it meanwhile
      if (got <= 0) return on_read(got == 0 ? boost::system::error_code(net::error::eof) : boost::system::error_code(error, boost::system::system_category()), 0);
      if (on_bytes(static_cast<std::size_t>(got)) != ResponseParser::State::need_more) return;
    }
  }

 private:
  tcp::socket& socket() { return socket_of(stream_); }
  std::shared_ptr<Http1Connection> self() { return std::static_pointer_cast<Http1Connection>(shared_from_this()); }

  void on_connect(const boost::system::error_code& ec) {
    // Past --connect-timeout too, a connection that could not be made is a connect error:
    // timeout is kept for requests sent and not answered in time.
    if (deferred_) deferred_->io_ended();
    if (ec) return fail(ErrorClass::connect);
    boost::system::error_code ignored;
    socket().set_option(tcp::no_delay(true), ignored);
    socket().non_blocking(true, ignored);  // read_some and write_some return would_block, never wait
    if (deferred_) deferred_->watch(socket().native_handle(), shared_from_this());
    if constexpr (kTls) {
      SSL_set_tlsext_host_name(stream_.native_handle(), owner_.target().host.c_str());
      stream_.async_handshake(ssl::stream_base::client, [self = self()](const boost::system::error_code& handshake_ec) {
        // The handshake is part of the connection and of its --connect-timeout.
        if (handshake_ec) return self->fail(self->timed_out_ ? ErrorClass::connect : ErrorClass::tls);
        self->opened();
      });
    } else {
      opened();
    }
  }
  void opened() {
    open_ = true;
    owner_.connection_opened();
    write();
  }

  void write() {
    sent_at_ = Clock::now();
    received_at_.reset();
    deadline_ = sent_at_ + std::chrono::duration_cast<Clock::duration>(owner_.request_timeout());
    parser_.start(owner_.is_head_request(*pending_), owner_.kept_body_bytes(*pending_));
    if constexpr (!kTls) {
      // Plain TCP: send at once (a request fits the socket buffer) rather than through a
      // composed write, then read.
      boost::system::error_code ec;
      const auto sent = socket().write_some(net::buffer(pending_->bytes), ec);
      if (!ec && sent == pending_->bytes.size()) return on_write({});
      if (ec && ec != net::error::would_block) return on_write(ec);
      written_ = ec ? 0 : sent;  // the rest goes through Asio's composed write
    }
    if (deferred_) deferred_->io_started();
    net::async_write(stream_, net::buffer(pending_->bytes.data() + written_, pending_->bytes.size() - written_),
                     [self = self()](const boost::system::error_code& ec, std::size_t) {
                       if (self->deferred_) self->deferred_->io_ended();
                       self->written_ = 0;
                       self->on_write(ec);
                     });
  }
  void on_write(const boost::system::error_code& ec) {
    if (ec) return fail(timed_out_ ? ErrorClass::timeout : ErrorClass::reset);
    read();
  }

  // An asynchronous read, not a wait for readability and then a read: Asio re-arms a wait with
  // an epoll_ctl call each time (a syscall per request), while a read queued after one that
  // drained the socket waits for the next readiness edge with no syscall, and is not tried at
  // once (Asio's epoll reactor stops speculating on a descriptor whose last read was short).
  // Per response that leaves the recv that reads it.
  void read() {
    if (deferred_) {
      awaiting_ = shared_from_this();  // read_deferred() reads it
      return;
    }
    const auto space = parser_.prepare();
    stream_.async_read_some(net::buffer(space.data(), space.size()),
                            [self = self()](const boost::system::error_code& ec, std::size_t bytes) { self->on_read(ec, bytes); });
  }
  void on_read(const boost::system::error_code& ec, std::size_t bytes) {
    if (ec) {
      if (timed_out_) return fail(ErrorClass::timeout);
      const bool closed = ec == net::error::eof || ec == ssl::error::stream_truncated;
      if (closed && parser_.end_of_stream() == ResponseParser::State::complete) return on_response();
      if (closed || ec == net::error::connection_reset || ec == net::error::broken_pipe) return fail(ErrorClass::reset);
      return fail(ec.category() == net::error::get_ssl_category() ? ErrorClass::tls : ErrorClass::protocol);
    }
    on_bytes(bytes);
  }
  ResponseParser::State on_bytes(std::size_t bytes) {
    const auto state = parser_.commit(bytes);
    switch (state) {
      case ResponseParser::State::need_more: read(); break;
      case ResponseParser::State::error: fail(ErrorClass::protocol); break;
      case ResponseParser::State::complete: on_response(); break;
    }
    return state;
  }
  // DeferredReads, while no request is out: as reusable() finds at the next request, a close
  // ends the connection, and bytes make its next exchange fail (they are left unread, and no
  // longer watched).
  void read_while_idle() {
    char byte;
    const auto peeked = ::recv(socket().native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    if (peeked < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    if (peeked > 0) {
      early_answer_ = true;
      deferred_->unwatch(socket().native_handle());
      return;
    }
    close();
    lost();
  }

  void on_response() {
    deadline_ = Clock::time_point::max();
    const bool keep = parser_.keep_alive();
    auto connection = shared_from_this();
    if (!keep) {
      close();
      lost();
    }
    // The owner judges the answer: its class depends on the flow's checks.
    const Reply reply{parser_.status(), parser_.head(), parser_.body(), parser_.server_time_ns(), std::nullopt, received_at_};
    owner_.finished(std::move(pending_), sent_at_, reply, keep ? connection : nullptr);
  }

  void fail(ErrorClass error) {
    deadline_ = Clock::time_point::max();
    close();
    lost();
    Reply reply;
    reply.error = error;
    if (pending_) owner_.finished(std::move(pending_), sent_at_, reply, nullptr);
  }
  // Tells the owner, once, that the connection is gone (not after shut(): the owner knows).
  void lost() {
    if (reported_lost_) return;
    reported_lost_ = true;
    owner_.connection_lost(shared_from_this());
  }
  void close() {
    close_socket(socket());
    open_ = false;
    if (awaiting_) {
      // As Asio does with a read it was waiting on: it ends, aborted, after this.
      deferred_->io_started();
      net::post(stream_.get_executor(), [self = self()] {
        self->deferred_->io_ended();
        self->on_read(net::error::operation_aborted, 0);
      });
      awaiting_.reset();
    }
  }

  ConnectionOwner& owner_;
  Stream stream_;
  ResponseParser parser_;
  std::unique_ptr<Pending> pending_;
  Clock::time_point sent_at_;
  Clock::time_point deadline_ = Clock::time_point::max();
  bool timed_out_ = false;
  bool open_ = false;
  bool reported_lost_ = false;
  std::size_t written_ = 0;    // plain TCP: bytes of the request sent before the composed write
  bool early_answer_ = false;  // bytes arrived while idle: the next exchange fails (reusable())
  DeferredReads* deferred_;    // set: answers are read when it says (plain TCP only)
  // With deferred_, while the request is out and its answer is read next: the connection itself,
  // kept alive as a pending read's handler keeps it otherwise.
  std::shared_ptr<Connection> awaiting_;
  std::optional<Clock::time_point> received_at_;  // with deferred_: the answer's bytes so far came then
};

}  // namespace

std::shared_ptr<Connection> make_http1_connection(ConnectionOwner& owner, net::io_context& io, ssl::context* tls, DeferredReads* deferred) {
  if (tls) return std::make_shared<Http1Connection<ssl::stream<tcp::socket>>>(owner, io, tls, nullptr);
  return std::make_shared<Http1Connection<tcp::socket>>(owner, io, nullptr, deferred);
}

}  // namespace uptake::loadgen::client
