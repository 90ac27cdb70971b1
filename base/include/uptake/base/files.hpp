#pragma once
// Writing output files so that a reader never sees half of one: the content goes to a
// temporary file beside the target, created under a fresh name that no planted link can
// redirect, and is renamed over it. Reading input files whole, and only regular ones: a FIFO
// blocks its reader until some writer comes, and a device such as /dev/zero never ends.
#include <string>

namespace uptake {

// Throws InputError naming `path` when it cannot be written.
void write_file_atomically(const std::string& path, const std::string& content);

// The whole file. Throws InputError naming `path` when it is missing (`expected` says what
// should be there), is not a regular file (a folder, FIFO, socket or device), cannot be opened,
// or cannot be read to the end. A FIFO is refused without waiting for a writer.
std::string read_whole_file(const std::string& path, const std::string& expected);

// Throws InputError naming `path` when it is missing or not a regular file, as read_whole_file
// would: for inputs that are scanned rather than read whole.
void require_regular_file(const std::string& path, const std::string& expected);

}  // namespace uptake
