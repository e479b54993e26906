// Atomic file writes: the bytes go to a temporary file in the same folder, are flushed
// to disk, and the temporary file is renamed over the target. A crash at any point
// leaves either the old file or the new one, never a torn one.
#pragma once

#include <functional>
#include <ostream>
#include <string>
#include <vector>

namespace latent {

// Calls write(stream) on a temporary file next to path, then fsyncs and renames it to
// path. Throws latent::Error naming path on any failure; the old file is untouched.
void write_file_atomic(const std::string& path, const std::function<void(std::ostream&)>& write);

void write_file_atomic(const std::string& path, const std::string& bytes);

// Whole file as bytes; throws latent::Error naming path.
std::string read_file(const std::string& path);

// Lines of a file exactly as they are ("\n" or "\r\n" ends, empty lines kept, no empty
// last line after a final newline); throws latent::Error naming path.
std::vector<std::string> read_lines(const std::string& path);

}  // namespace latent
