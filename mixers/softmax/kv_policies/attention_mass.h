// The attention mass each cached key receives from a set of queries, the evidence eviction policies
// rank keys by: mass_j = sum_r [j <= limit_r] exp(q_r . k_j / sqrt(Dh) - lse_r), with
// lse_r = log sum_{j <= limit_r} exp(q_r . k_j / sqrt(Dh)) (each query's softmax over the keys it
// sees). H2O (Zhang et al. 2023, Sec. 4, "accumulated attention scores") sums it over every query;
// SnapKV (Li et al. 2024, Sec. 4.2, Eq. 1-2, and microsoft/MInference
// minference/modules/snapkv.py) over the last `window` queries before pooling. The CPU kernel is
// checked against a direct double-precision sum in tests/test_kv_policies.cpp; the CUDA kernel
// against the CPU one in tests/test_gpu_kv_policies.cpp.
#pragma once

#include "mixers/softmax/softmax_attention.h"  // AttentionShape
#include "ops/kernel_table.h"

namespace seqbench {

// q: [B, rows, H, Dh]; keys: [B, cache.seq_len, H, Dh] (cache slots); limits: [rows], the last slot
// query r sees (0 <= limit_r < used); mass: [B * H, used], overwritten. Every sum runs over queries in
// ascending order, so the result does not depend on threads.
void attention_mass_cpu(const float* q, int64_t rows, const int32_t* limits, const float* keys, int64_t used,
                        float* mass, const AttentionShape& cache);

// cuda(): device pointers (limits and mass included); one warp per query row for lse, then one thread
// per key summing its rows in ascending order (no atomics: bitwise reproducible). Limits: Dh <= 256.
struct AttentionMassKernels : KernelFamily<AttentionMassKernels> {
  static constexpr const char* kFamily = "attention_mass";

  decltype(&attention_mass_cpu) mass;
  ShapeCheck<AttentionShape> unsupported;
};

}  // namespace seqbench
