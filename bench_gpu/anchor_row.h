// One line of the anchor table and the helpers every group of rows uses.
#pragma once
#include <cstdint>
#include <string>

#include "bench_gpu/gpu_random_fill.h"
#include "ops/cuda/device_array.h"

namespace seqbench {

// One line of the table: our figure and the anchor's, in the unit where higher is better
// (TFLOP/s, GB/s) or lower is (ms, us).
struct AnchorRow {
  std::string what, shape;
  double ms;
  double figure;
  std::string unit;
  double anchor;  // 0 when the anchor table has none
  bool higher_is_better;
};

inline std::string shape_text(int64_t b, int64_t l, int64_t h, int64_t d) {
  return "B=" + std::to_string(b) + " L=" + std::to_string(l) + " H=" + std::to_string(h) + " D=" + std::to_string(d);
}

template <class T>
inline DeviceArray<T> random_array(int64_t n, uint64_t seed) {
  DeviceArray<T> a(n);
  fill_normal_cuda(a.data(), n, seed);
  return a;
}

}  // namespace seqbench
