#include "uptake/base/files.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "uptake/base/input_error.hpp"

namespace uptake {

namespace {

// Writes all of `content` to `descriptor`, through short writes and interruptions.
bool write_all(int descriptor, const std::string& content) {
  std::size_t written = 0;
  while (written < content.size()) {
    const auto result = ::write(descriptor, content.data() + written, content.size() - written);
    if (result < 0 && errno == EINTR) continue;
    if (result <= 0) return false;
    written += static_cast<std::size_t>(result);
  }
  return true;
}

}  // namespace

void write_file_atomically(const std::string& path, const std::string& content) {
  // A fresh name made with O_CREAT | O_EXCL (mkstemp): a link planted at a fixed temporary name
  // could otherwise redirect the write to any file its owner can write.
  std::string temporary = path + ".partial-XXXXXX";
  const int descriptor = ::mkstemp(temporary.data());
  if (descriptor < 0) throw InputError({path, 0, 0}, "", "cannot be written: " + std::string(std::strerror(errno)), "a writable path");
  // mkstemp makes the file private; outputs are read by others as a plain write would allow.
  const bool written = ::fchmod(descriptor, 0644) == 0 && write_all(descriptor, content);
  const int write_error = errno;
  if (::close(descriptor) != 0 || !written) {
    ::unlink(temporary.c_str());
    throw InputError({path, 0, 0}, "", "could not be written completely: " + std::string(std::strerror(write_error)),
                     "room to write the file");
  }
  std::error_code error;
  std::filesystem::rename(temporary, path, error);
  if (error) {
    ::unlink(temporary.c_str());
    throw InputError({path, 0, 0}, "", "could not be put in place: " + error.message(), "a writable path");
  }
}

std::string read_whole_file(const std::string& path, const std::string& expected) {
  std::error_code error;
  if (!std::filesystem::is_regular_file(path, error)) throw InputError({path, 0, 0}, "", "is missing", expected);
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError({path, 0, 0}, "", "cannot be opened", "a readable file");
  std::stringstream text;
  text << in.rdbuf();
  if (in.bad()) throw InputError({path, 0, 0}, "", "could not be read to the end");
  return text.str();
}

}  // namespace uptake
