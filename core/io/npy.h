// NumPy's .npy format for float32 matrices (latents for notebooks): writer and a strict
// reader. No LibTorch (latent_text), so the reader can be fuzzed with the other parsers.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace latent::io {

struct NpyArray {
  std::vector<int64_t> shape;
  std::vector<float> data;  // C order
};

// Version 1.0 file bytes of a little-endian float32 C-order array.
std::string npy_serialize(const float* data, const std::vector<int64_t>& shape);

// Reads '<f4' C-order arrays of 1 to 8 dimensions (versions 1.0-3.0). Anything else, a
// header that does not parse, or a shape that does not match the bytes after the header
// is an Error naming `where`; the data is allocated only after that check.
NpyArray npy_parse(const std::string& bytes, const std::string& where);
NpyArray npy_load(const std::string& path);
void npy_save(const std::string& path, const float* data, const std::vector<int64_t>& shape);

}  // namespace latent::io
