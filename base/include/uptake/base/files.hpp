#pragma once
// Writing output files so that a reader never sees half of one: the content goes to a
// temporary file beside the target, created under a fresh name that no planted link can
// redirect, and is renamed over it. Reading input files
// whole.
#include <string>

namespace uptake {

// Throws InputError naming `path` when it cannot be written.
void write_file_atomically(const std::string& path, const std::string& content);

// The whole file. Throws InputError naming `path` when it is missing (`expected` says what
// should be there), cannot be opened, or cannot be read to the end.
std::string read_whole_file(const std::string& path, const std::string& expected);

}  // namespace uptake
