// safetensors reader and writer (https://github.com/huggingface/safetensors format).
//
// The header is read and validated by io/safetensors_index.h (no LibTorch); this file
// turns the validated entries into tensors. The writer is atomic (temporary file + rename).
#pragma once

#include <ATen/core/Tensor.h>

#include <string>
#include <utility>
#include <vector>

#include "io/safetensors_index.h"

namespace latent::io {

using NamedTensors = std::vector<std::pair<std::string, at::Tensor>>;

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
