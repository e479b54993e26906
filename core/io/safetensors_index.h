// safetensors header reader (https://github.com/huggingface/safetensors format), without
// LibTorch: what `latent-cli info`, the Model panel and the fuzz targets read.
//
// Layout: 8-byte little-endian header length N, N bytes of JSON (starting with '{',
// possibly padded with spaces), then the data buffer. The reader applies safetensors' own
// validation rules (header at most 100 MB, no duplicate keys, known dtypes, offsets that
// match each shape, tensors that tile the buffer with no hole or overlap, no trailing
// bytes) and throws latent::Error naming the file and the reason. Since every tensor's
// bytes must lie inside the file, nothing read from a header can make a loader allocate
// more than the file's own size.
#pragma once

#include <cstdint>
#include <istream>
#include <map>
#include <string>
#include <vector>

namespace latent::io {

using Metadata = std::map<std::string, std::string>;

inline constexpr uint64_t kMaxHeaderBytes = 100'000'000;

struct TensorEntry {
  std::string name;
  std::string dtype;            // safetensors name: "F32", "BF16", "I64", ...
  std::vector<int64_t> shape;
  uint64_t begin = 0, end = 0;  // byte offsets into the data buffer
  uint64_t numel() const;
};

struct SafetensorsIndex {
  std::vector<TensorEntry> entries;  // in header order
  Metadata metadata;
  uint64_t data_offset = 0;          // 8 + N
};

// Bytes per element of a safetensors dtype name; 0 when the name is unknown.
size_t dtype_size(const std::string& dtype);
// The safetensors dtype names this build reads and writes.
std::vector<std::string> supported_dtypes();

// Validates a header (the N JSON bytes) against the file size; where names the file.
SafetensorsIndex parse_header(const std::string& header, uint64_t file_size, const std::string& where);
// Reads the length prefix and the header from a stream of file_size bytes positioned at
// its start, checking the limits before allocating anything, and validates it.
SafetensorsIndex read_index(std::istream& in, uint64_t file_size, const std::string& where);
// Reads and validates only the header of a file (cheap: no tensor data is read).
SafetensorsIndex read_index(const std::string& path);

}  // namespace latent::io
