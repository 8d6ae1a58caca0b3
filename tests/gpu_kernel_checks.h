// Helpers for comparing CUDA kernels with their CPU references: random inputs rounded to the
// kernel's storage type (so both sides see identical values), upload/download, poisoned outputs
// and the norm-wise relative error. Used only in builds with CUDA.
#pragma once
#include <cuda_bf16.h>

#include <cmath>
#include <limits>
#include <vector>

#include "ops/cuda/cuda_device.h"
#include "ops/cuda/device_array.h"
#include "ops/cuda/hopper/tensor_map.h"
#include "ops/rng.h"
#include "tests/random_values.h"
#include "tests/relative_error.h"

namespace seqbench {
namespace gpu_checks {

// Initialises the device on first use; false when the machine has no GPU.
inline bool gpu_ready() {
  static const bool ready = [] {
    if (!cuda_device_present()) return false;
    init_cuda_device(0);
    return true;
  }();
  return ready;
}

using testing::normal_values;
using testing::uniform_values;

template <class T>
inline T to_storage(float x) {
  if constexpr (std::is_same_v<T, float>)
    return x;
  else
    return __float2bfloat16(x);
}
inline float from_storage(float x) { return x; }
inline float from_storage(__nv_bfloat16 x) { return __bfloat162float(x); }

// Rounds `values` in place to what T can hold, and returns them as a device array of T.
template <class T>
DeviceArray<T> upload_rounded(std::vector<float>& values) {
  std::vector<T> stored(values.size());
  for (size_t i = 0; i < values.size(); ++i) {
    stored[i] = to_storage<T>(values[i]);
    values[i] = from_storage(stored[i]);
  }
  return DeviceArray<T>(stored);
}

// An output buffer filled with NaN bit patterns (0xFF bytes), so an unwritten element fails.
template <class T>
DeviceArray<T> poisoned(int64_t n) {
  DeviceArray<T> out(n);
  out.fill_bytes(0xFF);
  return out;
}

template <class T>
std::vector<float> download_floats(const DeviceArray<T>& device) {
  std::vector<float> out;
  for (const T& x : device.download()) out.push_back(from_storage(x));
  return out;
}

using seqbench::testing::relative_error;

inline double l2_norm(const std::vector<float>& x) {
  double sum = 0.0;
  for (float v : x) sum += static_cast<double>(v) * v;
  return std::sqrt(sum);
}

// Norm-wise relative tolerances: fp32 kernels differ from the CPU only in summation order;
// bf16 kernels round their outputs (2^-9 relative) and the attention probabilities (P, dS) that
// feed the tensor cores.
template <class T>
constexpr double tolerance() {
  return std::is_same_v<T, float> ? 1e-4 : 2e-2;
}

template <class T>
const char* type_name() {
  return std::is_same_v<T, float> ? "fp32" : "bf16";
}

}  // namespace gpu_checks
}  // namespace seqbench

// First statement of every GPU test case: a machine without a GPU passes it with a warning.
#define SKIP_WITHOUT_GPU()                    \
  if (!::seqbench::gpu_checks::gpu_ready()) { \
    WARN("no CUDA device: skipped");          \
    return;                                   \
  }

// First statement of a test case of sm_90a kernels: passes without a GPU (warning) and on a GPU
// other than compute capability 9.0 (a message), as those kernels cannot run there.
#define SKIP_WITHOUT_SM90()                                                               \
  SKIP_WITHOUT_GPU();                                                                     \
  if (!::seqbench::hopper::current_device_is_sm90()) {                                    \
    SUCCEED("not a compute capability 9.0 GPU: sm_90a kernels cannot run here; skipped"); \
    return;                                                                               \
  }
