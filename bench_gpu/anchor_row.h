// One line of seqbench_gpu_bench's table: one of our kernel calls on one shape, its repetitions and
// what it costs in hardware terms, and the key of the anchor timed on the same shape.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "ops/work_count.h"

namespace seqbench {

struct AnchorRow {
  // Unique per row, stable across runs (the store's cells are matched by it):
  // <family>.<pass>.L<length>, e.g. "softmax.fwd.L4096", "linear_normalised.bwd.L1024",
  // "softmax.decode.B16.L65536", "ceiling.gemm".
  std::string key;
  std::string anchor_key;  // the anchor file's key for the same shape and pass; "" when none exists
  std::string family;      // the folder that registered the row (softmax, gla, ...), or "ceiling"
  std::string what;        // human-readable kernel name
  std::string shape;       // "B=16 L=4096 H=16 D=128"
  std::string dtype;       // element type of our call: "bf16", "fp32"
  int64_t seq_len = 0;
  std::vector<double> samples_ms;  // CUDA-event times of the timed repetitions
  WorkCount work;                  // of our call
  WorkCount anchor_work;           // of the anchor's call on the same shape, in its element type
};

double median_ms(const AnchorRow& row);  // throws std::invalid_argument for a row without samples

}  // namespace seqbench
