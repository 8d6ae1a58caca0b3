// The ANCHORS.md shapes on this project's CUDA kernels: the two ceilings (device copy, cuBLAS bf16
// GEMM) here, then every row group the mixer folders register (<name>_gpu_bench.cpp: softmax
// attention and decode, chunked linear attention, the gated, delta-rule and SSD scans). Prints a
// Markdown table with the anchors beside each figure, then device, clocks and versions.
#include <cuda_bf16.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "bench_gpu/anchor_row.h"
#include "bench_gpu/gpu_bench_group.h"
#include "bench_gpu/gpu_bench_timer.h"
#include "bench_gpu/gpu_random_fill.h"
#include "ops/cuda/cuda_device.h"
#include "ops/cuda/device_array.h"
#include "ops/cuda/matmul_bf16.cuh"

using namespace seqbench;
using bf16 = __nv_bfloat16;

namespace {

void print_table(const std::vector<AnchorRow>& rows) {
  std::printf("\n| kernel | shape | time (ms) | ours | anchor | ours / anchor speed |\n|---|---|---|---|---|---|\n");
  for (const AnchorRow& r : rows) {
    std::printf("| %s | %s | %.3f | %.1f %s | ", r.what.c_str(), r.shape.c_str(), r.ms, r.figure, r.unit.c_str());
    if (r.anchor > 0) {
      const double speed = r.higher_is_better ? r.figure / r.anchor : r.anchor / r.figure;
      std::printf("%.1f %s | %.2fx |\n", r.anchor, r.unit.c_str(), speed);
    } else {
      std::printf("- | - |\n");
    }
  }
}

void ceilings(GpuBenchTimer& timer, std::vector<AnchorRow>& rows) {
  const int64_t bytes = int64_t{2} << 30;
  DeviceArray<char> src(bytes), dst(bytes);
  cudaCheck(cudaMemset(src.data(), 1, bytes));
  const GpuTiming copy =
      timer.time([&] { cudaCheck(cudaMemcpyAsync(dst.data(), src.data(), bytes, cudaMemcpyDeviceToDevice)); });
  rows.push_back({"device-to-device copy (read + write)", "2 GiB", copy.median_ms, 2.0 * bytes / copy.median_ms / 1e6,
                  "GB/s", 2990, true});
  const int64_t n = 8192;
  auto a = random_array<bf16>(n * n, 1), b = random_array<bf16>(n * n, 2);
  DeviceArray<bf16> c(n * n);
  const GpuTiming gemm = timer.time([&] { matmul_cuda(a.data(), b.data(), c.data(), MatmulShape{n, n, n}); });
  rows.push_back({"bf16 GEMM (cuBLAS via matmul_cuda)", "8192^3", gemm.median_ms,
                  2.0 * n * n * n / gemm.median_ms / 1e9, "TFLOP/s", 741, true});
}

// SEQBENCH_GPU_BENCH_GROUPS (e.g. "gla,ssm") limits a run to those row groups, so variants of one
// kernel can be timed side by side in one short session; unset, every group runs.
bool group_selected(const std::string& name) {
  const char* env = std::getenv("SEQBENCH_GPU_BENCH_GROUPS");
  if (!env || !*env) return true;
  const std::string list = "," + std::string(env) + ",";
  return list.find("," + name + ",") != std::string::npos;
}

}  // namespace

int main() {
  try {
    if (!cuda_device_present()) {
      std::printf("no CUDA device: nothing to measure\n");
      return 0;
    }
    init_cuda_device(0);
    const CudaDeviceInfo info = cuda_device_info();
    GpuBenchTimer timer(static_cast<size_t>(std::max<int64_t>(4 * info.l2_bytes, 256 << 20)));
    std::vector<AnchorRow> rows;
    ceilings(timer, rows);
    for (const auto& [name, group] : gpu_bench_groups())
      if (group_selected(name)) group(timer, rows);
    cudaCheck(cudaDeviceSynchronize());
    print_table(rows);
    std::printf(
        "\ndevice: %s (sm_%d%d, %d SMs, %.1f GiB, L2 %.0f MiB), peak clocks SM %d MHz / memory %d MHz, "
        "bus %d bits; driver CUDA %d.%d, runtime %d.%d\n",
        info.name.c_str(), info.compute_major, info.compute_minor, info.multiprocessors,
        info.total_memory_bytes / double(1 << 30), info.l2_bytes / double(1 << 20), info.sm_clock_khz / 1000,
        info.memory_clock_khz / 1000, info.memory_bus_bits, info.driver_version / 1000, info.driver_version % 1000 / 10,
        info.runtime_version / 1000, info.runtime_version % 1000 / 10);
    std::printf("timing: CUDA events, 2 warm-up calls, median of 3-30 repetitions, L2 overwritten before each\n");
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "seqbench_gpu_bench: %s\n", e.what());
    return 1;
  }
}
