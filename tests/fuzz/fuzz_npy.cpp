// A .npy file as latent-cli project and latent-map-bench read it (io::npy_parse): either a
// float32 array whose data matches its shape, or a latent::Error naming the file; no other
// exception, and no allocation before the shape is checked against the bytes.
#include <cstdint>
#include <string>

#include "io/npy.h"
#include "util/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  try {
    const auto a = latent::io::npy_parse(bytes, "x.npy");
    uint64_t count = 1;
    for (auto s : a.shape) count *= static_cast<uint64_t>(s);
    if (a.shape.empty() || count != a.data.size() || a.data.size() * 4 > size) __builtin_trap();
  } catch (const latent::Error&) {
  } catch (...) {
    __builtin_trap();  // only latent::Error may leave the parser
  }
  return 0;
}
