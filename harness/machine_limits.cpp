#include "harness/machine_limits.h"

#include <algorithm>
#include <cstdint>
#include <map>
#include <mutex>
#include <vector>

#include "harness/timer.h"
#include "ops/device_buffer.h"
#include "ops/device_memory.h"
#include "ops/matmul.h"

namespace seqbench {
namespace {

// The best (shortest) of a few timed runs after one warm-up.
template <class Work>
double best_ms(Device device, const Work& work) {
  const auto timer = make_timer(device);
  work();
  double best = 0;
  for (int i = 0; i < 5; ++i) {
    timer->start();
    work();
    const double ms = timer->stop_ms();
    best = i == 0 ? ms : std::min(best, ms);
  }
  return best;
}

// Large enough to leave the caches (256 MiB on the GPU, 64 MiB on the CPU).
double copy_gb_per_s(Device device) {
  const int64_t count = device == Device::cpu ? int64_t{16} << 20 : int64_t{64} << 20;
  DeviceBuffer<float> src(device), dst(device);
  src.resize(count);
  dst.resize(count);
  const size_t bytes = static_cast<size_t>(count) * sizeof(float);
  const double ms = best_ms(device, [&] { device_copy(dst.data(), device, src.data(), device, bytes); });
  return ms > 0 ? 2.0 * static_cast<double>(bytes) / (ms * 1e6) : 0.0;
}

// A square product of side n: 8192 with bf16 operands on the GPU (the anchor bench's GEMM), 384 in
// fp32 on the CPU (long enough to time, short enough to run in every profile).
double matmul_tflops(Device device) {
  const bool gpu = device != Device::cpu;
  const int64_t n = gpu ? 8192 : 384;
  const MatmulShape shape{n, n, n};
  const MatmulKernels& kernels = kernels_for<MatmulKernels>(device);
  DeviceBuffer<float> a(device), b(device), c(device);
  a.upload(std::vector<float>(static_cast<size_t>(n * n), 0.5f));
  b.upload(std::vector<float>(static_cast<size_t>(n * n), 0.25f));
  c.resize(n * n);
  DeviceBuffer<uint16_t> a16(device), b16(device);
  if (gpu) {
    a16.resize(n * n);
    b16.resize(n * n);
    kernels.round_to_bf16(a.data(), a16.data(), n * n);
    kernels.round_to_bf16(b.data(), b16.data(), n * n);
  }
  const double ms = best_ms(device, [&] {
    if (gpu) {
      kernels.matmul_bf16_operands(a16.data(), b16.data(), c.data(), shape);
    } else {
      kernels.matmul(a.data(), b.data(), c.data(), shape);
    }
  });
  return ms > 0 ? 2.0 * static_cast<double>(n) * n * n / (ms * 1e9) : 0.0;
}

}  // namespace

MachineLimits machine_limits(Device device) {
  static std::mutex mutex;
  static std::map<Device, MachineLimits> measured;
  const std::lock_guard<std::mutex> lock(mutex);
  const auto found = measured.find(device);
  if (found != measured.end()) return found->second;
  const MachineLimits limits{matmul_tflops(device), copy_gb_per_s(device)};
  measured.emplace(device, limits);
  return limits;
}

}  // namespace seqbench
