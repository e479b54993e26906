// safetensors reader and writer (https://github.com/huggingface/safetensors format).
//
// Layout: 8-byte little-endian header length N, N bytes of JSON (starting with '{',
// possibly padded with spaces), then the data buffer. The reader checks everything a
// damaged or hostile file could get wrong and throws latent::Error naming the file and
// the reason; the writer is atomic (temporary file + rename).
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace latent::io {

using NamedTensors = std::vector<std::pair<std::string, at::Tensor>>;
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
// The safetensors names this build reads and writes.
std::vector<std::string> supported_dtypes();

// Validates a header (the N JSON bytes) against the file size; where names the file.
SafetensorsIndex parse_header(const std::string& header, uint64_t file_size, const std::string& where);
// Reads and validates only the header of a file (cheap: no tensor data is read).
SafetensorsIndex read_index(const std::string& path);

// Loads every tensor onto the CPU, in header order.
NamedTensors load(const std::string& path, Metadata* metadata = nullptr);
// Parses a whole file image held in memory (tests, embedded resources).
NamedTensors load_from_bytes(const std::string& bytes, const std::string& where, Metadata* metadata = nullptr);

// Serialises tensors (any device, any layout; copied to contiguous CPU memory).
// Names must be unique and non-empty. Tensors are laid out by element size, then name,
// as the Python library does, so every tensor is aligned.
std::string serialize(const NamedTensors& tensors, const Metadata& metadata = {});
void save(const std::string& path, const NamedTensors& tensors, const Metadata& metadata = {});

}  // namespace latent::io
