#include "bench_gpu/gpu_bench_timer.h"

#include <algorithm>
#include <cmath>

#include "ops/cuda/cuda_check.h"

namespace seqbench {

GpuBenchTimer::GpuBenchTimer(size_t flush_bytes) : flush_bytes_(flush_bytes) {
  cudaCheck(cudaMalloc(&flush_, flush_bytes_));
}

GpuBenchTimer::~GpuBenchTimer() { cudaFree(flush_); }

GpuTiming GpuBenchTimer::time(const std::function<void()>& work, int warmup, double target_ms, int min_reps,
                              int max_reps) {
  cudaEvent_t start, stop;
  cudaCheck(cudaEventCreate(&start));
  cudaCheck(cudaEventCreate(&stop));
  auto timed_once = [&] {
    cudaCheck(cudaMemsetAsync(flush_, 0, flush_bytes_));
    cudaCheck(cudaEventRecord(start));
    work();
    cudaCheck(cudaEventRecord(stop));
    cudaCheck(cudaEventSynchronize(stop));
    float ms = 0;
    cudaCheck(cudaEventElapsedTime(&ms, start, stop));
    return static_cast<double>(ms);
  };
  for (int i = 0; i < warmup; ++i) work();
  cudaCheck(cudaDeviceSynchronize());
  std::vector<double> samples{timed_once()};
  const int reps = std::clamp(static_cast<int>(std::ceil(target_ms / std::max(samples[0], 1e-3))), min_reps, max_reps);
  while (static_cast<int>(samples.size()) < reps) samples.push_back(timed_once());
  cudaCheck(cudaEventDestroy(start));
  cudaCheck(cudaEventDestroy(stop));
  std::sort(samples.begin(), samples.end());
  const size_t n = samples.size();
  GpuTiming t;
  t.median_ms = n % 2 ? samples[n / 2] : 0.5 * (samples[n / 2 - 1] + samples[n / 2]);
  t.min_ms = samples.front();
  t.max_ms = samples.back();
  t.repetitions = static_cast<int>(n);
  t.samples_ms = samples;
  return t;
}

}  // namespace seqbench
