#if defined(__x86_64__)
#include <cpuid.h>
#endif
#include "util/runtime_info.h"

#include <ATen/Context.h>
#include <ATen/Parallel.h>
#include <torch/headeronly/version.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

#ifdef LATENT_HAVE_CUDA
#include <c10/cuda/CUDAFunctions.h>
#include <cuda_runtime_api.h>
#endif

namespace latent {

namespace {
// The first number in a file (or after `key` in it), 0 when absent or not a number ("max").
uint64_t number_in(const char* path, const std::string& key = {}) {
  std::ifstream in(path);
  std::string word;
  if (key.empty())  // strtoull: an out-of-range number gives ULLONG_MAX, never an exception
    return in >> word && std::isdigit(static_cast<unsigned char>(word[0])) ? std::strtoull(word.c_str(), nullptr, 10) : 0;
  std::string line;
  while (std::getline(in, line))
    if (line.rfind(key, 0) == 0) {
      std::istringstream rest(line.substr(key.size()));
      uint64_t kb = 0;
      return rest >> kb ? kb * 1024 : 0;  // meminfo's values are in kB
    }
  return 0;
}
}  // namespace

uint64_t available_memory_bytes() {
  if (const char* env = std::getenv("LATENT_MEMORY_AVAILABLE"); env && std::isdigit(static_cast<unsigned char>(env[0])))
    return std::strtoull(env, nullptr, 10);
  uint64_t avail = number_in("/proc/meminfo", "MemAvailable:");
  const uint64_t max = number_in("/sys/fs/cgroup/memory.max"), used = number_in("/sys/fs/cgroup/memory.current");
  if (max > 0) {
    const uint64_t left = max > used ? max - used : 0;
    avail = avail > 0 ? std::min(avail, left) : left;
  }
  return avail;
}

std::string libtorch_version() {
  return std::to_string(TORCH_VERSION_MAJOR) + "." + std::to_string(TORCH_VERSION_MINOR) + "." +
         std::to_string(TORCH_VERSION_PATCH);
}

bool cuda_available() { return at::hasCUDA() && at::globalContext().hasCUDA(); }

bool cpu_has_bf16() {
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
  // __builtin_cpu_supports also checks that the OS saves the AVX-512 registers.
  if (!__builtin_cpu_supports("avx512f")) return false;
  unsigned a = 0, b = 0, c = 0, d = 0;
  if (!__get_cpuid_count(7, 1, &a, &b, &c, &d)) return false;
  const bool avx512_bf16 = (a >> 5) & 1u;  // CPUID.(7,1):EAX[5]
  if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return avx512_bf16;
  const bool amx_bf16 = (d >> 22) & 1u;    // CPUID.(7,0):EDX[22]
  return avx512_bf16 || amx_bf16;
#else
  return false;
#endif
}

std::string cuda_device_name() {
#ifdef LATENT_HAVE_CUDA
  if (!cuda_available()) return {};
  cudaDeviceProp prop{};
  if (cudaGetDeviceProperties(&prop, c10::cuda::current_device()) != cudaSuccess) return {};
  return prop.name;
#else
  return {};
#endif
}

int cpu_threads() { return at::get_num_threads(); }

int parallel_for_threads() {
  std::mutex mutex;
  std::set<std::thread::id> ids;
  at::parallel_for(0, 4096, 1, [&](int64_t, int64_t) {
    std::lock_guard<std::mutex> lock(mutex);
    ids.insert(std::this_thread::get_id());
  });
  return static_cast<int>(ids.size());
}

std::string runtime_summary() {
  std::string s = "LibTorch " + libtorch_version() + ", CUDA: ";
  s += cuda_available() ? cuda_device_name() : std::string("not available");
  s += ", CPU threads: " + std::to_string(cpu_threads());
  s += cpu_has_bf16() ? ", CPU bf16: yes" : ", CPU bf16: no";
  return s;
}

}  // namespace latent
