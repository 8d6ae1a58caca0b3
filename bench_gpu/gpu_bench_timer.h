// GPU timing as DESIGN.md's measurement rules ask: warm-up calls first, then repetitions timed with
// CUDA events, the L2 cache flushed (overwritten) before each one, and the median reported.
#pragma once
#include <functional>
#include <vector>

namespace seqbench {

struct GpuTiming {
  double median_ms = 0, min_ms = 0, max_ms = 0;
  int repetitions = 0;
  std::vector<double> samples_ms;  // every timed repetition, sorted
};

class GpuBenchTimer {
 public:
  // flush_bytes: a buffer larger than L2 that is rewritten before every timed repetition.
  explicit GpuBenchTimer(size_t flush_bytes);
  ~GpuBenchTimer();
  GpuBenchTimer(const GpuBenchTimer&) = delete;
  GpuBenchTimer& operator=(const GpuBenchTimer&) = delete;

  // Runs `work` (which enqueues GPU work on the default stream) `warmup` times untimed, then
  // enough timed repetitions to fill about target_ms, within [min_reps, max_reps].
  GpuTiming time(const std::function<void()>& work, int warmup = 2, double target_ms = 500, int min_reps = 3,
                 int max_reps = 30);

 private:
  void* flush_ = nullptr;
  size_t flush_bytes_;
};

}  // namespace seqbench
