#include <catch2/catch.hpp>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <future>
#include <latch>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "uptake/base/input_error.hpp"
#include "temporary_directory.hpp"
#include "uptake/ecert/store.hpp"

using namespace uptake::ecert;
using uptake::test::TemporaryDirectory;
namespace fs = std::filesystem;

namespace {


CertificateRecord make_record(const std::string& id) {
  CertificateRecord record;
  record.id = id;
  record.holder = "holder-of-" + id;
  record.type = "VaccinationCertificate";
  record.credential = "header.payload-" + id + ".signature";
  record.issued_at = 1'700'000'000;
  record.expires_at = 1'731'536'000;
  return record;
}

bool issue_and_wait(CertificateStore& store, CertificateRecord record) {
  std::promise<bool> committed;
  auto answer = committed.get_future();
  store.issue_async(std::move(record), [&committed](bool ok) { committed.set_value(ok); });
  return answer.get();
}

RevokeResult revoke_and_wait(CertificateStore& store, const std::string& id, std::int64_t now) {
  std::promise<RevokeResult> result;
  auto answer = result.get_future();
  store.revoke_async(id, now, [&result](RevokeResult outcome) { result.set_value(outcome); });
  return answer.get();
}

std::uint64_t sum(const BatchStatistics& statistics) {
  std::uint64_t total = 0;
  for (const auto count : statistics.batches_by_size) total += count;
  return total;
}

}  // namespace

TEST_CASE("concurrent issuances are all acknowledged, readable and durable") {
  TemporaryDirectory directory("ecert-store-test");
  constexpr int kThreads = 4;
  constexpr int kPerThread = 400;
  std::atomic<int> committed{0};
  std::atomic<int> refused{0};
  {
    CertificateStore store(directory.path());
    std::latch all_answered(kThreads * kPerThread);
    std::vector<std::thread> issuers;
    for (int thread = 0; thread < kThreads; ++thread) {
      issuers.emplace_back([&, thread] {
        for (int index = 0; index < kPerThread; ++index) {
          store.issue_async(make_record("t" + std::to_string(thread) + "-" + std::to_string(index)), [&](bool ok) {
            (ok ? committed : refused).fetch_add(1);
            all_answered.count_down();
          });
        }
      });
    }
    for (auto& issuer : issuers) issuer.join();
    all_answered.wait();
    CHECK(committed == kThreads * kPerThread);
    CHECK(refused == 0);

    const BatchStatistics statistics = store.batch_statistics();
    CHECK(statistics.records == kThreads * kPerThread);
    CHECK(statistics.batches >= 1);
    CHECK(sum(statistics) == statistics.batches);

    // An acknowledged write is visible to readers on any thread at once.
    std::atomic<int> found{0};
    std::vector<std::thread> readers;
    for (int thread = 0; thread < kThreads; ++thread) {
      readers.emplace_back([&, thread] {
        for (int index = 0; index < kPerThread; ++index) {
          if (store.find("t" + std::to_string(thread) + "-" + std::to_string(index))) found.fetch_add(1);
        }
      });
    }
    for (auto& reader : readers) reader.join();
    CHECK(found == kThreads * kPerThread);
  }

  const CertificateStore reopened(directory.path());
  for (int thread = 0; thread < kThreads; ++thread) {
    for (int index = 0; index < kPerThread; ++index) {
      const std::string id = "t" + std::to_string(thread) + "-" + std::to_string(index);
      const auto record = reopened.find(id);
      REQUIRE(record);
      CHECK(record->holder == "holder-of-" + id);
      CHECK(record->credential == "header.payload-" + id + ".signature");
      CHECK(record->issued_at == 1'700'000'000);
      CHECK(record->expires_at == 1'731'536'000);
      CHECK_FALSE(record->revoked_at);
    }
  }
  CHECK_FALSE(reopened.find("t0-999999"));
}

TEST_CASE("writes that arrive during a commit share the next one") {
  TemporaryDirectory directory("ecert-store-test");
  CertificateStore store(directory.path());
  constexpr int kThreads = 4;
  constexpr int kPerThread = 25;

  // The first callback runs on the writer thread after its commit; holding it there while the
  // others are queued makes the next batch take all of them, whatever the scheduling.
  std::promise<void> writer_held;
  std::promise<void> release_writer;
  std::shared_future<void> released = release_writer.get_future().share();
  std::latch all_answered(1 + kThreads * kPerThread);
  store.issue_async(make_record("first"), [&](bool ok) {
    CHECK(ok);
    writer_held.set_value();
    released.wait();
    all_answered.count_down();
  });
  writer_held.get_future().wait();

  std::atomic<int> committed{0};
  std::vector<std::thread> issuers;
  for (int thread = 0; thread < kThreads; ++thread) {
    issuers.emplace_back([&, thread] {
      for (int index = 0; index < kPerThread; ++index) {
        store.issue_async(make_record("b" + std::to_string(thread) + "-" + std::to_string(index)), [&](bool ok) {
          if (ok) committed.fetch_add(1);
          all_answered.count_down();
        });
      }
    });
  }
  for (auto& issuer : issuers) issuer.join();
  release_writer.set_value();
  all_answered.wait();

  CHECK(committed == kThreads * kPerThread);
  const BatchStatistics statistics = store.batch_statistics();
  CHECK(statistics.batches == 2);
  CHECK(statistics.records == 1 + kThreads * kPerThread);
  CHECK(statistics.batches_by_size[0] == 1);  // "first" alone
  CHECK(statistics.batches_by_size[4] == 1);  // the 100 queued meanwhile, in one transaction
}

TEST_CASE("revocation answers revoked, already_revoked or not_found") {
  TemporaryDirectory directory("ecert-store-test");
  CertificateStore store(directory.path());
  REQUIRE(issue_and_wait(store, make_record("cert-a")));
  CHECK_FALSE(store.is_revoked("cert-a"));

  CHECK(revoke_and_wait(store, "cert-a", 1'700'000'100) == RevokeResult::revoked);
  CHECK(store.is_revoked("cert-a"));
  CHECK(revoke_and_wait(store, "cert-a", 1'700'000'200) == RevokeResult::already_revoked);
  CHECK(store.find("cert-a")->revoked_at == 1'700'000'100);  // the first revocation stands
  CHECK(revoke_and_wait(store, "no-such-cert", 1'700'000'100) == RevokeResult::not_found);
  CHECK_FALSE(store.is_revoked("no-such-cert"));
  CHECK(std::string(to_string(RevokeResult::already_revoked)) == "already_revoked");

  // An id is issued once; the duplicate is refused and the original kept.
  CertificateRecord duplicate = make_record("cert-a");
  duplicate.holder = "impostor";
  CHECK_FALSE(issue_and_wait(store, duplicate));
  CHECK(store.find("cert-a")->holder == "holder-of-cert-a");

  // Queue order holds inside one batch: the revocation sees the issuance queued before it.
  std::promise<bool> issued;
  std::promise<RevokeResult> revoked;
  store.issue_async(make_record("cert-b"), [&](bool ok) { issued.set_value(ok); });
  store.revoke_async("cert-b", 1'700'000'300, [&](RevokeResult result) { revoked.set_value(result); });
  CHECK(issued.get_future().get());
  CHECK(revoked.get_future().get() == RevokeResult::revoked);
  CHECK(store.find("cert-b")->revoked_at == 1'700'000'300);
}

TEST_CASE("close commits what is queued, then refuses new writes") {
  TemporaryDirectory directory("ecert-store-test");
  constexpr int kQueued = 300;
  std::atomic<int> committed{0};
  {
    CertificateStore store(directory.path());
    for (int index = 0; index < kQueued; ++index) {
      store.issue_async(make_record("q" + std::to_string(index)), [&](bool ok) {
        if (ok) committed.fetch_add(1);
      });
    }
    store.close();
    CHECK(committed == kQueued);  // answered before close() returned: no waiting here

    bool late_issue_answer = true;
    store.issue_async(make_record("late"), [&](bool ok) { late_issue_answer = ok; });
    CHECK_FALSE(late_issue_answer);
    RevokeResult late_revoke_answer = RevokeResult::revoked;
    store.revoke_async("q0", 1'700'000'000, [&](RevokeResult result) { late_revoke_answer = result; });
    CHECK(late_revoke_answer == RevokeResult::failed);

    store.close();  // a second close (say, signal path, then destructor) is harmless
    CHECK(store.find("q0"));  // reads still work after close
  }
  const CertificateStore reopened(directory.path());
  for (int index = 0; index < kQueued; ++index) CHECK(reopened.find("q" + std::to_string(index)));
  CHECK_FALSE(reopened.find("late"));
  CHECK_FALSE(reopened.is_revoked("q0"));
}

TEST_CASE("a file that is not a database is an input error naming it") {
  TemporaryDirectory directory("ecert-store-test");
  fs::create_directories(directory.path());
  const fs::path database = directory.path() / "certificates.db";
  {
    std::FILE* file = std::fopen(database.c_str(), "wb");
    REQUIRE(file);
    std::fputs("this is not an SQLite database, just some text that is long enough to be read", file);
    std::fclose(file);
  }
  try {
    CertificateStore store(directory.path());
    FAIL("a corrupt database was opened");
  } catch (const uptake::InputError& error) {
    CHECK(error.where().file == database.string());
  }
}

// Issues from a child process until at least `enough` issuances are acknowledged, kills it
// with SIGKILL mid-stream and returns every index it acknowledged (ids "k<round>-<index>").
std::set<int> issue_in_child_then_kill(const fs::path& data_dir, int round, std::size_t enough) {
  int acknowledgements[2];
  REQUIRE(::pipe(acknowledgements) == 0);
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    // The child issues as fast as it can and reports each acknowledgement on the pipe; it never
    // returns into the test framework and dies by SIGKILL (or by the alarm, if orphaned).
    ::close(acknowledgements[0]);
    ::alarm(60);
    const int report = acknowledgements[1];
    CertificateStore store(data_dir);
    for (int index = 0; index < 200'000; ++index) {
      store.issue_async(make_record("k" + std::to_string(round) + "-" + std::to_string(index)), [report, index](bool ok) {
        if (!ok) return;
        const std::string line = std::to_string(index) + "\n";
        // Short lines written in one call are atomic on a pipe.
        if (::write(report, line.data(), line.size()) < 0) ::_exit(3);
      });
    }
    for (;;) ::pause();
  }

  ::close(acknowledgements[1]);
  std::set<int> acknowledged;
  std::string pending;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  bool killed = false;
  for (;;) {
    // Killed while it is still writing: batches are in flight, some committed, some not.
    if (!killed && (acknowledged.size() >= enough || std::chrono::steady_clock::now() > deadline)) {
      ::kill(child, SIGKILL);
      killed = true;
    }
    pollfd readable{acknowledgements[0], POLLIN, 0};
    if (::poll(&readable, 1, 1000) <= 0) continue;
    char buffer[4096];
    const ssize_t size = ::read(acknowledgements[0], buffer, sizeof buffer);
    if (size <= 0) break;  // the child is gone and everything it acknowledged has been read
    pending.append(buffer, static_cast<std::size_t>(size));
    std::size_t line_end;
    while ((line_end = pending.find('\n')) != std::string::npos) {
      acknowledged.insert(std::stoi(pending.substr(0, line_end)));
      pending.erase(0, line_end + 1);
    }
  }
  ::close(acknowledgements[0]);
  int status = 0;
  ::waitpid(child, &status, 0);
  REQUIRE(WIFSIGNALED(status));
  CHECK(WTERMSIG(status) == SIGKILL);
  return acknowledged;
}

// SIGKILL leaves the page cache intact, so this checks the ordering "commit, then acknowledge"
// (not the fsync, which only a power cut would test). An acknowledgement sent too early is
// lost only if the kill lands before SQLite has written the batch, a narrow window; several
// rounds make such a bug very likely to show.
TEST_CASE("every acknowledged issuance survives kill -9") {
  TemporaryDirectory directory("ecert-store-test");
  fs::create_directories(directory.path());
  constexpr int kRounds = 8;
  for (int round = 0; round < kRounds; ++round) {
    const std::set<int> acknowledged = issue_in_child_then_kill(directory.path(), round, 300);
    REQUIRE(acknowledged.size() >= 300);
    const CertificateStore reopened(directory.path());
    std::size_t missing = 0;
    for (const int index : acknowledged) {
      if (!reopened.find("k" + std::to_string(round) + "-" + std::to_string(index))) ++missing;
    }
    INFO("round " << round << ": " << acknowledged.size() << " acknowledged");
    CHECK(missing == 0);
  }
}
