#pragma once
// Running the built uptake command from a test: its exit code and output, refusals, scratch
// folders, and reading files back. Shared by the CLI test programs.
#include <catch2/catch.hpp>

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

// Not in namespace uptake: the function uptake() would clash with it.
namespace cli_test {

struct Outcome {
  int exit_code = -1;
  std::string output;  // standard output and standard error together
};

inline Outcome uptake(const std::string& arguments) {
  const std::string command = std::string(UPTAKE_BINARY_DIR) + "/cli/uptake " + arguments + " 2>&1";
  Outcome outcome;
  FILE* pipe = popen(command.c_str(), "r");
  REQUIRE(pipe != nullptr);
  std::array<char, 4096> buffer{};
  while (const auto read = std::fread(buffer.data(), 1, buffer.size(), pipe)) outcome.output.append(buffer.data(), read);
  const int status = pclose(pipe);
  outcome.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return outcome;
}

// Bad usage or input: exit code 2 and a message that says what was wrong.
inline void check_refused(const std::string& arguments, const std::string& message) {
  INFO("uptake " << arguments);
  const auto outcome = uptake(arguments);
  CHECK(outcome.exit_code == 2);
  CHECK_THAT(outcome.output, Catch::Contains(message));
}

// An emptied folder of the build tree; each test program passes its own name, so that programs
// running at the same time do not share one.
inline std::filesystem::path scratch_folder(const std::string& name = "cli-scratch") {
  const auto folder = std::filesystem::path(UPTAKE_BINARY_DIR) / "tests" / name;
  std::filesystem::remove_all(folder);
  std::filesystem::create_directories(folder);
  return folder;
}

// Whether a temporary of an atomic write of `file` (named file.partial-XXXXXX) is left beside it.
inline bool has_partial_left(const std::filesystem::path& file) {
  const auto prefix = file.filename().string() + ".partial";
  for (const auto& entry : std::filesystem::directory_iterator(file.parent_path())) {
    if (entry.path().filename().string().rfind(prefix, 0) == 0) return true;
  }
  return false;
}

inline std::string read(const std::filesystem::path& file) {
  std::ifstream in(file);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace cli_test
