// Versions and devices, for --version, the About box and benchmark reports.
#pragma once

#include <string>

namespace latent {

std::string libtorch_version();  // "2.11.0"
bool cuda_available();
std::string cuda_device_name();  // empty without CUDA
int cpu_threads();               // at::get_num_threads()
// One line, e.g. "LibTorch 2.11.0, CUDA available: no, CPU threads: 2".
std::string runtime_summary();

}  // namespace latent
