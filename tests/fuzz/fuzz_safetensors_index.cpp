// A safetensors file as `latent-cli info` and the Model panel read it: the length prefix
// and the header, validated against the file's size (io::read_index).
#include <cstdint>

#include "fuzz_files.h"
#include "io/safetensors_index.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static latent::fuzz::Scratch scratch;
  const std::string path = scratch.write("model.safetensors", std::string(reinterpret_cast<const char*>(data), size));
  latent::fuzz::expect_clean([&] {
    const auto index = latent::io::read_index(path);
    // What the validation promises: every tensor lies inside the file, sized by its shape.
    for (const auto& e : index.entries)
      if (e.end > size || e.begin > e.end || index.data_offset + e.end > size) __builtin_trap();
  });
  return 0;
}
