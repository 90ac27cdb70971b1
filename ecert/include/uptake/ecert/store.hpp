#pragma once
// The durable certificate store of the reference service: one SQLite database
// (data_dir/certificates.db) in WAL mode with synchronous=FULL.
//
// Durability invariant: a done callback reports success (done(true), RevokeResult::revoked)
// only after the COMMIT of the transaction holding that write has returned, and with
// synchronous=FULL that COMMIT has fsync'ed the write-ahead log. So every acknowledged write
// survives a crash of the process (kill -9) and of the machine, and is in the database the
// next time it is opened. A write whose callback was not yet called may or may not be there.
//
// Group commit: writes are queued; one writer thread takes everything queued, applies it in a
// single transaction, commits once, then answers every callback of that batch. Writes arriving
// during a commit form the next batch, so one fsync serves many requests and durability does
// not serialise throughput.
//
// Thread-safety: every public member may be called from any thread, concurrently, except the
// destructor (see there). Reads use one SQLite connection per calling thread, so under WAL
// they never wait for the writer or for each other.
#include <array>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

struct sqlite3;  // SQLite's connection type; declared here so this header does not include sqlite3.h

namespace uptake::ecert {

struct CertificateRecord {
  std::string id;          // certificate id (the credential's "jti"); primary key
  std::string holder;      // holder id
  std::string type;        // certificate type as issued
  std::string credential;  // the compact JWS as handed to the holder
  std::int64_t issued_at = 0;   // unix seconds
  std::int64_t expires_at = 0;  // unix seconds
  std::optional<std::int64_t> revoked_at;  // unix seconds; empty while not revoked
};

enum class RevokeResult {
  revoked,          // durably marked revoked by this request
  not_found,        // no certificate with that id (as of the batch it was applied in)
  already_revoked,  // was revoked before; revoked_at keeps its first value
  failed,           // the store could not commit (disk full, I/O error, closed): nothing changed
};

const char* to_string(RevokeResult result) noexcept;

// Batch sizes of the group commit, for a Prometheus histogram: bucket i counts the batches
// whose size (issuances plus revocations) is at most kBatchSizeBucketBounds[i] and above the
// previous bound; the last bucket is unbounded (+Inf). The sum is `records`, the count `batches`.
inline constexpr std::array<std::uint64_t, 4> kBatchSizeBucketBounds = {1, 4, 16, 64};

struct BatchStatistics {
  std::uint64_t batches = 0;  // committed or failed transactions
  std::uint64_t records = 0;  // writes in them
  std::array<std::uint64_t, kBatchSizeBucketBounds.size() + 1> batches_by_size{};  // 1, 2-4, 5-16, 17-64, 65+
};

class CertificateStore {
 public:
  using IssueDone = std::function<void(bool committed)>;
  using RevokeDone = std::function<void(RevokeResult)>;

  // Opens (creating if needed) data_dir/certificates.db and starts the writer thread. The
  // directory is created if missing. Throws uptake::InputError naming the database file when
  // it cannot be opened or is not a usable certificate database.
  explicit CertificateStore(const std::filesystem::path& data_dir);

  // Commits everything queued, answers its callbacks, joins the writer thread and closes all
  // connections. Must not run while other threads still call this store, nor from a callback.
  ~CertificateStore();

  CertificateStore(const CertificateStore&) = delete;
  CertificateStore& operator=(const CertificateStore&) = delete;

  // Queues the issuance of a record; done(true) once it is durably committed, done(false) when
  // it was not stored (an id already present, a storage failure). done runs on the writer
  // thread and must be quick and must not throw: it delays the next batch; post the answer to
  // your own thread. After close(), done(false) is called at once, on the calling thread.
  void issue_async(CertificateRecord record, IssueDone done);

  // Queues marking id revoked at revoked_at_unix_seconds; done as for issue_async. Applied in
  // queue order, so a revocation queued after an issuance of the same id sees it.
  // After close(), done(RevokeResult::failed) is called at once, on the calling thread.
  void revoke_async(std::string id, std::int64_t revoked_at_unix_seconds, RevokeDone done);

  // Reads of committed state from any thread. Throws std::runtime_error on a storage failure
  // (an I/O error, a corrupt database); an absent id is not a failure. Valid until destruction,
  // also after close().
  std::optional<CertificateRecord> find(const std::string& id) const;
  bool is_revoked(const std::string& id) const;  // false when the id is unknown

  // Stops accepting writes, commits everything already queued, answers its callbacks and
  // joins the writer thread. Idempotent and safe from any thread, including a thread that
  // handles a termination signal (not the signal handler itself: it locks and joins). Called
  // from a done callback it only stops intake; the destructor then does the join.
  void close();

  BatchStatistics batch_statistics() const noexcept;

  const std::filesystem::path& database_path() const noexcept { return database_path_; }

 private:
  struct PendingWrite;
  struct ReadConnection;
  struct WriteConnection;

  void run_writer();
  void commit_batch(std::vector<PendingWrite>& batch);
  void record_batch_size(std::size_t size) noexcept;
  ReadConnection& read_connection() const;

  std::filesystem::path database_path_;
  // Distinguishes this store from any other one (even at the same address later) in the
  // per-thread cache of read connections.
  std::uint64_t generation_;

  std::unique_ptr<WriteConnection> writer_connection_;  // used by the writer thread only

  std::mutex queue_mutex_;
  std::condition_variable queue_ready_;
  std::vector<PendingWrite> queue_;  // guarded by queue_mutex_
  bool accepting_ = true;            // guarded by queue_mutex_
  std::once_flag join_once_;
  std::thread writer_;
  std::thread::id writer_id_;  // kept apart from writer_, which join() changes under a concurrent close()

  mutable std::mutex readers_mutex_;
  mutable std::unordered_map<std::thread::id, std::unique_ptr<ReadConnection>> readers_;

  std::atomic<std::uint64_t> batches_{0};
  std::atomic<std::uint64_t> records_{0};
  std::array<std::atomic<std::uint64_t>, kBatchSizeBucketBounds.size() + 1> batches_by_size_{};
};

}  // namespace uptake::ecert
