// Linear attention forward, backward and decode on the GPU. With v'_s = [v_s, 1] and the output
// gradient dn'_t = [dout_t / g_t, -(dout_t . out_t) / g_t], the normalised backward is three
// unnormalised chunked products: da = causal(dn', v'; b), db = anticausal(v', dn'; a),
// dv = anticausal(b, a; dn') (Katharopoulos et al. 2020, eq. 13-14 with the denominator folded in).
// bf16 at feature and head widths of 64 or 128 goes to scalar GLA instead (linear_attention_scalar_gla_cuda.cuh).
// Checked against linear_attention_{fwd,bwd,decode}_cpu in test_gpu_linear.cpp.
#include <cuda_bf16.h>

#include <algorithm>
#include <stdexcept>
#include <string>

#include "mixers/linear/linear_attention_bf16.cuh"
#include "mixers/linear/linear_attention_chunk_cuda.cuh"
#include "mixers/linear/linear_attention_scalar_gla_cuda.cuh"
#include "ops/cuda/cuda_check.h"
#include "ops/cuda/element_type.cuh"
#include "ops/cuda/scratch_buffer.cuh"
#include "ops/cuda/warp_reduce.cuh"

namespace seqbench {
namespace {

constexpr int64_t kDecodeSharedFloats = 48 * 1024 / sizeof(float);  // decode keeps phi_q, phi_k and v in shared memory

void check_linear_attention(const LinearAttentionShape& s, const LinearAttentionOptions& o, const char* who) {
  if (o.chunk_size < 1)
    throw std::invalid_argument(std::string(who) + ": chunk_size must be >= 1, got " + std::to_string(o.chunk_size));
  if (s.batch < 0 || s.seq_len < 0 || s.heads < 0 || s.feature_dim < 1 || s.head_dim < 1)
    throw std::invalid_argument(std::string(who) + ": feature_dim and head_dim must be >= 1 and sizes >= 0, got f " +
                                std::to_string(s.feature_dim) + ", head_dim " + std::to_string(s.head_dim));
}

int64_t gradient_width(const LinearAttentionShape& s, const LinearAttentionOptions& o) {
  return s.head_dim + (o.normalize ? 1 : 0);
}
// Rows of dn' padded to whole 16-byte vectors (zeros), so the chunk kernels can load them wide.
int64_t gradient_stride(const LinearAttentionShape& s, const LinearAttentionOptions& o) {
  return (gradient_width(s, o) + 7) / 8 * 8;
}

// One warp per (token, head) row: dn' = [dout / g, -(dout . out) / g] (normalised) or dout,
// stored as T (bf16 rounding of dn' is within the bf16 tolerance of the gradients).
template <class T>
__global__ void output_gradient_kernel(const T* out, const float* den, const T* dout, T* dn, int L, int H, int Dv,
                                       int stride, bool normalize, int64_t rows) {
  const int64_t row = static_cast<int64_t>(blockIdx.x) * (blockDim.x / 32) + threadIdx.x / 32;
  if (row >= rows) return;  // rows in memory order (b, t, h)
  const int lane = threadIdx.x % 32, width = stride;
  for (int d = Dv + (normalize ? 1 : 0) + lane; d < stride; d += 32) dn[row * width + d] = from_float<T>(0.0f);
  float inv = 1.0f, dot = 0.0f;
  if (normalize) {
    const int64_t h = row % H, t = (row / H) % L, b = row / (static_cast<int64_t>(H) * L);
    inv = 1.0f / den[(b * H + h) * L + t];
  }
  for (int d = lane; d < Dv; d += 32) {
    const float g = to_float(dout[row * Dv + d]);
    dn[row * width + d] = from_float<T>(g * inv);
    if (normalize) dot += g * to_float(out[row * Dv + d]);
  }
  if (normalize) {
    dot = warp_sum(dot);
    if (lane == 0) dn[row * width + Dv] = from_float<T>(-dot * inv);
  }
}

// One block per (batch, head): S += b v^T, z += b, out = a^T S (/ (a.z + eps)).
template <class T>
__global__ void linear_attention_decode_kernel(const T* a, const T* b, const T* v, float* S, float* z, T* out, int F,
                                               int Dv, bool normalize, float eps) {
  extern __shared__ float smem[];
  float* a_s = smem;
  float* b_s = a_s + F;
  float* v_s = b_s + F;
  const int64_t bh = blockIdx.x;
  for (int i = threadIdx.x; i < F; i += blockDim.x) {
    a_s[i] = to_float(a[bh * F + i]);
    b_s[i] = to_float(b[bh * F + i]);
  }
  for (int i = threadIdx.x; i < Dv; i += blockDim.x) v_s[i] = to_float(v[bh * Dv + i]);
  __syncthreads();
  float a_dot_z = 0.0f;
  for (int f = threadIdx.x; f < F; f += blockDim.x) {
    const float zf = z[bh * F + f] + b_s[f];
    z[bh * F + f] = zf;
    a_dot_z += a_s[f] * zf;
  }
  a_dot_z = block_sum(a_dot_z);
  const float inv = normalize ? 1.0f / (a_dot_z + eps) : 1.0f;
  float* S_h = S + bh * F * Dv;
  for (int d = threadIdx.x; d < Dv; d += blockDim.x) {
    float acc = 0.0f;
    for (int f = 0; f < F; ++f) {
      const float s = S_h[f * Dv + d] + b_s[f] * v_s[d];
      S_h[f * Dv + d] = s;
      acc += a_s[f] * s;
    }
    out[bh * Dv + d] = from_float<T>(acc * inv);
  }
}

ChunkedProblem problem_of(const LinearAttentionShape& s) {
  ChunkedProblem p;
  p.batch = s.batch, p.seq_len = s.seq_len, p.heads = s.heads;
  return p;
}

}  // namespace

int64_t linear_attention_fwd_workspace_floats(const LinearAttentionShape& s, const LinearAttentionOptions&) {
  return linear_attention_runs_as_scalar_gla(s) ? scalar_gla_linear_attention_fwd_workspace_floats(s) : 0;
}

template <class T>
void linear_attention_fwd_cuda(const T* phi_q, const T* phi_k, const T* v, T* out, float* denominator,
                               float* final_kv_state, float* final_k_state, const LinearAttentionShape& s,
                               const LinearAttentionOptions& o, float* workspace, cudaStream_t stream) {
  check_linear_attention(s, o, "linear_attention_fwd_cuda");
  if (o.normalize && !denominator)
    throw std::invalid_argument("linear_attention_fwd_cuda: normalize needs a denominator buffer");
  if constexpr (is_bf16<T>) {
    if (linear_attention_runs_as_scalar_gla(s, {phi_q, phi_k, v, out, final_kv_state, workspace})) {
      const ScratchFloats scratch(workspace, linear_attention_fwd_workspace_floats(s, o), stream);
      return scalar_gla_linear_attention_fwd(phi_q, phi_k, v, out, denominator, final_kv_state, final_k_state, s, o,
                                             scratch.data(), stream);
    }
  }
  ChunkedProblem p = problem_of(s);
  p.normalize = o.normalize, p.eps = o.eps, p.denominator = denominator;
  p.final_kv_state = final_kv_state, p.final_k_state = final_k_state;
  chunked_linear_attention<T, T, T, T>({phi_q, s.feature_dim}, {phi_k, s.feature_dim}, {v, s.head_dim}, s.head_dim, out,
                                       p, stream);
}

int64_t linear_attention_bwd_workspace_floats(const LinearAttentionShape& s, const LinearAttentionOptions& o) {
  const int64_t chunked = s.batch * s.seq_len * s.heads * gradient_stride(s, o);  // as floats; bf16 uses half
  return linear_attention_runs_as_scalar_gla(s) ? std::max(chunked, scalar_gla_linear_attention_bwd_workspace_floats(s))
                                                : chunked;
}

template <class T>
void linear_attention_bwd_cuda(const T* phi_q, const T* phi_k, const T* v, const T* out, const float* denominator,
                               const T* dout, T* dphi_q, T* dphi_k, T* dv, const LinearAttentionShape& s,
                               const LinearAttentionOptions& o, float* workspace, cudaStream_t stream) {
  check_linear_attention(s, o, "linear_attention_bwd_cuda");
  if (o.normalize && !denominator)
    throw std::invalid_argument("linear_attention_bwd_cuda: normalize needs the forward's denominator");
  const int64_t rows = s.batch * s.seq_len * s.heads;
  if (rows == 0) return;
  const ScratchFloats scratch(workspace, linear_attention_bwd_workspace_floats(s, o), stream);
  if constexpr (is_bf16<T>) {
    if (linear_attention_runs_as_scalar_gla(s, {phi_q, phi_k, v, out, dout, dphi_q, dphi_k, dv, scratch.data()}))
      return scalar_gla_linear_attention_bwd(phi_q, phi_k, v, out, denominator, dout, dphi_q, dphi_k, dv, s, o,
                                             scratch.data(), stream);
  }
  T* dn = reinterpret_cast<T*>(scratch.data());
  const int64_t gw = gradient_width(s, o), gs = gradient_stride(s, o), f = s.feature_dim, dh = s.head_dim;
  const int rows_per_block = 8;
  output_gradient_kernel<T>
      <<<static_cast<unsigned>((rows + rows_per_block - 1) / rows_per_block), 32 * rows_per_block, 0, stream>>>(
          out, denominator, dout, dn, static_cast<int>(s.seq_len), static_cast<int>(s.heads), static_cast<int>(dh),
          static_cast<int>(gs), o.normalize, rows);
  cudaCheckLaunch();

  const TokenOperand<T> dn_operand{dn, gw, false, gs};
  const TokenOperand<T> v_with_ones{v, dh, o.normalize};
  ChunkedProblem forward = problem_of(s), backward = problem_of(s);
  backward.reverse = true;
  chunked_linear_attention<T, T, T, T>(dn_operand, v_with_ones, {phi_k, f}, f, dphi_q, forward, stream);
  chunked_linear_attention<T, T, T, T>(v_with_ones, dn_operand, {phi_q, f}, f, dphi_k, backward, stream);
  chunked_linear_attention<T, T, T, T>({phi_k, f}, {phi_q, f}, dn_operand, dh, dv, backward, stream);
}

template <class T>
void linear_attention_decode_cuda(const T* phi_q_t, const T* phi_k_t, const T* v_t, float* kv_state, float* k_state,
                                  T* out_t, const LinearAttentionShape& s, const LinearAttentionOptions& o,
                                  cudaStream_t stream) {
  check_linear_attention(s, o, "linear_attention_decode_cuda");
  if (s.batch * s.heads == 0) return;
  const size_t smem = (2 * s.feature_dim + s.head_dim) * sizeof(float);
  if (2 * s.feature_dim + s.head_dim > kDecodeSharedFloats)
    throw std::invalid_argument(
        "linear_attention_decode_cuda: 2 * feature_dim + head_dim must be <= " + std::to_string(kDecodeSharedFloats) +
        ", got " + std::to_string(2 * s.feature_dim + s.head_dim));
  linear_attention_decode_kernel<T><<<static_cast<unsigned>(s.batch * s.heads), 128, smem, stream>>>(
      phi_q_t, phi_k_t, v_t, kv_state, k_state, out_t, static_cast<int>(s.feature_dim), static_cast<int>(s.head_dim),
      o.normalize, o.eps);
  cudaCheckLaunch();
}

#define SEQBENCH_INSTANTIATE(T)                                                                                      \
  template void linear_attention_fwd_cuda<T>(const T*, const T*, const T*, T*, float*, float*, float*,               \
                                             const LinearAttentionShape&, const LinearAttentionOptions&, float*,     \
                                             cudaStream_t);                                                          \
  template void linear_attention_bwd_cuda<T>(const T*, const T*, const T*, const T*, const float*, const T*, T*, T*, \
                                             T*, const LinearAttentionShape&, const LinearAttentionOptions&, float*, \
                                             cudaStream_t);                                                          \
  template void linear_attention_decode_cuda<T>(const T*, const T*, const T*, float*, float*, T*,                    \
                                                const LinearAttentionShape&, const LinearAttentionOptions&,          \
                                                cudaStream_t);
SEQBENCH_INSTANTIATE(float)
SEQBENCH_INSTANTIATE(__nv_bfloat16)
#undef SEQBENCH_INSTANTIATE

void linear_attention_fwd_cuda(const float* phi_q, const float* phi_k, const float* v, float* out, float* denominator,
                               float* final_kv_state, float* final_k_state, const LinearAttentionShape& shape,
                               const LinearAttentionOptions& options) {
  linear_attention_fwd_cuda<float>(phi_q, phi_k, v, out, denominator, final_kv_state, final_k_state, shape, options);
}

void linear_attention_bwd_cuda(const float* phi_q, const float* phi_k, const float* v, const float* out,
                               const float* denominator, const float* dout, float* dphi_q, float* dphi_k, float* dv,
                               const LinearAttentionShape& shape, const LinearAttentionOptions& options) {
  linear_attention_bwd_cuda<float>(phi_q, phi_k, v, out, denominator, dout, dphi_q, dphi_k, dv, shape, options);
}

void linear_attention_decode_cuda(const float* phi_q_t, const float* phi_k_t, const float* v_t, float* kv_state,
                                  float* k_state, float* out_t, const LinearAttentionShape& shape,
                                  const LinearAttentionOptions& options) {
  linear_attention_decode_cuda<float>(phi_q_t, phi_k_t, v_t, kv_state, k_state, out_t, shape, options);
}

std::string linear_attention_cuda_limits(const LinearAttentionShape& s, const LinearAttentionOptions& o) {
  const int64_t contraction = std::max(s.feature_dim + (o.normalize ? 1 : 0), s.head_dim + 1);
  if (contraction > kChunkedMaxContraction)
    return "feature_dim (+1 when normalised) and head_dim + 1 must be <= " + std::to_string(kChunkedMaxContraction) +
           " on the GPU, got feature_dim " + std::to_string(s.feature_dim) + ", head_dim " + std::to_string(s.head_dim);
  if (2 * s.feature_dim + s.head_dim > kDecodeSharedFloats)
    return "2 * feature_dim + head_dim must be <= " + std::to_string(kDecodeSharedFloats) +
           " for decode on the GPU, got " + std::to_string(2 * s.feature_dim + s.head_dim);
  return {};
}

template <>
LinearAttentionKernels cuda_kernel_table<LinearAttentionKernels>{{},
                                                                 linear_attention_fwd_cuda,
                                                                 linear_attention_bwd_cuda,
                                                                 linear_attention_decode_cuda,
                                                                 linear_attention_cuda_limits};

}  // namespace seqbench
