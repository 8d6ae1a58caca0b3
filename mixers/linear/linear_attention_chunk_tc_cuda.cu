// Chunked causal linear attention on bf16 tensor cores: per 64-token chunk W = mask(Q K^T) and
// out = Q S + W V by mma.sync (fp32 accumulators), then S += K^T V into an fp32 state whose bf16
// copy feeds the next chunk. Same contract as chunked_linear_attention; checked through
// linear_attention_{fwd,bwd}_cuda against the CPU kernels in test_gpu_linear.cpp.
#include <cuda_bf16.h>

#include "ops/cuda/cuda_check.h"
#include "ops/cuda/tensor_core_bf16.cuh"
#include "mixers/linear/linear_attention_chunk_cuda.cuh"

namespace seqbench {
namespace {

using bf16 = __nv_bfloat16;
constexpr int kChunk = 64, kSlice = 64;
constexpr int kWarps = 4, kThreads = 32 * kWarps;  // warp w owns chunk rows 16w..16w+15

struct TcDims {
  int L, H;
  int F, F_pad;       // logical contraction width, rounded up to 16
  int64_t wq, wk, wv, nv, sq, sk, sv;
  bool q_ones, k_ones;
  bool q_vec, k_vec, v_vec;  // 16-byte loads allowed (stride % 8 == 0, aligned base)
};

// Rows [t0, t0 + 64) x columns [col0, col0 + cols) of one head into shared memory (bf16, rows
// dst_stride apart): zero past L and past `width`, 1 in column `width` when `ones`.
__device__ void load_chunk(bf16* dst, int dst_stride, const bf16* src, int64_t token_stride, int64_t width, bool ones,
                           bool vec, int t0, int L, int col0, int cols) {
  const bf16 zero = __float2bfloat16(0.0f), one = __float2bfloat16(1.0f);
  if (vec) {
    const int per_row = cols / 8;
    for (int i = threadIdx.x; i < kChunk * per_row; i += kThreads) {
      const int r = i / per_row, c = (i % per_row) * 8, col = col0 + c, t = t0 + r;
      uint4 raw = make_uint4(0, 0, 0, 0);
      if (t < L && col < width) raw = *reinterpret_cast<const uint4*>(src + t * token_stride + col);
      bf16* x = reinterpret_cast<bf16*>(&raw);
      if (col + 8 > width)
#pragma unroll
        for (int e = 0; e < 8; ++e)
          if (col + e >= width) x[e] = ones && col + e == width && t < L ? one : zero;
      *reinterpret_cast<uint4*>(dst + r * dst_stride + c) = raw;
    }
  } else {
    for (int i = threadIdx.x; i < kChunk * cols; i += kThreads) {
      const int r = i / cols, c = i % cols, col = col0 + c, t = t0 + r;
      bf16 x = zero;
      if (t < L && col < width) x = src[t * token_stride + col];
      else if (t < L && ones && col == width) x = one;
      dst[r * dst_stride + c] = x;
    }
  }
}

// acc += A x V[16 kk .. 16 kk + 16) for a warp's 16 x 16 A fragment and the 64 columns of the chunk's V
// slice (bf16 rows v_stride apart in shared memory): four 16 x 16 B tiles by transposed ldmatrix.
__device__ __forceinline__ void add_a_times_v_rows(float (&acc)[kSlice / 8][4], const uint32_t (&a)[4], const bf16* Vs,
                                                   int v_stride, int kk, int lane) {
#pragma unroll
  for (int np = 0; np < 4; ++np) {
    uint32_t vb[4];
    tc::load_matrix_x4_transposed(vb, Vs + (kk * 16 + (lane & 7) + (((lane >> 3) & 1) << 3)) * v_stride + np * 16 +
                                          (lane >> 4) * 8);
    tc::mma_16x8x16(acc[2 * np], a, vb[0], vb[1]);
    tc::mma_16x8x16(acc[2 * np + 1], a, vb[2], vb[3]);
  }
}

template <bool kReverse, bool kNormalize>
__global__ void __launch_bounds__(kThreads)
    chunked_linear_attention_tc_kernel(const bf16* __restrict__ q, const bf16* __restrict__ k,
                                       const bf16* __restrict__ v, bf16* __restrict__ out, float eps,
                                       float* __restrict__ den, float* __restrict__ final_kv,
                                       float* __restrict__ final_k, TcDims d) {
  extern __shared__ __align__(16) unsigned char smem_raw[];
  const int QS = d.F_pad + 8, SS = kSlice + 8;  // padded rows: conflict-free ldmatrix
  float* S32 = reinterpret_cast<float*>(smem_raw);  // [F_pad][kSlice] fp32 state (this block's columns)
  float* z = S32 + d.F_pad * kSlice;                // [F_pad] sum of keys
  float* qz = z + d.F_pad;                          // [kChunk] q_t . z of the chunk's rows
  bf16* Sb = reinterpret_cast<bf16*>(qz + kChunk);  // [F_pad][SS] bf16 copy of the state
  bf16* Qs = Sb + d.F_pad * SS;                     // [kChunk][QS]
  bf16* Ks = Qs + kChunk * QS;                      // [kChunk][QS]
  bf16* Vs = Ks + kChunk * QS;                      // [kChunk][SS]

  const int bh = blockIdx.x, c0 = blockIdx.y * kSlice, b = bh / d.H, h = bh % d.H;
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, g = lane >> 2, t4 = lane & 3;
  const bool track_z = kNormalize || final_k != nullptr;
  auto head = [&](int64_t stride) { return (static_cast<int64_t>(b) * d.L * d.H + h) * stride; };
  const bf16* q_h = q + head(d.sq);
  const bf16* k_h = k + head(d.sk);
  const bf16* v_h = v + head(d.sv);
  bf16* out_h = out + head(d.nv);

  for (int i = threadIdx.x; i < d.F_pad * (kSlice + 1); i += kThreads) S32[i] = 0.0f;  // S32 and z
  for (int i = threadIdx.x; i < d.F_pad * SS; i += kThreads) Sb[i] = __float2bfloat16(0.0f);
  const int n_chunks = (d.L + kChunk - 1) / kChunk;
  for (int ci = 0; ci < n_chunks; ++ci) {
    const int t0 = (kReverse ? n_chunks - 1 - ci : ci) * kChunk;
    __syncthreads();  // the previous chunk is done with Qs, Ks, Vs and Sb
    load_chunk(Qs, QS, q_h, d.H * d.sq, d.wq, d.q_ones, d.q_vec, t0, d.L, 0, d.F_pad);
    load_chunk(Ks, QS, k_h, d.H * d.sk, d.wk, d.k_ones, d.k_vec, t0, d.L, 0, d.F_pad);
    load_chunk(Vs, SS, v_h, d.H * d.sv, d.wv, false, d.v_vec && c0 % 8 == 0, t0, d.L, c0, kSlice);
    __syncthreads();
    if (kNormalize && threadIdx.x < kChunk) {
      float dot = 0.0f;
      for (int f = 0; f < d.F; ++f) dot += __bfloat162float(Qs[threadIdx.x * QS + f]) * z[f];
      qz[threadIdx.x] = dot;
    }

    // W = Q K^T and O = Q S over the contraction, this warp's 16 rows x 64 columns each.
    float w[kChunk / 8][4] = {}, o[kSlice / 8][4] = {};
    for (int kk = 0; kk < d.F_pad / 16; ++kk) {
      uint32_t a[4];
      tc::load_matrix_x4(a, Qs + (warp * 16 + (lane & 15)) * QS + kk * 16 + (lane >> 4) * 8);
#pragma unroll
      for (int np = 0; np < 4; ++np) {
        uint32_t kb[4], sb[4];
        tc::load_matrix_x4(kb, Ks + (np * 16 + (lane & 7) + ((lane >> 4) << 3)) * QS + kk * 16 + ((lane >> 3) & 1) * 8);
        tc::load_matrix_x4_transposed(sb, Sb + (kk * 16 + (lane & 7) + (((lane >> 3) & 1) << 3)) * SS + np * 16 +
                                              (lane >> 4) * 8);
        tc::mma_16x8x16(w[2 * np], a, kb[0], kb[1]);
        tc::mma_16x8x16(w[2 * np + 1], a, kb[2], kb[3]);
        tc::mma_16x8x16(o[2 * np], a, sb[0], sb[1]);
        tc::mma_16x8x16(o[2 * np + 1], a, sb[2], sb[3]);
      }
    }
    // Causal mask inside the chunk (diagonal kept) and the normaliser's in-chunk row sums.
    float row_sum[2] = {0.0f, 0.0f};
#pragma unroll
    for (int nb = 0; nb < kChunk / 8; ++nb)
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        const int r = warp * 16 + g + (e >= 2 ? 8 : 0), c = nb * 8 + 2 * t4 + (e & 1);
        if (kReverse ? c < r : c > r) w[nb][e] = 0.0f;
        row_sum[e >> 1] += w[nb][e];
      }
    // O += W V, W straight from the accumulators.
#pragma unroll
    for (int kk = 0; kk < kChunk / 16; ++kk) {
      uint32_t a[4];
      tc::accumulators_to_a_fragment(w[2 * kk], w[2 * kk + 1], a);
      add_a_times_v_rows(o, a, Vs, SS, kk, lane);
    }
    __syncthreads();  // every warp has read Sb (and qz is written) before the state changes

    // S += K^T V in 16-row blocks of the state, spread over the warps; K^T via transposed ldmatrix.
    for (int fb = warp; fb < d.F_pad / 16; fb += kWarps) {
      float acc[kSlice / 8][4];
#pragma unroll
      for (int nb = 0; nb < kSlice / 8; ++nb)
#pragma unroll
        for (int e = 0; e < 4; ++e) acc[nb][e] = S32[(fb * 16 + g + (e >= 2 ? 8 : 0)) * kSlice + nb * 8 + 2 * t4 + (e & 1)];
#pragma unroll
      for (int kk = 0; kk < kChunk / 16; ++kk) {
        uint32_t a[4];
        tc::load_matrix_x4_transposed(a, Ks + (kk * 16 + (lane & 7) + ((lane >> 4) << 3)) * QS + fb * 16 +
                                             (((lane >> 3) & 1) << 3));
        add_a_times_v_rows(acc, a, Vs, SS, kk, lane);
      }
#pragma unroll
      for (int nb = 0; nb < kSlice / 8; ++nb)
#pragma unroll
        for (int half = 0; half < 2; ++half) {
          const int row = fb * 16 + g + 8 * half, col = nb * 8 + 2 * t4;
          S32[row * kSlice + col] = acc[nb][2 * half];
          S32[row * kSlice + col + 1] = acc[nb][2 * half + 1];
          *reinterpret_cast<uint32_t*>(Sb + row * SS + col) = tc::pack_bf16x2(acc[nb][2 * half], acc[nb][2 * half + 1]);
        }
    }
    if (track_z)
      for (int f = threadIdx.x; f < d.F_pad; f += kThreads) {
        float sum = 0.0f;
        for (int s = 0; s < kChunk; ++s) sum += __bfloat162float(Ks[s * QS + f]);
        z[f] += sum;
      }

#pragma unroll
    for (int half = 0; half < 2; ++half) {  // a row's 64 columns are spread over the 4 lanes of a quad
      row_sum[half] += __shfl_xor_sync(0xffffffffu, row_sum[half], 1);
      row_sum[half] += __shfl_xor_sync(0xffffffffu, row_sum[half], 2);
    }
#pragma unroll
    for (int half = 0; half < 2; ++half) {
      const int r = warp * 16 + g + 8 * half, t = t0 + r;
      if (t >= d.L) continue;
      float inv = 1.0f;
      if (kNormalize) {
        const float den_t = row_sum[half] + qz[r] + eps;
        inv = 1.0f / den_t;
        if (blockIdx.y == 0 && t4 == 0) den[static_cast<int64_t>(bh) * d.L + t] = den_t;
      }
#pragma unroll
      for (int nb = 0; nb < kSlice / 8; ++nb)
#pragma unroll
        for (int e = 0; e < 2; ++e) {
          const int64_t c = c0 + nb * 8 + 2 * t4 + e;
          if (c < d.nv) out_h[t * (d.H * d.nv) + c] = __float2bfloat16(o[nb][2 * half + e] * inv);
        }
    }
  }

  __syncthreads();
  if (final_kv)
    for (int i = threadIdx.x; i < d.F * kSlice; i += kThreads) {
      const int f = i / kSlice, c = c0 + i % kSlice;
      if (c < d.nv) final_kv[(static_cast<int64_t>(bh) * d.F + f) * d.nv + c] = S32[i];
    }
  if (final_k && blockIdx.y == 0)
    for (int f = threadIdx.x; f < d.F; f += kThreads) final_k[static_cast<int64_t>(bh) * d.F + f] = z[f];
}

bool vector_ok(const TokenOperand<bf16>& x) {
  return x.row_stride() % 8 == 0 && reinterpret_cast<uintptr_t>(x.data) % 16 == 0;
}

template <bool kReverse, bool kNormalize>
void launch(const TokenOperand<bf16>& q, const TokenOperand<bf16>& k, const TokenOperand<bf16>& v, bf16* out,
            const ChunkedProblem& p, const TcDims& d, cudaStream_t stream) {
  auto kernel = chunked_linear_attention_tc_kernel<kReverse, kNormalize>;
  const size_t bytes = (static_cast<size_t>(d.F_pad) * (kSlice + 1) + kChunk) * sizeof(float) +
                       (static_cast<size_t>(d.F_pad) * (kSlice + 8) + 2 * kChunk * (d.F_pad + 8) +
                        kChunk * (kSlice + 8)) * sizeof(bf16);
  cudaCheck(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(bytes)));
  const dim3 grid(static_cast<unsigned>(p.batch * p.heads), static_cast<unsigned>((d.nv + kSlice - 1) / kSlice));
  kernel<<<grid, kThreads, bytes, stream>>>(q.data, k.data, v.data, out, p.eps, p.denominator, p.final_kv_state,
                                            p.final_k_state, d);
  cudaCheckLaunch();
}

}  // namespace

void chunked_linear_attention_tensor_core(TokenOperand<bf16> q, TokenOperand<bf16> k, TokenOperand<bf16> v,
                                          int64_t value_columns, bf16* out, const ChunkedProblem& p,
                                          cudaStream_t stream) {
  TcDims d;
  d.L = static_cast<int>(p.seq_len);
  d.H = static_cast<int>(p.heads);
  d.F = static_cast<int>(q.width + q.ones_column);
  d.F_pad = (d.F + 15) / 16 * 16;
  d.wq = q.width, d.wk = k.width, d.wv = v.width, d.nv = value_columns;
  d.sq = q.row_stride(), d.sk = k.row_stride(), d.sv = v.row_stride();
  d.q_ones = q.ones_column, d.k_ones = k.ones_column;
  d.q_vec = vector_ok(q), d.k_vec = vector_ok(k), d.v_vec = vector_ok(v);
  if (p.reverse)
    launch<true, false>(q, k, v, out, p, d, stream);
  else if (p.normalize)
    launch<false, true>(q, k, v, out, p, d, stream);
  else
    launch<false, false>(q, k, v, out, p, d, stream);
}

}  // namespace seqbench
