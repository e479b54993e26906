#include "util/runtime_info.h"

#include <ATen/Context.h>
#include <ATen/Parallel.h>
#include <torch/headeronly/version.h>

#ifdef LATENT_HAVE_CUDA
#include <c10/cuda/CUDAFunctions.h>
#include <cuda_runtime_api.h>
#endif

namespace latent {

std::string libtorch_version() {
  return std::to_string(TORCH_VERSION_MAJOR) + "." + std::to_string(TORCH_VERSION_MINOR) + "." +
         std::to_string(TORCH_VERSION_PATCH);
}

bool cuda_available() { return at::hasCUDA() && at::globalContext().hasCUDA(); }

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

std::string runtime_summary() {
  std::string s = "LibTorch " + libtorch_version() + ", CUDA: ";
  s += cuda_available() ? cuda_device_name() : std::string("not available");
  s += ", CPU threads: " + std::to_string(cpu_threads());
  return s;
}

}  // namespace latent
