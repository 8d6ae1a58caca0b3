// The tensor-core consumer of the one-token decode (softmax_attention_decode_mma_cuda.cu): what the
// launcher and the plan need to know of it. Same math, tiles and split merge as the SIMT kernel.
// Checked against softmax_attention_decode_cpu in test_gpu_softmax.cpp (SEQBENCH_DECODE_MATH).
#pragma once
#include <cuda_bf16.h>
#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>

#include "mixers/softmax/softmax_attention_decode_kernel.cuh"

namespace seqbench {
namespace decode {

constexpr int kMmaMaxHeads = 16;        // heads per block: the rows of an m16n8k16 A fragment
constexpr int kMmaMaxBlocksPerSm = 2;   // its accumulators take up to 128 registers a thread
// A pair of warps takes 8 cache rows (token x head) of each tile, one n-tile of the scores; each
// warp of the pair adds P V into its half of the head dim.
constexpr int kMmaRowsPerPair = 8;
constexpr int kMmaTileRows = kMmaRowsPerPair * kThreads / 64;

// bf16 with head_dim 64 or 128 (whole 32-element column blocks, accumulators within registers).
inline bool mma_applies(int64_t head_dim) { return head_dim == 64 || head_dim == 128; }
// Rows padded by 16 bytes, so that ldmatrix's eight rows of a matrix fall in different banks.
inline size_t mma_stage_bytes(int64_t head_dim) {
  return size_t{2} * kMmaTileRows * static_cast<size_t>(head_dim + 8) * sizeof(__nv_bfloat16);
}

void launch_decode_mma(const DecodeWork& w, const DecodeTensors<__nv_bfloat16>& t, int grid, int l2_prefetch,
                       bool bulk, cudaStream_t stream);

}  // namespace decode
}  // namespace seqbench
