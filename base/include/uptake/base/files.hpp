#pragma once
// Writing output files so that a reader never sees half of one: the content goes to a
// temporary file beside the target, is flushed, and is renamed over it.
#include <string>

namespace uptake {

// Throws InputError naming `path` when it cannot be written.
void write_file_atomically(const std::string& path, const std::string& content);

}  // namespace uptake
