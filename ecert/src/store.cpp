#include "uptake/ecert/store.hpp"

#include <fmt/format.h>
#include <sqlite3.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <string_view>
#include <system_error>

#include "uptake/base/input_error.hpp"

namespace uptake::ecert {
namespace {

namespace fs = std::filesystem;

// Long enough to ride out a checkpoint or another process's brief lock, short enough that a
// wedged database shows up as errors instead of a hung service.
constexpr int kBusyTimeoutMilliseconds = 5000;

std::atomic<std::uint64_t> next_store_generation{1};

struct DatabaseCloser {
  void operator()(sqlite3* database) const noexcept { sqlite3_close_v2(database); }
};
using Database = std::unique_ptr<sqlite3, DatabaseCloser>;

struct StatementFinalizer {
  void operator()(sqlite3_stmt* statement) const noexcept { sqlite3_finalize(statement); }
};
using Statement = std::unique_ptr<sqlite3_stmt, StatementFinalizer>;

// Leaves a prepared statement ready for its next use however the current use ends, and drops
// its bindings so that no pointer into a caller's string outlives the call.
class StatementUse {
 public:
  explicit StatementUse(sqlite3_stmt* statement) noexcept : statement_(statement) {}
  ~StatementUse() {
    sqlite3_reset(statement_);
    sqlite3_clear_bindings(statement_);
  }
  StatementUse(const StatementUse&) = delete;
  StatementUse& operator=(const StatementUse&) = delete;

 private:
  sqlite3_stmt* statement_;
};

std::string sqlite_error_text(sqlite3* database) {
  return database == nullptr ? std::string("out of memory") : std::string(sqlite3_errmsg(database));
}

Database open_database(const fs::path& file, int flags) {
  sqlite3* raw = nullptr;
  // NOMUTEX: each connection is used by one thread at a time (the writer thread, or the one
  // reader thread it belongs to), so SQLite's per-connection mutex would only cost time.
  const int result = sqlite3_open_v2(file.c_str(), &raw, flags | SQLITE_OPEN_NOMUTEX, nullptr);
  Database database(raw);
  if (result != SQLITE_OK) {
    throw InputError({file.string(), 0, 0}, "", "cannot be opened as a database: " + sqlite_error_text(raw),
                     "a writable SQLite database or a path where one can be created");
  }
  sqlite3_busy_timeout(database.get(), kBusyTimeoutMilliseconds);
  return database;
}

Statement prepare(sqlite3* database, std::string_view sql, const fs::path& file) {
  sqlite3_stmt* raw = nullptr;
  if (sqlite3_prepare_v3(database, sql.data(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT, &raw, nullptr) != SQLITE_OK) {
    throw InputError({file.string(), 0, 0}, "", "is not a usable certificate database: " + sqlite_error_text(database),
                     "a database written by uptake serve");
  }
  return Statement(raw);
}

// Runs a statement that returns at most one row of one text column (a PRAGMA) and gives it.
std::string query_single_text(sqlite3* database, std::string_view sql, const fs::path& file) {
  Statement statement = prepare(database, sql, file);
  const int result = sqlite3_step(statement.get());
  if (result == SQLITE_ROW) {
    const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(statement.get(), 0));
    return text == nullptr ? std::string() : std::string(text);
  }
  if (result != SQLITE_DONE) {
    throw InputError({file.string(), 0, 0}, "", "cannot be used as a database: " + sqlite_error_text(database),
                     "a SQLite database written by uptake serve");
  }
  return {};
}

void execute(sqlite3* database, const char* sql, const fs::path& file) {
  char* message = nullptr;
  if (sqlite3_exec(database, sql, nullptr, nullptr, &message) != SQLITE_OK) {
    std::string text = message != nullptr ? message : sqlite_error_text(database);
    sqlite3_free(message);
    throw InputError({file.string(), 0, 0}, "", "cannot be used as a database: " + text,
                     "a SQLite database written by uptake serve");
  }
}

// SQLite takes lengths as int; a longer string is rejected rather than silently truncated.
bool bind_text(sqlite3_stmt* statement, int index, const std::string& text) {
  if (text.size() > static_cast<std::size_t>(std::numeric_limits<int>::max())) return false;
  return sqlite3_bind_text(statement, index, text.data(), static_cast<int>(text.size()), SQLITE_STATIC) == SQLITE_OK;
}

std::string column_string(sqlite3_stmt* statement, int column) {
  const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(statement, column));
  if (text == nullptr) return {};
  return std::string(text, static_cast<std::size_t>(sqlite3_column_bytes(statement, column)));
}

[[noreturn]] void throw_read_failure(sqlite3* database, const fs::path& file) {
  throw std::runtime_error("reading " + file.string() + ": " + sqlite_error_text(database));
}

constexpr std::string_view kCreateTable =
    "CREATE TABLE IF NOT EXISTS certificates("
    "id TEXT PRIMARY KEY, holder TEXT, type TEXT, issued_at INTEGER, expires_at INTEGER, "
    "credential TEXT, revoked_at INTEGER NULL)";

}  // namespace

struct CertificateStore::PendingWrite {
  enum class Kind { issue, revoke };
  Kind kind = Kind::issue;
  CertificateRecord record;  // a revocation uses record.id and record.revoked_at only
  IssueDone issue_done;
  RevokeDone revoke_done;
};

struct CertificateStore::WriteConnection {
  Database database;
  Statement begin, commit, rollback, insert, revoke, exists;
};

struct CertificateStore::ReadConnection {
  Database database;
  Statement find, revoked;
};

const char* to_string(RevokeResult result) noexcept {
  switch (result) {
    case RevokeResult::revoked: return "revoked";
    case RevokeResult::not_found: return "not_found";
    case RevokeResult::already_revoked: return "already_revoked";
    case RevokeResult::failed: return "failed";
  }
  return "failed";
}

CertificateStore::CertificateStore(const fs::path& data_dir)
    : database_path_(data_dir / "certificates.db"), generation_(next_store_generation.fetch_add(1)) {
  std::error_code error;
  fs::create_directories(data_dir, error);
  if (error) {
    throw InputError({data_dir.string(), 0, 0}, "", "cannot be created: " + error.message(), "a writable data directory");
  }
  // SQLite creates its write-ahead log and index beside the database, so a read-only directory
  // fails even a writable database, with a message ("attempt to write a readonly database")
  // that blames the file.
  if (::access(data_dir.c_str(), W_OK | X_OK) != 0) {
    throw InputError({data_dir.string(), 0, 0}, "", fmt::format("is not writable ({}): the store keeps its database and write-ahead log there", std::strerror(errno)),
                     "a data directory the service may write to");
  }
  if (::access(database_path_.c_str(), F_OK) == 0 && ::access(database_path_.c_str(), R_OK | W_OK) != 0) {
    throw InputError({database_path_.string(), 0, 0}, "", fmt::format("is not writable ({})", std::strerror(errno)), "a database file the service may write to");
  }
  auto connection = std::make_unique<WriteConnection>();
  connection->database = open_database(database_path_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
  sqlite3* database = connection->database.get();
  // WAL is what lets readers proceed during a commit; a filesystem without shared memory
  // support silently keeps the old journal, which would make every read wait for the writer.
  if (query_single_text(database, "PRAGMA journal_mode=WAL", database_path_) != "wal") {
    throw InputError({database_path_.string(), 0, 0}, "", "cannot use write-ahead logging on this filesystem",
                     "a data directory on a local filesystem");
  }
  // FULL: the WAL is fsync'ed at every COMMIT, which the durability invariant relies on.
  execute(database, "PRAGMA synchronous=FULL", database_path_);
  execute(database, std::string(kCreateTable).c_str(), database_path_);
  connection->begin = prepare(database, "BEGIN IMMEDIATE", database_path_);
  connection->commit = prepare(database, "COMMIT", database_path_);
  connection->rollback = prepare(database, "ROLLBACK", database_path_);
  connection->insert = prepare(database,
                               "INSERT INTO certificates(id, holder, type, issued_at, expires_at, credential, revoked_at) "
                               "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                               database_path_);
  connection->revoke = prepare(database, "UPDATE certificates SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL",
                               database_path_);
  connection->exists = prepare(database, "SELECT 1 FROM certificates WHERE id = ?1", database_path_);
  writer_connection_ = std::move(connection);

  writer_ = std::thread([this] { run_writer(); });
  writer_id_ = writer_.get_id();
}

CertificateStore::~CertificateStore() { close(); }

void CertificateStore::issue_async(CertificateRecord record, IssueDone done) {
  {
    std::unique_lock lock(queue_mutex_);
    if (accepting_) {
      queue_.push_back(PendingWrite{PendingWrite::Kind::issue, std::move(record), std::move(done), {}});
      lock.unlock();
      queue_ready_.notify_one();
      return;
    }
  }
  if (done) done(false);
}

void CertificateStore::revoke_async(std::string id, std::int64_t revoked_at_unix_seconds, RevokeDone done) {
  {
    std::unique_lock lock(queue_mutex_);
    if (accepting_) {
      CertificateRecord target;
      target.id = std::move(id);
      target.revoked_at = revoked_at_unix_seconds;
      queue_.push_back(PendingWrite{PendingWrite::Kind::revoke, std::move(target), {}, std::move(done)});
      lock.unlock();
      queue_ready_.notify_one();
      return;
    }
  }
  if (done) done(RevokeResult::failed);
}

void CertificateStore::close() {
  {
    std::lock_guard lock(queue_mutex_);
    accepting_ = false;
  }
  queue_ready_.notify_all();
  // Joining from the writer thread itself would wait forever for this very call.
  if (std::this_thread::get_id() == writer_id_) return;
  std::call_once(join_once_, [this] {
    if (writer_.joinable()) writer_.join();
  });
}

void CertificateStore::run_writer() {
  std::vector<PendingWrite> batch;
  for (;;) {
    {
      std::unique_lock lock(queue_mutex_);
      queue_ready_.wait(lock, [this] { return !queue_.empty() || !accepting_; });
      if (queue_.empty()) return;  // closed, and everything accepted has been answered
      // Swapping hands the queue our emptied buffer: the two vectors alternate, keep their
      // capacity, and writers enqueue into the next batch while this one commits.
      batch.swap(queue_);
    }
    commit_batch(batch);
    batch.clear();
  }
}

void CertificateStore::commit_batch(std::vector<PendingWrite>& batch) {
  record_batch_size(batch.size());
  WriteConnection& connection = *writer_connection_;
  sqlite3* database = connection.database.get();

  // Outcomes are only decided here; they are reported after COMMIT, or turned into failures
  // if it does not happen.
  std::vector<bool> stored(batch.size(), false);
  std::vector<RevokeResult> revoke_results(batch.size(), RevokeResult::failed);

  bool transaction_ok = false;
  {
    StatementUse use(connection.begin.get());
    transaction_ok = sqlite3_step(connection.begin.get()) == SQLITE_DONE;
  }
  for (std::size_t index = 0; transaction_ok && index < batch.size(); ++index) {
    const PendingWrite& write = batch[index];
    const CertificateRecord& record = write.record;
    if (write.kind == PendingWrite::Kind::issue) {
      sqlite3_stmt* insert = connection.insert.get();
      StatementUse use(insert);
      const bool bound = bind_text(insert, 1, record.id) && bind_text(insert, 2, record.holder) &&
                         bind_text(insert, 3, record.type) && sqlite3_bind_int64(insert, 4, record.issued_at) == SQLITE_OK &&
                         sqlite3_bind_int64(insert, 5, record.expires_at) == SQLITE_OK && bind_text(insert, 6, record.credential) &&
                         (record.revoked_at ? sqlite3_bind_int64(insert, 7, *record.revoked_at) : sqlite3_bind_null(insert, 7)) == SQLITE_OK;
      if (!bound) continue;  // this record fails alone
      const int result = sqlite3_step(insert);
      if (result == SQLITE_DONE) {
        stored[index] = true;
      } else if ((result & 0xFF) != SQLITE_CONSTRAINT) {
        // A constraint failure (an id issued twice) undoes only its own statement; anything
        // else (disk full, I/O error) leaves the transaction in doubt, so the batch fails.
        transaction_ok = false;
      }
    } else {
      sqlite3_stmt* revoke = connection.revoke.get();
      StatementUse use(revoke);
      const bool bound = bind_text(revoke, 1, record.id) && sqlite3_bind_int64(revoke, 2, record.revoked_at.value_or(0)) == SQLITE_OK;
      if (!bound) continue;
      if (sqlite3_step(revoke) != SQLITE_DONE) {
        transaction_ok = false;
        continue;
      }
      if (sqlite3_changes(database) == 1) {
        revoke_results[index] = RevokeResult::revoked;
        continue;
      }
      sqlite3_stmt* exists = connection.exists.get();
      StatementUse exists_use(exists);
      bind_text(exists, 1, record.id);
      const int result = sqlite3_step(exists);
      if (result == SQLITE_ROW) {
        revoke_results[index] = RevokeResult::already_revoked;
      } else if (result == SQLITE_DONE) {
        revoke_results[index] = RevokeResult::not_found;
      } else {
        transaction_ok = false;
      }
    }
  }

  bool committed = false;
  if (transaction_ok) {
    StatementUse use(connection.commit.get());
    committed = sqlite3_step(connection.commit.get()) == SQLITE_DONE;
  }
  if (!committed && sqlite3_get_autocommit(database) == 0) {
    StatementUse use(connection.rollback.get());
    sqlite3_step(connection.rollback.get());
  }

  for (std::size_t index = 0; index < batch.size(); ++index) {
    PendingWrite& write = batch[index];
    // A throwing callback is the caller's bug, but it must not cost the rest of the batch
    // its answers nor stop the writer thread.
    try {
      if (write.kind == PendingWrite::Kind::issue) {
        if (write.issue_done) write.issue_done(committed && stored[index]);
      } else if (write.revoke_done) {
        write.revoke_done(committed ? revoke_results[index] : RevokeResult::failed);
      }
    } catch (...) {
    }
  }
}

void CertificateStore::record_batch_size(std::size_t size) noexcept {
  std::size_t bucket = 0;
  while (bucket < kBatchSizeBucketBounds.size() && size > kBatchSizeBucketBounds[bucket]) ++bucket;
  batches_by_size_[bucket].fetch_add(1, std::memory_order_relaxed);
  records_.fetch_add(size, std::memory_order_relaxed);
  batches_.fetch_add(1, std::memory_order_relaxed);
}

BatchStatistics CertificateStore::batch_statistics() const noexcept {
  BatchStatistics statistics;
  // Each counter is exact; a snapshot taken during a batch may show that batch in one counter
  // and not yet in another, which a metrics scrape tolerates.
  statistics.batches = batches_.load(std::memory_order_relaxed);
  statistics.records = records_.load(std::memory_order_relaxed);
  for (std::size_t bucket = 0; bucket < batches_by_size_.size(); ++bucket) {
    statistics.batches_by_size[bucket] = batches_by_size_[bucket].load(std::memory_order_relaxed);
  }
  return statistics;
}

CertificateStore::ReadConnection& CertificateStore::read_connection() const {
  // The last store this thread read from, so that the common case (one store, many reads)
  // needs neither the lock nor the map. The generation, unique per store for the life of the
  // process, keeps a destroyed store's entry from ever matching again.
  struct CachedConnection {
    std::uint64_t generation = 0;
    ReadConnection* connection = nullptr;
  };
  thread_local CachedConnection cached;
  if (cached.generation == generation_) return *cached.connection;

  std::lock_guard lock(readers_mutex_);
  // A thread id may be reused once its thread has ended; the connection it finds then is
  // no longer used by anyone else, so taking it over is safe.
  auto& slot = readers_[std::this_thread::get_id()];
  if (!slot) {
    auto connection = std::make_unique<ReadConnection>();
    connection->database = open_database(database_path_, SQLITE_OPEN_READONLY);
    sqlite3* database = connection->database.get();
    connection->find = prepare(database,
                               "SELECT holder, type, issued_at, expires_at, credential, revoked_at "
                               "FROM certificates WHERE id = ?1",
                               database_path_);
    connection->revoked = prepare(database, "SELECT revoked_at IS NOT NULL FROM certificates WHERE id = ?1", database_path_);
    slot = std::move(connection);
  }
  cached = {generation_, slot.get()};
  return *slot;
}

std::optional<CertificateRecord> CertificateStore::find(const std::string& id) const {
  ReadConnection& connection = read_connection();
  sqlite3_stmt* statement = connection.find.get();
  StatementUse use(statement);
  if (!bind_text(statement, 1, id)) return std::nullopt;  // longer than any stored id can be
  const int result = sqlite3_step(statement);
  if (result == SQLITE_DONE) return std::nullopt;
  if (result != SQLITE_ROW) throw_read_failure(connection.database.get(), database_path_);
  CertificateRecord record;
  record.id = id;
  record.holder = column_string(statement, 0);
  record.type = column_string(statement, 1);
  record.issued_at = sqlite3_column_int64(statement, 2);
  record.expires_at = sqlite3_column_int64(statement, 3);
  record.credential = column_string(statement, 4);
  if (sqlite3_column_type(statement, 5) != SQLITE_NULL) record.revoked_at = sqlite3_column_int64(statement, 5);
  return record;
}

bool CertificateStore::is_revoked(const std::string& id) const {
  ReadConnection& connection = read_connection();
  sqlite3_stmt* statement = connection.revoked.get();
  StatementUse use(statement);
  if (!bind_text(statement, 1, id)) return false;
  const int result = sqlite3_step(statement);
  if (result == SQLITE_DONE) return false;
  if (result != SQLITE_ROW) throw_read_failure(connection.database.get(), database_path_);
  return sqlite3_column_int(statement, 0) != 0;
}

}  // namespace uptake::ecert
