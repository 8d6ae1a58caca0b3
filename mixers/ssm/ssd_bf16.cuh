// Mamba-2's SSD scan (Dao & Gu 2024, eq. 16) in bf16 on the scalar-decay GLA tensor-core kernels
// (mixers/gla/gla_scalar_bf16.cuh): h_t = e^{dt_t A} h_{t-1} + B_t (dt_t x_t)^T, y_t = h_t^T C_t, i.e. GLA with
// q = C, k = B (read in place, shared by each group of heads), v = dt x, log decay dt A and scale 1.
// Checked against ssd_fwd_cpu / ssd_bwd_cpu (fp32) in test_gpu_ssm.cpp. All pointers are device pointers.
#pragma once
#include <cuda_bf16.h>
#include <cuda_runtime_api.h>

#include <cstdint>
#include <string>

#include "mixers/gla/gla_scalar_bf16.cuh"
#include "ops/cuda/current_stream.cuh"

namespace seqbench {

struct SsdBf16Shape {
  int64_t batch = 0, seq_len = 0, heads = 0;
  int64_t head_dim = 0;   // P: 64 or 128
  int64_t state_dim = 0;  // N: 64 or 128
  int64_t groups = 1;     // B and C groups, dividing heads; head h reads group h / (heads / groups)
};

// Why these kernels cannot run a shape, or "" when they can.
std::string ssd_bf16_unsupported(const SsdBf16Shape& shape);

// bf16 elements of the chunk states [B, H, ceil(L / 64), N, P] that backward reads.
int64_t ssd_bf16_chunk_state_elements(const SsdBf16Shape& shape);

// Floats of the caller-owned workspace (16-byte aligned) either call needs: dt x and dt A, the GLA
// workspace, and for backward the per-head gradients of q, k, v and the log decay.
int64_t ssd_bf16_workspace_floats(const SsdBf16Shape& shape);

// x, y [B, L, H, P]; dt [B, L, H] (fp32, after softplus); a [H] (fp32, A = -exp(A_log)); b, c [B, L, G, N].
// chunk_states (for backward) and final_state [B, H, N, P] (fp32) may be null. No D skip term: y += D x is
// elementwise and left to the caller.
void ssd_bf16_fwd_cuda(const __nv_bfloat16* x, const float* dt, const float* a, const __nv_bfloat16* b,
                       const __nv_bfloat16* c, __nv_bfloat16* y, __nv_bfloat16* chunk_states, float* final_state,
                       float* workspace, const SsdBf16Shape& shape,
                       GlaScalarFwdVariant variant = gla_scalar_fwd_variant(), cudaStream_t stream = current_stream());

// dy laid out as y; chunk_states from a forward call that stored them. Overwrites dx (as x), ddt (as dt),
// da [H], db and dc (as b and c): dB and dC summed over each group's heads, d dt = x . dv + A dg and
// dA_h = sum_t dt dg, with dv and dg the scan's gradients of v = dt x and of the log decay.
void ssd_bf16_bwd_cuda(const __nv_bfloat16* x, const float* dt, const float* a, const __nv_bfloat16* b,
                       const __nv_bfloat16* c, const __nv_bfloat16* chunk_states, const __nv_bfloat16* dy,
                       __nv_bfloat16* dx, float* ddt, float* da, __nv_bfloat16* db, __nv_bfloat16* dc,
                       float* workspace, const SsdBf16Shape& shape, cudaStream_t stream = current_stream());

}  // namespace seqbench
