#include "uptake/base/files.hpp"

#include <sys/stat.h>

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

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
