#include "uptake/base/files.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

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

// What a path that is not a regular file is instead, for the refusal.
const char* kind_of(mode_t mode) {
  if (S_ISDIR(mode)) return "a folder";
  if (S_ISFIFO(mode)) return "a FIFO (named pipe)";
  if (S_ISCHR(mode) || S_ISBLK(mode)) return "a device";
  if (S_ISSOCK(mode)) return "a socket";
  return "not a file";
}

// The refusal of a path that stat or open could not reach (`error` is their errno).
[[noreturn]] void refuse_unreachable(const std::string& path, int error, const std::string& expected) {
  if (error == ENOENT || error == ENOTDIR) throw InputError({path, 0, 0}, "", "is missing", expected);
  throw InputError({path, 0, 0}, "", "cannot be opened: " + std::string(std::strerror(error)), expected);
}

void require_regular(const std::string& path, const struct stat& status, const std::string& expected) {
  if (!S_ISREG(status.st_mode)) throw InputError({path, 0, 0}, "", fmt::format("is {}, not a regular file", kind_of(status.st_mode)), expected);
}

}  // namespace

void require_regular_file(const std::string& path, const std::string& expected) {
  struct stat status {};
  if (::stat(path.c_str(), &status) != 0) refuse_unreachable(path, errno, expected);
  require_regular(path, status, expected);
}

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
  // Non-blocking, so that opening a FIFO does not wait for a writer; the file's type is then
  // judged on the open descriptor itself, not on a name that could change in between.
  const int descriptor = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (descriptor < 0) refuse_unreachable(path, errno, expected);
  struct Closer {
    int descriptor;
    ~Closer() { ::close(descriptor); }
  } closer{descriptor};
  struct stat status {};
  if (::fstat(descriptor, &status) != 0) refuse_unreachable(path, errno, expected);
  require_regular(path, status, expected);
  std::string text;
  text.reserve(static_cast<std::size_t>(status.st_size));
  char buffer[65536];
  for (;;) {
    const auto got = ::read(descriptor, buffer, sizeof buffer);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) throw InputError({path, 0, 0}, "", "could not be read to the end: " + std::string(std::strerror(errno)), expected);
    if (got == 0) return text;
    text.append(buffer, static_cast<std::size_t>(got));
  }
}

}  // namespace uptake
