#pragma once
// A uniquely named folder under the system's temporary directory, removed with everything in it
// when the object goes away: data directories for services and stores under test.
#include <unistd.h>

#include <filesystem>
#include <random>
#include <string>

namespace uptake::test {

class TemporaryDirectory {
 public:
  explicit TemporaryDirectory(const std::string& purpose) {
    std::random_device entropy;
    path_ = std::filesystem::temp_directory_path() /
            ("uptake-" + purpose + "-" + std::to_string(::getpid()) + "-" + std::to_string(entropy()));
  }
  ~TemporaryDirectory() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TemporaryDirectory(const TemporaryDirectory&) = delete;
  TemporaryDirectory& operator=(const TemporaryDirectory&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

}  // namespace uptake::test
