// Every input a fuzzer ever crashed on (tests/fuzz/regressions/NAME/) and every seed of the
// committed corpora (tests/fuzz/corpus/NAME/) goes through the same entry function as in the
// libFuzzer program, so the normal suite keeps them fixed without clang. An entry that breaks
// an invariant aborts the program; the INFO line names the file.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "entries.hpp"

namespace fs = std::filesystem;
using namespace uptake::fuzz;

namespace {

std::size_t replay(const Target& target, const fs::path& folder) {
  if (!fs::is_directory(folder)) return 0;
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(folder)) {
    if (entry.is_regular_file()) files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  for (const auto& file : files) {
    std::ifstream in(file, std::ios::binary);
    std::ostringstream bytes;
    bytes << in.rdbuf();
    const auto input = bytes.str();
    INFO(target.name << ": " << file.string());
    // Printed before the call: an abort inside it leaves the file's name as the last line.
    std::fprintf(stderr, "replaying %s\n", file.string().c_str());
    target.entry(input);
    SUCCEED();
  }
  return files.size();
}

}  // namespace

TEST_CASE("fuzz regressions and seed corpora replay cleanly") {
  const fs::path root = fs::path(UPTAKE_SOURCE_DIR) / "tests" / "fuzz";
  for (const auto& target : kTargets) {
    DYNAMIC_SECTION(target.name) {
      const auto seeds = replay(target, root / "corpus" / std::string(target.name));
      replay(target, root / "regressions" / std::string(target.name));
      // A target without seeds would be fuzzed from nothing in CI: keep the corpus committed.
      CHECK(seeds > 0);
    }
  }
}
