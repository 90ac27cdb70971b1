#include "uptake/base/files.hpp"

#include <sys/stat.h>

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include "child_process.hpp"
#include "temporary_directory.hpp"
#include "uptake/base/input_error.hpp"

namespace fs = std::filesystem;

namespace {

std::string contents(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write(const fs::path& path, const std::string& text) { std::ofstream(path, std::ios::binary) << text; }

}  // namespace

TEST_CASE("an atomic write never follows a link planted where its temporary would go") {
  const uptake::test::TemporaryDirectory folder("files-symlink");
  fs::create_directories(folder.path());
  const auto victim = folder.path() / "victim.txt";
  const auto target = folder.path() / "junit.xml";
  write(victim, "precious");
  // Someone who can write the results folder plants links at every name a fixed temporary
  // could have: ".partial", the old convention.
  fs::create_symlink(victim, target.string() + ".partial");

  uptake::write_file_atomically(target.string(), "<testsuites/>");

  CHECK(contents(victim) == "precious");
  CHECK(contents(target) == "<testsuites/>");
  CHECK_FALSE(fs::is_symlink(target));
  // Only the planted link and the two files: no temporary is left behind.
  int entries = 0;
  for (const auto& entry : fs::directory_iterator(folder.path())) {
    (void)entry;
    ++entries;
  }
  CHECK(entries == 3);
}

TEST_CASE("an atomic write replaces the file and leaves it readable by others, as a plain write would") {
  const uptake::test::TemporaryDirectory folder("files-replace");
  fs::create_directories(folder.path());
  const auto target = folder.path() / "report.md";
  write(target, "old");
  uptake::write_file_atomically(target.string(), "new");
  CHECK(contents(target) == "new");
  struct stat status {};
  REQUIRE(::stat(target.c_str(), &status) == 0);
  CHECK((status.st_mode & S_IROTH) != 0);
  CHECK_THROWS_AS(uptake::write_file_atomically((folder.path() / "missing" / "x.txt").string(), "x"), uptake::InputError);
}

TEST_CASE("only a regular file is read as input: a FIFO, a device or a folder is refused at once") {
  const uptake::test::TemporaryDirectory folder("files-not-regular");
  fs::create_directories(folder.path());
  const auto fifo = folder.path() / "scenario.yaml";
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  const auto refusal = [](const std::string& path) {
    // In a child with a deadline: a FIFO without a writer blocks its reader forever, and
    // /dev/zero never ends; either would hang the test if it came back.
    const auto outcome = uptake::test::run_in_child(
        [&] {
          try {
            uptake::read_whole_file(path, "a scenario file");
          } catch (const uptake::InputError& error) {
            return std::string(error.what()).find("not a regular file") != std::string::npos ? 0 : 1;
          }
          return 2;
        },
        std::chrono::seconds(10));
    INFO(path);
    CHECK_FALSE(outcome.timed_out);
    CHECK(outcome.exit_code == 0);
    CHECK(outcome.peak_rss_kib - uptake::test::idle_child_peak_rss_kib() < 100 * 1024);
  };
  refusal(fifo.string());
  refusal("/dev/zero");
  refusal(folder.path().string());
  CHECK_THROWS_WITH(uptake::read_whole_file(fifo.string(), "a scenario file"),
                    Catch::Contains(fifo.string() + ": is a FIFO (named pipe), not a regular file (expected a scenario file)"));
  CHECK_THROWS_WITH(uptake::require_regular_file("/dev/zero", "a CSV file"), Catch::Contains("/dev/zero: is a device, not a regular file"));
  CHECK_THROWS_WITH(uptake::require_regular_file((folder.path() / "none.csv").string(), "a CSV file"),
                    Catch::Contains("none.csv: is missing (expected a CSV file)"));
  write(folder.path() / "plain.txt", "text");
  CHECK(uptake::read_whole_file((folder.path() / "plain.txt").string(), "text") == "text");
  CHECK_NOTHROW(uptake::require_regular_file((folder.path() / "plain.txt").string(), "text"));
}
