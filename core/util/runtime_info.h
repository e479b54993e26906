// Versions and devices, for --version, the About box and benchmark reports.
#pragma once

#include <cstdint>
#include <string>

namespace latent {

std::string libtorch_version();  // "2.11.0"
bool cuda_available();
// Whether this CPU has native bf16 products (AVX512_BF16 or AMX-BF16), for train.cpu_precision.
bool cpu_has_bf16();
std::string cuda_device_name();  // empty without CUDA
int cpu_threads();               // at::get_num_threads()
// How many threads an at::parallel_for in core/ runs on now: cpu_threads() when core/ was
// built with OpenMP (LATENT_HAVE_OPENMP), else 1 (the loop is a header template; without
// -fopenmp in the calling file it is serial).
int parallel_for_threads();
// Memory this process may still take, in bytes: the environment's LATENT_MEMORY_AVAILABLE
// (bytes, to plan for less than the machine has), else the least of /proc/meminfo's
// MemAvailable and the cgroup's memory.max - memory.current; 0 when none of them is known.
uint64_t available_memory_bytes();
// One line, e.g. "LibTorch 2.11.0, CUDA available: no, CPU threads: 2".
std::string runtime_summary();

}  // namespace latent
