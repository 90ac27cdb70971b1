// HTTP/2 connections, framed by libnghttp2: many requests at once, each on a stream of its own.
// h2 is negotiated by ALPN over TLS; over plain TCP the connection starts with the client
// preface (h2c with prior knowledge, RFC 9113 §3.3).
//
// nghttp2 is used without I/O of its own (mem_recv / mem_send): the connection reads with one
// asynchronous read that stays queued, and writes what the session has to send after each
// event, on plain TCP first with one non-blocking write (as the HTTP/1.1 connection does).
// Answers are handed to the owner after nghttp2 returns, never from inside its callbacks: the
// owner may send the next request on this connection at once.
#include <boost/asio/connect.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/write.hpp>
#include <fmt/format.h>
#include <nghttp2/nghttp2.h>
#include <openssl/ssl.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cstring>
#include <limits>

#include "connection.hpp"
#include "uptake/loadgen/http2_request.hpp"
#include "uptake/loadgen/response_parser.hpp"

namespace uptake::loadgen::client {

namespace net = boost::asio;
namespace ssl = net::ssl;

namespace {

// Our receive windows: large, so that the target is never held back by the generator; nghttp2
// sends WINDOW_UPDATE as bodies are read.
constexpr std::int32_t kReceiveWindow = 16 * 1024 * 1024;
// Bytes the session may queue for one write before the socket takes them.
constexpr std::size_t kWriteChunk = 64 * 1024;
constexpr std::size_t kReadBuffer = 16 * 1024;

nghttp2_nv field(std::string_view name, std::string_view value) {
  return {reinterpret_cast<std::uint8_t*>(const_cast<char*>(name.data())), reinterpret_cast<std::uint8_t*>(const_cast<char*>(value.data())),
          name.size(), value.size(), NGHTTP2_NV_FLAG_NONE};
}

template <class Stream>
class Http2Connection final : public Connection {
 public:
  static constexpr bool kTls = !std::is_same_v<Stream, tcp::socket>;

  Http2Connection(ConnectionOwner& owner, net::io_context& io, ssl::context* tls, unsigned streams)
      : owner_(owner), stream_(make_stream<Stream>(io, tls)), most_streams_(std::max(1u, streams)), authority_(owner.target().host_header()) {
    nghttp2_session_callbacks* callbacks = nullptr;
    nghttp2_session_callbacks_new(&callbacks);
    nghttp2_session_callbacks_set_on_header_callback(callbacks, &Http2Connection::on_header);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(callbacks, &Http2Connection::on_data_chunk);
    nghttp2_session_callbacks_set_on_frame_recv_callback(callbacks, &Http2Connection::on_frame_recv);
    nghttp2_session_callbacks_set_on_frame_send_callback(callbacks, &Http2Connection::on_frame_send);
    nghttp2_session_callbacks_set_on_stream_close_callback(callbacks, &Http2Connection::on_stream_close);
    nghttp2_option* option = nullptr;
    nghttp2_option_new(&option);
    // Until the server's SETTINGS arrive, as many streams as we mean to use.
    nghttp2_option_set_peer_max_concurrent_streams(option, most_streams_);
    nghttp2_session_client_new2(&session_, callbacks, this, option);
    nghttp2_option_del(option);
    nghttp2_session_callbacks_del(callbacks);
    const nghttp2_settings_entry settings[] = {{NGHTTP2_SETTINGS_ENABLE_PUSH, 0},
                                               {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, static_cast<std::uint32_t>(kReceiveWindow)},
                                               {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, static_cast<std::uint32_t>(kMostResponseHeadBytes)}};
    nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, settings, std::size(settings));
    nghttp2_session_set_local_window_size(session_, NGHTTP2_FLAG_NONE, 0, kReceiveWindow);
    read_buffer_.resize(kReadBuffer);
  }
  ~Http2Connection() override { nghttp2_session_del(session_); }

  void send(std::unique_ptr<Pending> pending) override {
    auto* exchange = take_exchange();
    exchange->pending = std::move(pending);
    exchange->kept_body_bytes = owner_.kept_body_bytes(*exchange->pending);
    const std::string_view bytes = exchange->pending->bytes;
    if (!http2_request_fields(bytes, kTls, authority_, request_fields_, exchange->body_offset)) return fail_exchange(exchange, ErrorClass::protocol);
    fields_.clear();
    for (const auto& [name, value] : request_fields_) fields_.push_back(field(name, value));
    nghttp2_data_provider body{};
    body.source.ptr = exchange;
    body.read_callback = &Http2Connection::read_body;
    const bool has_body = exchange->body_offset < bytes.size();
    const auto id = nghttp2_submit_request(session_, nullptr, fields_.data(), fields_.size(), has_body ? &body : nullptr, exchange);
    if (id < 0) {
      // Stream ids are spent (2^31 on one connection): it takes no more, and this one goes again.
      accepting_ = false;
      return fail_exchange(exchange, ErrorClass::protocol);
    }
    exchange->id = id;
    // Until its HEADERS go (a stream the server's limit holds back waits in the session), its
    // time-out runs from now.
    exchange->deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(owner_.request_timeout());
    ++active_;
    if (!connecting_ && !open_ && !closed_) return connect();
    flush();
  }

  unsigned free_streams() const override {
    if (!accepting_ || closed_) return 0;
    const auto server_limit = nghttp2_session_get_remote_settings(session_, NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS);
    const auto limit = std::min<std::uint64_t>(most_streams_, server_limit);
    return limit > active_ ? static_cast<unsigned>(limit - active_) : 0;
  }

  void expire_if_due(Clock::time_point now) override {
    if (closed_) return;
    if (!open_) {
      if (connecting_ && now >= connect_deadline_) {
        timed_out_connect_ = true;
        close_socket();  // the connect or handshake completes with operation_aborted
      }
      return;
    }
    // A request past its deadline: its stream is reset (the connection goes on), and it fails
    // as a timeout, or as flow_control when its body was waiting for the server's window.
    bool reset = false;
    for (auto& exchange : exchanges_) {
      if (!exchange->pending || exchange->id <= 0 || exchange->timed_out || now < exchange->deadline) continue;
      exchange->timed_out = true;
      const bool body_waiting = exchange->body_offset < exchange->pending->bytes.size() &&
                                nghttp2_session_get_stream_remote_window_size(session_, exchange->id) <= 0;
      exchange->failure = body_waiting ? ErrorClass::flow_control : ErrorClass::timeout;
      nghttp2_submit_rst_stream(session_, NGHTTP2_FLAG_NONE, exchange->id, NGHTTP2_CANCEL);
      reset = true;
    }
    if (reset) flush();
  }

  // The reads never stop, so a close is noticed when it comes: nothing to look at here.
  bool reusable(Clock::time_point) override { return !closed_; }

  void shut() override {
    reported_lost_ = true;
    fail_all(ErrorClass::reset);
  }

 private:
  // One request and what came back for it so far.
  struct Exchange {
    std::unique_ptr<Pending> pending;
    std::int32_t id = 0;
    std::size_t body_offset = 0;  // where the request's body starts in pending->bytes
    std::size_t kept_body_bytes = 0;
    Clock::time_point sent_at;
    Clock::time_point deadline = Clock::time_point::max();
    int status = 0;
    std::string head;        // "HTTP/2 200\r\n" and "name: value\r\n" lines
    std::string body;
    std::size_t body_read = 0;
    std::int64_t server_time_ns = -1;
    bool timed_out = false;
    bool reset_by_us = false;       // we sent RST_STREAM (a timeout, or an answer nghttp2 refused)
    bool reset_by_server = false;   // the server sent RST_STREAM
    bool answer_complete = false;   // the final answer's END_STREAM arrived
    std::optional<ErrorClass> failure;
    bool refused = false;           // unprocessed by the server: may go once more elsewhere
    bool done = false;              // closed, waiting to be handed to the owner
  };

  std::shared_ptr<Http2Connection> self() { return std::static_pointer_cast<Http2Connection>(shared_from_this()); }
  tcp::socket& socket() { return socket_of(stream_); }

  Exchange* take_exchange() {
    for (auto& exchange : exchanges_) {
      if (!exchange->pending && !exchange->done) {
        *exchange = Exchange{};
        return exchange.get();
      }
    }
    exchanges_.push_back(std::make_unique<Exchange>());
    return exchanges_.back().get();
  }

  void connect() {
    connecting_ = true;
    connect_deadline_ = Clock::now() + std::chrono::duration_cast<Clock::duration>(owner_.connect_timeout());
    net::async_connect(socket(), owner_.endpoints(), [self = self()](const boost::system::error_code& ec, const tcp::endpoint&) {
      if (ec) return self->fail_all(ErrorClass::connect);
      boost::system::error_code ignored;
      self->socket().set_option(tcp::no_delay(true), ignored);
      self->socket().non_blocking(true, ignored);
      if constexpr (kTls) {
        SSL_set_tlsext_host_name(self->stream_.native_handle(), self->owner_.target().host.c_str());
        self->stream_.async_handshake(ssl::stream_base::client, [self](const boost::system::error_code& handshake_ec) {
          if (handshake_ec && !self->timed_out_connect_) {
            self->owner_.describe_failure(fmt::format("TLS handshake with {} failed ({}); with --http2 uptake offers only h2 by ALPN, so a server without HTTP/2 may refuse it",
                                                      self->owner_.target().to_string(), handshake_ec.message()));
          }
          if (handshake_ec) return self->fail_all(self->timed_out_connect_ ? ErrorClass::connect : ErrorClass::tls);
          const unsigned char* protocol = nullptr;
          unsigned length = 0;
          SSL_get0_alpn_selected(self->stream_.native_handle(), &protocol, &length);
          if (length != 2 || std::memcmp(protocol, "h2", 2) != 0) {
            self->owner_.describe_failure(fmt::format("{} did not choose HTTP/2 by ALPN in the TLS handshake ({}); run without --http2, or turn h2 on at the target",
                                                      self->owner_.target().to_string(),
                                                      length ? fmt::format("it chose {}", std::string_view(reinterpret_cast<const char*>(protocol), length)) : "it chose none"));
            return self->fail_all(ErrorClass::protocol);
          }
          self->opened();
        });
      } else {
        self->opened();
      }
    });
  }

  void opened() {
    connecting_ = false;
    open_ = true;
    owner_.connection_opened();
    flush();
    read();
  }

  void read() {
    stream_.async_read_some(net::buffer(read_buffer_), [self = self()](const boost::system::error_code& ec, std::size_t bytes) { self->on_read(ec, bytes); });
  }

  void on_read(const boost::system::error_code& ec, std::size_t bytes) {
    if (closed_) return;
    if (ec) {
      const bool closed = ec == net::error::eof || ec == ssl::error::stream_truncated;
      if (!received_any_ && !kTls) {
        owner_.describe_failure(fmt::format("{} closed the connection before any HTTP/2 frame ({}); a server without h2c closes it on the HTTP/2 preface: "
                                            "run without --http2, or use an https:// target that offers h2",
                                            owner_.target().to_string(), ec.message()));
      }
      if (closed || ec == net::error::connection_reset || ec == net::error::broken_pipe || ec == net::error::operation_aborted) return fail_all(ErrorClass::reset);
      return fail_all(ec.category() == net::error::get_ssl_category() ? ErrorClass::tls : ErrorClass::protocol);
    }
    const auto consumed = nghttp2_session_mem_recv(session_, read_buffer_.data(), bytes);
    if (consumed < 0) {
      owner_.describe_failure(fmt::format("HTTP/2 framing from {}: {}{}", owner_.target().to_string(), nghttp2_strerror(static_cast<int>(consumed)),
                                          !received_any_ && !kTls ? " (does the target speak h2c with prior knowledge? run without --http2 if not)" : ""));
      return fail_all(ErrorClass::protocol);
    }
    received_any_ = true;
    deliver();
    if (closed_) return;
    flush();
    if (closed_) return;
    read();
  }

  // Everything the session has to send, written; a write in flight takes the rest when it
  // ends. Re-entered (an answer handed over here leads to a new request), it only asks the
  // running loop for one more round.
  void flush() {
    if (!open_ || closed_ || writing_) return;
    if (flushing_) {
      flush_again_ = true;
      return;
    }
    flushing_ = true;
    auto keep = self();
    for (;;) {
      flush_again_ = false;
      write_buffer_.clear();
      bool failed = false;
      for (;;) {
        const std::uint8_t* data = nullptr;
        const auto size = nghttp2_session_mem_send(session_, &data);
        if (size < 0) failed = true;
        if (size <= 0) break;
        write_buffer_.append(reinterpret_cast<const char*>(data), static_cast<std::size_t>(size));
        if (write_buffer_.size() >= kWriteChunk) break;
      }
      if (failed) {
        flushing_ = false;
        return fail_all(ErrorClass::protocol);
      }
      deliver();  // streams that closed as their last frame went (a reset, or a body's end sent after the answer)
      if (closed_) break;
      if (write_buffer_.empty()) {
        if (flush_again_) continue;
        close_if_spent();
        break;
      }
      std::size_t written = 0;
      if constexpr (!kTls) {
        boost::system::error_code ec;
        written = socket().write_some(net::buffer(write_buffer_), ec);
        if (ec && ec != net::error::would_block) {
          flushing_ = false;
          return fail_all(ErrorClass::reset);
        }
        if (ec) written = 0;
        if (written == write_buffer_.size()) continue;
      }
      writing_ = true;
      net::async_write(stream_, net::buffer(write_buffer_.data() + written, write_buffer_.size() - written),
                       [self = self()](const boost::system::error_code& ec, std::size_t) {
                         self->writing_ = false;
                         if (self->closed_) return;
                         if (ec) return self->fail_all(ErrorClass::reset);
                         self->flush();
                       });
      break;
    }
    flushing_ = false;
  }

  // After the server's GOAWAY, once its last stream is done, the connection ends.
  void close_if_spent() {
    if (!accepting_ && active_ == 0 && open_) {
      reported_lost_ = true;  // told at the GOAWAY already
      close_socket();
      closed_ = true;
    }
  }

  // The exchanges that ended, to the owner: outside nghttp2's callbacks, since the owner may send
  // the next request on this connection at once.
  void deliver() {
    if (delivering_) return;
    delivering_ = true;
    auto keep = self();
    for (bool any = true; any;) {
      any = false;
      for (auto& slot : exchanges_) {
        if (!slot->done) continue;
        any = true;
        auto& exchange = *slot;
        exchange.done = false;
        --active_;
        auto pending = std::move(exchange.pending);
        if (exchange.refused && !exchange.failure && !pending->retried) {
          // The server says it did not process the request: it goes once more, on another
          // connection; the wait counts in its response time.
          pending->retried = true;
          owner_.retry(std::move(pending));
          continue;
        }
        Reply reply;
        if (!exchange.failure && exchange.status > 0) {
          reply.status = exchange.status;
          reply.head = exchange.head;
          reply.body = exchange.body;
          reply.server_time_ns = exchange.server_time_ns;
        } else {
          const auto refusal = exchange.reset_by_server ? ErrorClass::stream_reset : ErrorClass::goaway;
          reply.error = exchange.failure.value_or(exchange.refused ? refusal : ErrorClass::protocol);
        }
        owner_.finished(std::move(pending), exchange.sent_at, reply, closed_ ? nullptr : keep);
      }
    }
    delivering_ = false;
    if (room_opened_ && !closed_) {
      room_opened_ = false;
      owner_.room_opened(keep);
    }
  }

  // The connection ends: every request on it fails (`error`), or, unsent, goes again.
  void fail_all(ErrorClass error) {
    if (closed_) return;
    closed_ = true;
    open_ = false;
    connecting_ = false;
    close_socket();
    auto keep = self();
    if (!reported_lost_) {
      reported_lost_ = true;
      owner_.connection_lost(keep);
    }
    for (auto& exchange : exchanges_) {
      if (!exchange->pending || exchange->done) continue;
      exchange->failure = exchange->timed_out ? exchange->failure : error;
      exchange->done = true;
    }
    deliver();
  }

  // A request that never became a stream.
  void fail_exchange(Exchange* exchange, ErrorClass error) {
    exchange->failure = error;
    exchange->done = true;
    ++active_;
    deliver();
  }

  void close_socket() { client::close_socket(socket()); }

  static Exchange* exchange_of(nghttp2_session* session, std::int32_t id) {
    return static_cast<Exchange*>(nghttp2_session_get_stream_user_data(session, id));
  }

  static int on_header(nghttp2_session* session, const nghttp2_frame* frame, const std::uint8_t* name_bytes, std::size_t name_size,
                       const std::uint8_t* value_bytes, std::size_t value_size, std::uint8_t, void*) {
    if (frame->hd.type != NGHTTP2_HEADERS) return 0;
    auto* exchange = exchange_of(session, frame->hd.stream_id);
    if (!exchange) return 0;
    const std::string_view name(reinterpret_cast<const char*>(name_bytes), name_size);
    const std::string_view value(reinterpret_cast<const char*>(value_bytes), value_size);
    if (name == ":status") {
      int status = 0;
      std::from_chars(value.data(), value.data() + value.size(), status);
      // An interim (1xx) answer's fields give way to the final answer's.
      exchange->status = status;
      exchange->head.clear();
      fmt::format_to(std::back_inserter(exchange->head), "HTTP/2 {}\r\n", value);
      return 0;
    }
    if (exchange->status == 0) return 0;  // trailers before an answer: nghttp2 refuses those itself
    if (exchange->head.size() + name.size() + value.size() + 4 > kMostResponseHeadBytes) {
      exchange->failure = ErrorClass::protocol;
      return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;  // the stream is reset
    }
    exchange->head.append(name).append(": ").append(value).append("\r\n");
    if (name == "server-timing" && exchange->server_time_ns < 0) exchange->server_time_ns = server_timing_duration_ns(value);
    return 0;
  }

  static int on_data_chunk(nghttp2_session* session, std::uint8_t, std::int32_t id, const std::uint8_t* data, std::size_t size, void*) {
    auto* exchange = exchange_of(session, id);
    if (!exchange) return 0;
    exchange->body_read += size;
    if (exchange->body_read > kMostResponseBodyBytes) {
      exchange->failure = ErrorClass::protocol;
      return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    }
    const auto room = exchange->kept_body_bytes - std::min(exchange->kept_body_bytes, exchange->body.size());
    exchange->body.append(reinterpret_cast<const char*>(data), std::min(size, room));
    return 0;
  }

  static int on_frame_recv(nghttp2_session* session, const nghttp2_frame* frame, void* user) {
    auto& connection = *static_cast<Http2Connection*>(user);
    switch (frame->hd.type) {
      case NGHTTP2_SETTINGS:
        if (!(frame->hd.flags & NGHTTP2_FLAG_ACK)) connection.room_opened_ = true;
        break;
      case NGHTTP2_HEADERS:
      case NGHTTP2_DATA:
        if (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) {
          if (auto* exchange = exchange_of(session, frame->hd.stream_id)) exchange->answer_complete = exchange->status >= 200;
        }
        break;
      case NGHTTP2_RST_STREAM:
        if (auto* exchange = exchange_of(session, frame->hd.stream_id)) {
          exchange->reset_by_server = true;
          if (frame->rst_stream.error_code == NGHTTP2_REFUSED_STREAM) exchange->refused = true;
        }
        break;
      case NGHTTP2_GOAWAY:
        connection.goaway(frame->goaway);
        break;
      default: break;
    }
    return 0;
  }

  // The server takes no new streams. The streams it names as unprocessed (above its last stream
  // id) are closed by nghttp2 next; the others run to their end, and then the connection closes.
  // It leaves the owner's pool and count now, so that another may open at once.
  void goaway(const nghttp2_goaway& frame) {
    accepting_ = false;
    for (auto& exchange : exchanges_) {
      if (!exchange->pending || exchange->id <= frame.last_stream_id) continue;
      exchange->refused = true;
      if (frame.error_code != NGHTTP2_NO_ERROR) exchange->failure = ErrorClass::goaway;
    }
    if (frame.error_code != NGHTTP2_NO_ERROR) {
      owner_.describe_failure(fmt::format("GOAWAY from {}: {}", owner_.target().to_string(), nghttp2_http2_strerror(frame.error_code)));
    }
    if (!reported_lost_) {
      reported_lost_ = true;
      owner_.connection_lost(self());
    }
  }

  static int on_frame_send(nghttp2_session* session, const nghttp2_frame* frame, void* user) {
    auto& connection = *static_cast<Http2Connection*>(user);
    if (frame->hd.type == NGHTTP2_HEADERS) {
      if (auto* exchange = exchange_of(session, frame->hd.stream_id)) {
        exchange->sent_at = Clock::now();
        exchange->deadline = exchange->sent_at + std::chrono::duration_cast<Clock::duration>(connection.owner_.request_timeout());
      }
    } else if (frame->hd.type == NGHTTP2_RST_STREAM) {
      if (auto* exchange = exchange_of(session, frame->hd.stream_id)) exchange->reset_by_us = true;
    }
    return 0;
  }

  static int on_stream_close(nghttp2_session* session, std::int32_t id, std::uint32_t error_code, void*) {
    auto* exchange = exchange_of(session, id);
    if (!exchange || !exchange->pending) return 0;
    if (error_code == NGHTTP2_REFUSED_STREAM) exchange->refused = true;
    if (!exchange->failure && !exchange->refused) {
      // A whole answer and then RST_STREAM with NO_ERROR is a server that needs no more of the
      // request's body (RFC 9113 §8.1): answered.
      if (exchange->answer_complete && error_code == NGHTTP2_NO_ERROR) exchange->reset_by_server = false;
      if (error_code == NGHTTP2_FLOW_CONTROL_ERROR) exchange->failure = ErrorClass::flow_control;
      else if (exchange->reset_by_server) exchange->failure = ErrorClass::stream_reset;
      else if (error_code != NGHTTP2_NO_ERROR || exchange->reset_by_us || !exchange->answer_complete) exchange->failure = ErrorClass::protocol;
    }
    exchange->done = true;
    return 0;
  }

  static ssize_t read_body(nghttp2_session*, std::int32_t, std::uint8_t* buffer, std::size_t length, std::uint32_t* flags, nghttp2_data_source* source,
                           void*) {
    auto& exchange = *static_cast<Exchange*>(source->ptr);
    const std::string_view bytes = exchange.pending->bytes;
    const auto size = std::min(length, bytes.size() - exchange.body_offset);
    std::memcpy(buffer, bytes.data() + exchange.body_offset, size);
    exchange.body_offset += size;
    if (exchange.body_offset == bytes.size()) *flags |= NGHTTP2_DATA_FLAG_EOF;
    return static_cast<ssize_t>(size);
  }

  ConnectionOwner& owner_;
  Stream stream_;
  nghttp2_session* session_ = nullptr;
  unsigned most_streams_;
  std::string authority_;
  std::vector<HeaderField> request_fields_;        // one request's, reused
  std::vector<nghttp2_nv> fields_;
  std::vector<std::unique_ptr<Exchange>> exchanges_;  // reused; as many as were ever open at once
  std::vector<std::uint8_t> read_buffer_;
  std::string write_buffer_;
  unsigned active_ = 0;                            // exchanges sent and not yet handed back
  Clock::time_point connect_deadline_ = Clock::time_point::max();
  bool connecting_ = false;
  bool open_ = false;
  bool closed_ = false;
  bool accepting_ = true;     // false after the server's GOAWAY
  bool writing_ = false;
  bool flushing_ = false;
  bool flush_again_ = false;  // flush() was called while it ran
  bool delivering_ = false;
  bool room_opened_ = false;  // the server's SETTINGS came: its stream limit may have risen
  bool received_any_ = false;
  bool timed_out_connect_ = false;
  bool reported_lost_ = false;
};

}  // namespace

std::shared_ptr<Connection> make_http2_connection(ConnectionOwner& owner, net::io_context& io, ssl::context* tls, unsigned streams) {
  if (tls) return std::make_shared<Http2Connection<ssl::stream<tcp::socket>>>(owner, io, tls, streams);
  return std::make_shared<Http2Connection<tcp::socket>>(owner, io, nullptr, streams);
}

}  // namespace uptake::loadgen::client
