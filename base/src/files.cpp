#include "uptake/base/files.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "uptake/base/input_error.hpp"

namespace uptake {

void write_file_atomically(const std::string& path, const std::string& content) {
  const std::string temporary = path + ".partial";
  {
    std::ofstream file(temporary, std::ios::binary | std::ios::trunc);
    if (!file) throw InputError({path, 0, 0}, "", "cannot be written: " + std::string(std::strerror(errno)), "a writable path");
    file << content;
    file.flush();
    if (!file) {
      std::remove(temporary.c_str());
      throw InputError({path, 0, 0}, "", "could not be written completely (disk full?)", "room to write the file");
    }
  }
  std::error_code error;
  std::filesystem::rename(temporary, path, error);
  if (error) {
    std::remove(temporary.c_str());
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
