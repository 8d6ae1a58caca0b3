// Groups of rows for seqbench_gpu_bench, each registered by the folder that owns its kernels (a
// mixer's <name>_gpu_bench.cpp); the bench runs every registered group, in name order. Also the
// helpers every group uses: the shapes ANCHORS.md fixes, row keys, and random device inputs.
#pragma once
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "bench_gpu/anchor_row.h"
#include "bench_gpu/bench_lengths.h"
#include "bench_gpu/gpu_bench_timer.h"
#include "bench_gpu/gpu_random_fill.h"
#include "ops/cuda/device_array.h"

namespace seqbench {

using GpuBenchRows = void (*)(GpuBenchTimer& timer, std::vector<AnchorRow>& rows);

// A static object of this type adds its group at start-up (the bench links every *_gpu_bench.cpp).
struct GpuBenchGroup {
  GpuBenchGroup(std::string name, GpuBenchRows rows);
};

const std::vector<std::pair<std::string, GpuBenchRows>>& gpu_bench_groups();



// "<family>.<pass>.L<length>", the key anchor_kernels.py writes for the same shape.
inline std::string bench_key(const std::string& family, const std::string& pass, int64_t seq_len) {
  return family + "." + pass + ".L" + std::to_string(seq_len);
}

// Batches of the recurrent decode-step rows (one token against a [B, H, Dk, Dv] fp32 state) and their
// key "<family>.decode.B<batch>", as anchor_kernels.py's decode section writes it.
inline const std::vector<int64_t>& decode_batches() {
  static const std::vector<int64_t> batches{16, 1};
  return batches;
}
inline std::string decode_key(const std::string& family, int64_t batch) {
  return family + ".decode.B" + std::to_string(batch);
}

inline std::string shape_text(int64_t b, int64_t l, int64_t h, int64_t d) {
  return "B=" + std::to_string(b) + " L=" + std::to_string(l) + " H=" + std::to_string(h) + " D=" + std::to_string(d);
}

// A timed row; what the anchor does on the same shape is `anchor_work` (its element types differ).
inline AnchorRow timed_row(std::string key, std::string anchor_key, std::string family, std::string what,
                           std::string shape, std::string dtype, int64_t seq_len, const GpuTiming& timing,
                           const WorkCount& work, const WorkCount& anchor_work) {
  return {std::move(key), std::move(anchor_key), std::move(family), std::move(what), std::move(shape),
          std::move(dtype), seq_len, timing.samples_ms, work, anchor_work};
}

template <class T>
inline DeviceArray<T> random_array(int64_t n, uint64_t seed) {
  DeviceArray<T> a(n);
  fill_normal_cuda(a.data(), n, seed);
  return a;
}

}  // namespace seqbench
