// AdamW (Loshchilov & Hutter 2019): decoupled weight decay, bias-corrected moments.
//   m = b1 m + (1-b1) g;  v = b2 v + (1-b2) g^2;  p -= lr (m_hat / (sqrt(v_hat) + eps) + wd p)
// Checked against a scalar transcription of the PyTorch update in tests/test_model_gradients.cpp;
// the CUDA kernel against the CPU one in tests/test_gpu_ops.cpp.
#pragma once
#include <vector>

#include "ops/kernel_table.h"

namespace seqbench {

struct AdamWHyper {
  float lr = 1e-3f;
  float beta1 = 0.9f;
  float beta2 = 0.999f;
  float eps = 1e-8f;
  float weight_decay = 0.0f;
  int64_t step = 1;  // 1-based, for bias correction
};

// One tensor of a fused multi-tensor step.
struct AdamWSlot {
  float* param = nullptr;
  float* grad = nullptr;
  float* m = nullptr;
  float* v = nullptr;
  int64_t n = 0;
  float weight_decay = 0.0f;
};

// A run of at most kAdamWChunkElements elements of one slot: the unit of work of one CUDA block.
struct AdamWChunk {
  int64_t slot = 0;
  int64_t begin = 0, end = 0;
};
constexpr int64_t kAdamWChunkElements = 8192;

// Every parameter tensor of a model, laid out once for fused steps. All pointers live on the
// kernels' device: slots[count]; chunks[chunk_count] covering every slot's elements in order
// (adamw_chunks() below); chunk_sums[chunk_count] of scratch; grad_sum_of_squares[1], where the
// global gradient norm (squared) of the step is kept.
struct AdamWSlots {
  const AdamWSlot* slots = nullptr;
  int64_t count = 0;
  const AdamWChunk* chunks = nullptr;
  int64_t chunk_count = 0;
  double* chunk_sums = nullptr;
  double* grad_sum_of_squares = nullptr;
};

// The chunks of `slots`, in slot order then element order.
std::vector<AdamWChunk> adamw_chunks(const std::vector<AdamWSlot>& slots);

struct AdamWKernels : KernelFamily<AdamWKernels> {
  static constexpr const char* kFamily = "adamw";

  void (*update)(float* param, const float* grad, float* m, float* v, int64_t n, const AdamWHyper& h);
  // One whole optimizer step without the host: the global gradient norm in double, summed in a
  // fixed order (deterministic) into *grad_sum_of_squares; every gradient scaled by
  // max_norm / norm when max_norm > 0 and the norm exceeds it; the update of every slot (each with
  // its own weight decay; h.weight_decay is not read); every gradient zeroed for the next step.
  // The CPU version is the per-tensor sequence it replaces, bit for bit.
  void (*clipped_step)(const AdamWSlots& slots, double max_norm, const AdamWHyper& h);
};

}  // namespace seqbench
