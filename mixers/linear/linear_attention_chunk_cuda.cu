// Chunked causal linear attention (Katharopoulos et al. 2020; chunked form as in GLA, Yang et al.
// 2024, sec. 3): per 64-token chunk, W = mask(Q K^T), out = Q S + W V, then S += K^T V, on CUDA
// cores in fp32 (bf16 operands too, at the widths the scalar-GLA route does not take). Checked through
// linear_attention_{fwd,bwd}_cuda against the CPU kernels in test_gpu_linear.cpp.
#include <cuda_bf16.h>

#include <stdexcept>
#include <string>

#include "ops/cuda/cuda_check.h"
#include "ops/cuda/element_type.cuh"
#include "mixers/linear/linear_attention_chunk_cuda.cuh"

namespace seqbench {
namespace {

constexpr int kChunk = 64;   // tokens per chunk
constexpr int kSlice = 64;   // value columns per block (blocks of one head split the columns)
constexpr int kKTile = 32;   // contraction columns per shared-memory tile
constexpr int kThreads = 256;  // 16 x 16 threads, each a 4 x 4 block of a 64 x 64 product
constexpr int kRow = kChunk + 4;  // padded row of the transposed tiles, float4-aligned

struct Dims {
  int L, H;
  int64_t wq, wk, wv, nv;  // data widths; value columns computed
  int64_t sq, sk, sv;      // strides between heads
  int F, F_pad;            // logical contraction width, rounded up to kKTile
  bool q_ones, k_ones;
};

template <class T>
__device__ __forceinline__ float operand_at(const T* base, int64_t stride, int64_t width, bool ones, int t, int L,
                                            int col) {
  if (t >= L) return 0.0f;  // padding rows must not reach the state, not even through the ones column
  if (col < width) return to_float(base[t * stride + col]);
  return ones && col == width ? 1.0f : 0.0f;
}

__device__ __forceinline__ float4 load4(const float* p) { return *reinterpret_cast<const float4*>(p); }
__device__ __forceinline__ float at(const float4& x, int i) { return i == 0 ? x.x : i == 1 ? x.y : i == 2 ? x.z : x.w; }

template <class TQ, class TK, class TV, class TO, bool kReverse, bool kNormalize>
__global__ void __launch_bounds__(kThreads, 2)
    chunked_linear_attention_kernel(const TQ* __restrict__ q, const TK* __restrict__ k, const TV* __restrict__ v,
                                    TO* __restrict__ out, float eps, float* __restrict__ den,
                                    float* __restrict__ final_kv, float* __restrict__ final_k, Dims d) {
  extern __shared__ float4 smem4[];
  float* S_s = reinterpret_cast<float*>(smem4);  // [F_pad][kSlice]: the carried state, this block's columns
  float* z_s = S_s + d.F_pad * kSlice;           // [F_pad]: carried sum of keys (normaliser)
  float* q_t = z_s + d.F_pad;                    // [kKTile][kRow]: a contraction tile of Q, transposed
  float* k_t = q_t + kKTile * kRow;              // [kKTile][kRow]
  float* w_t = k_t + kKTile * kRow;              // [kChunk][kRow]: W transposed
  float* v_s = w_t + kChunk * kRow;              // [kChunk][kSlice + 4]
  constexpr int kVRow = kSlice + 4;

  const int bh = blockIdx.x, c0 = blockIdx.y * kSlice, b = bh / d.H, h = bh % d.H;
  const int tid = threadIdx.x, ty = tid / 16, tx = tid % 16;
  const bool track_z = kNormalize || final_k != nullptr;
  auto base = [&](int64_t width) { return (static_cast<int64_t>(b) * d.L * d.H + h) * width; };
  const TQ* q_h = q + base(d.sq);
  const TK* k_h = k + base(d.sk);
  const TV* v_h = v + base(d.sv);
  TO* out_h = out + base(d.nv);

  for (int i = tid; i < d.F_pad * (kSlice + 1); i += kThreads) S_s[i] = 0.0f;  // S_s and z_s
  const int n_chunks = (d.L + kChunk - 1) / kChunk;
  for (int ci = 0; ci < n_chunks; ++ci) {
    const int t0 = (kReverse ? n_chunks - 1 - ci : ci) * kChunk;
    __syncthreads();  // the previous chunk is done with v_s and w_t
    for (int i = tid; i < kChunk * kSlice; i += kThreads) {
      const int r = i / kSlice, c = i % kSlice;
      v_s[r * kVRow + c] = c0 + c < d.nv ? operand_at(v_h, d.H * d.sv, d.wv, false, t0 + r, d.L, c0 + c) : 0.0f;
    }
    float w[4][4] = {}, o[4][4] = {}, q_dot_z[4] = {};
    for (int kt = 0; kt < d.F; kt += kKTile) {
      __syncthreads();  // the previous tile's state update has read k_t
      for (int i = tid; i < kChunk * kKTile; i += kThreads) {
        const int r = i / kKTile, kk = i % kKTile;
        q_t[kk * kRow + r] = operand_at(q_h, d.H * d.sq, d.wq, d.q_ones, t0 + r, d.L, kt + kk);
        k_t[kk * kRow + r] = operand_at(k_h, d.H * d.sk, d.wk, d.k_ones, t0 + r, d.L, kt + kk);
      }
      __syncthreads();
      // W += Q_tile K_tile^T; out += Q_tile S[tile rows] (the state of all earlier chunks).
#pragma unroll 4
      for (int kk = 0; kk < kKTile; ++kk) {
        const float4 a = load4(q_t + kk * kRow + ty * 4), bk = load4(k_t + kk * kRow + tx * 4);
        const float4 s = load4(S_s + (kt + kk) * kSlice + tx * 4);
        const float zk = kNormalize ? z_s[kt + kk] : 0.0f;
#pragma unroll
        for (int i = 0; i < 4; ++i) {
#pragma unroll
          for (int j = 0; j < 4; ++j) {
            w[i][j] += at(a, i) * at(bk, j);
            o[i][j] += at(a, i) * at(s, j);
          }
          if (kNormalize) q_dot_z[i] += at(a, i) * zk;
        }
      }
      __syncthreads();  // every thread has read S rows [kt, kt + kKTile) before they change
      // S[kt + f] += sum_s k_s[kt + f] v_s: rows ty*2, ty*2+1 of this tile, columns tx*4..+3.
      float upd[2][4] = {};
      for (int s = 0; s < kChunk; ++s) {
        const float4 vv = load4(v_s + s * kVRow + tx * 4);
#pragma unroll
        for (int e = 0; e < 2; ++e) {
          const float kf = k_t[(ty * 2 + e) * kRow + s];
#pragma unroll
          for (int j = 0; j < 4; ++j) upd[e][j] += kf * at(vv, j);
        }
      }
#pragma unroll
      for (int e = 0; e < 2; ++e)
#pragma unroll
        for (int j = 0; j < 4; ++j) S_s[(kt + ty * 2 + e) * kSlice + tx * 4 + j] += upd[e][j];
      if (track_z && tid < kKTile) {
        float sum = 0.0f;
        for (int s = 0; s < kChunk; ++s) sum += k_t[tid * kRow + s];
        z_s[kt + tid] += sum;
      }
    }

    // Causal mask inside the chunk (diagonal included), row sums for the normaliser, W^T to smem.
    float row_sum[4] = {};
#pragma unroll
    for (int i = 0; i < 4; ++i)
#pragma unroll
      for (int j = 0; j < 4; ++j) {
        const int r = ty * 4 + i, c = tx * 4 + j;
        if (kReverse ? c < r : c > r) w[i][j] = 0.0f;
        row_sum[i] += w[i][j];
      }
    if (kNormalize) {
#pragma unroll
      for (int i = 0; i < 4; ++i)
        for (int offset = 8; offset > 0; offset >>= 1)
          row_sum[i] += __shfl_xor_sync(0xffffffffu, row_sum[i], offset);  // the 16 threads of one row group
    }
#pragma unroll
    for (int j = 0; j < 4; ++j)
      *reinterpret_cast<float4*>(w_t + (tx * 4 + j) * kRow + ty * 4) = make_float4(w[0][j], w[1][j], w[2][j], w[3][j]);
    __syncthreads();
#pragma unroll 4
    for (int s = 0; s < kChunk; ++s) {
      const float4 ws = load4(w_t + s * kRow + ty * 4), vv = load4(v_s + s * kVRow + tx * 4);
#pragma unroll
      for (int i = 0; i < 4; ++i)
#pragma unroll
        for (int j = 0; j < 4; ++j) o[i][j] += at(ws, i) * at(vv, j);
    }
#pragma unroll
    for (int i = 0; i < 4; ++i) {
      const int t = t0 + ty * 4 + i;
      if (t >= d.L) continue;
      float inv = 1.0f;
      if (kNormalize) {
        const float g = row_sum[i] + q_dot_z[i] + eps;
        inv = 1.0f / g;
        if (blockIdx.y == 0 && tx == 0) den[static_cast<int64_t>(bh) * d.L + t] = g;
      }
#pragma unroll
      for (int j = 0; j < 4; ++j) {
        const int c = c0 + tx * 4 + j;
        if (c < d.nv) out_h[t * (d.H * d.nv) + c] = from_float<TO>(o[i][j] * inv);
      }
    }
  }

  __syncthreads();
  if (final_kv)
    for (int i = tid; i < d.F * kSlice; i += kThreads) {
      const int f = i / kSlice, c = c0 + i % kSlice;
      if (c < d.nv) final_kv[(static_cast<int64_t>(bh) * d.F + f) * d.nv + c] = S_s[i];
    }
  if (final_k && blockIdx.y == 0)
    for (int f = tid; f < d.F; f += kThreads) final_k[static_cast<int64_t>(bh) * d.F + f] = z_s[f];
}

template <bool kReverse, bool kNormalize, class TQ, class TK, class TV, class TO>
void launch(const TQ* q, const TK* k, const TV* v, TO* out, const ChunkedProblem& p, const Dims& d,
            cudaStream_t stream) {
  auto kernel = chunked_linear_attention_kernel<TQ, TK, TV, TO, kReverse, kNormalize>;
  const size_t floats = static_cast<size_t>(d.F_pad) * (kSlice + 1) + 2 * kKTile * kRow + kChunk * kRow +
                        kChunk * (kSlice + 4);
  const size_t bytes = floats * sizeof(float);
  cudaCheck(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(bytes)));
  const dim3 grid(static_cast<unsigned>(p.batch * p.heads), static_cast<unsigned>((d.nv + kSlice - 1) / kSlice));
  kernel<<<grid, kThreads, bytes, stream>>>(q, k, v, out, p.eps, p.denominator, p.final_kv_state, p.final_k_state, d);
  cudaCheckLaunch();
}

}  // namespace

template <class TQ, class TK, class TV, class TO>
void chunked_linear_attention(TokenOperand<TQ> q, TokenOperand<TK> k, TokenOperand<TV> v, int64_t value_columns,
                              TO* out, const ChunkedProblem& p, cudaStream_t stream) {
  const int64_t F = q.width + q.ones_column;
  if (F != k.width + k.ones_column)
    throw std::invalid_argument("chunked_linear_attention: contraction widths differ (" + std::to_string(F) + " vs " +
                                std::to_string(k.width + k.ones_column) + ")");
  if (F > kChunkedMaxContraction)
    throw std::invalid_argument("linear attention on CUDA: feature_dim (+1 when normalised) must be <= " +
                                std::to_string(kChunkedMaxContraction) + ", got " + std::to_string(F));
  if (p.batch * p.heads == 0 || p.seq_len == 0 || value_columns == 0) return;
  Dims d;
  d.L = static_cast<int>(p.seq_len);
  d.H = static_cast<int>(p.heads);
  d.wq = q.width, d.wk = k.width, d.wv = v.width, d.nv = value_columns;
  d.sq = q.row_stride(), d.sk = k.row_stride(), d.sv = v.row_stride();
  d.F = static_cast<int>(F);
  d.F_pad = static_cast<int>((F + kKTile - 1) / kKTile * kKTile);
  d.q_ones = q.ones_column, d.k_ones = k.ones_column;
  if (p.reverse && p.normalize) throw std::invalid_argument("chunked_linear_attention: normalize is forward-only");
  if (p.reverse)
    launch<true, false>(q.data, k.data, v.data, out, p, d, stream);
  else if (p.normalize)
    launch<false, true>(q.data, k.data, v.data, out, p, d, stream);
  else
    launch<false, false>(q.data, k.data, v.data, out, p, d, stream);
}

// linear_attention_cuda.cu keeps every operand (the output gradients too) in the storage type.
#define SEQBENCH_INSTANTIATE(T)                                                                             \
  template void chunked_linear_attention<T, T, T, T>(TokenOperand<T>, TokenOperand<T>, TokenOperand<T>, int64_t, \
                                                     T*, const ChunkedProblem&, cudaStream_t);
SEQBENCH_INSTANTIATE(float)
SEQBENCH_INSTANTIATE(__nv_bfloat16)
#undef SEQBENCH_INSTANTIATE

}  // namespace seqbench
