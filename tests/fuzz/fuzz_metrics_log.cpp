// A run's metrics.jsonl as the Model panel reads it back (read_metrics_log): it never
// throws for a bad line, only counts it.
#include <cstdint>

#include "fuzz_files.h"
#include "train/metrics_log.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static latent::fuzz::Scratch scratch;
  const std::string path = scratch.write("metrics.jsonl", std::string(reinterpret_cast<const char*>(data), size));
  try {
    const latent::MetricsLog log = latent::read_metrics_log(path, 4);
    if (log.evals.size() > 4 || log.skipped > log.lines) __builtin_trap();
  } catch (...) {
    __builtin_trap();  // bad lines are skipped, never thrown
  }
  return 0;
}
