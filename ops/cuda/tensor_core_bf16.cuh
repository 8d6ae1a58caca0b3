// Warp-level building blocks for bf16 tensor-core kernels (sm_80+ instructions, also on Hopper):
// asynchronous 16-byte global->shared copies, ldmatrix fragment loads and the m16n8k16 bf16 MMA
// with fp32 accumulators. Fragment layouts follow the PTX ISA, "Matrix fragments for mma.m16n8k16".
#pragma once
#include <cuda_bf16.h>

#include <cstdint>

namespace seqbench {
namespace tc {

__device__ __forceinline__ uint32_t shared_address(const void* ptr) {
  return static_cast<uint32_t>(__cvta_generic_to_shared(ptr));
}

// Copies 16 bytes, or writes 16 zero bytes when !valid (src is then not read).
__device__ __forceinline__ void copy_async_16(void* smem, const void* gmem, bool valid) {
  const int src_bytes = valid ? 16 : 0;
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(shared_address(smem)), "l"(gmem),
               "r"(src_bytes));
}
__device__ __forceinline__ void commit_async() { asm volatile("cp.async.commit_group;\n" ::); }
template <int PendingGroups>
__device__ __forceinline__ void wait_async() {
  asm volatile("cp.async.wait_group %0;\n" ::"n"(PendingGroups));
}

// Four 8x8 b16 matrices; lanes 8i..8i+7 give the row addresses of matrix i, register i receives
// (row lane/4, columns 2*(lane%4)+{0,1}) of it, or the transposed element pair with .trans.
__device__ __forceinline__ void load_matrix_x4(uint32_t (&r)[4], const void* smem_row) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0, %1, %2, %3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(shared_address(smem_row)));
}
__device__ __forceinline__ void load_matrix_x4_transposed(uint32_t (&r)[4], const void* smem_row) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0, %1, %2, %3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(shared_address(smem_row)));
}

// c[16x8] += a[16x16] (row-major fragment) * b[16x8] (column-major fragment).
__device__ __forceinline__ void mma_16x8x16(float (&c)[4], const uint32_t (&a)[4], uint32_t b0, uint32_t b1) {
  asm volatile(
      "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, "
      "{%0, %1, %2, %3};\n"
      : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}

// Two floats as a bf16 pair, `lo` in the low half (the lower column index of a fragment).
__device__ __forceinline__ uint32_t pack_bf16x2(float lo, float hi) {
  __nv_bfloat162 pair = __floats2bfloat162_rn(lo, hi);
  return *reinterpret_cast<uint32_t*>(&pair);
}

// The accumulators of two adjacent 16x8 tiles (columns 0-7 and 8-15) as the A fragment of a
// 16x16 operand: how P = softmax(S) feeds P V without a trip through shared memory.
__device__ __forceinline__ void accumulators_to_a_fragment(const float (&left)[4], const float (&right)[4],
                                                          uint32_t (&a)[4]) {
  a[0] = pack_bf16x2(left[0], left[1]);
  a[1] = pack_bf16x2(left[2], left[3]);
  a[2] = pack_bf16x2(right[0], right[1]);
  a[3] = pack_bf16x2(right[2], right[3]);
}

// How a matrix sits in shared memory: by_row puts element (i, j) at [i * ld + j], by_column at
// [j * ld + i] (its transpose stored by row). ldmatrix reads either form, plain or .trans, so a
// kernel keeps each tile in the layout it was loaded in and names the form per product.
enum class Stored { by_row, by_column };

// One warp: acc[16 x 8 NT] += A[16 x 16 KT] * B[16 KT x 8 NT], `a` and `b` pointing at element (0, 0).
// acc[n][e] is row lane / 4 + 8 (e / 2), column 8 n + 2 (lane % 4) + e % 2 (the m16n8 layout).
// Rows of both tiles must be 16-byte aligned; a row stride of 8 (mod 64) elements avoids bank conflicts.
template <int KT, int NT, Stored kA, Stored kB>
__device__ __forceinline__ void warp_mma(float (&acc)[NT][4], const __nv_bfloat16* a, int lda,
                                         const __nv_bfloat16* b, int ldb) {
  static_assert(NT % 2 == 0, "B fragments load two 8-column tiles at a time");
  const int lane = threadIdx.x % 32;
#pragma unroll
  for (int kk = 0; kk < KT; ++kk) {
    uint32_t af[4];
    if constexpr (kA == Stored::by_row)
      load_matrix_x4(af, a + (lane & 15) * lda + kk * 16 + (lane >> 4) * 8);
    else
      load_matrix_x4_transposed(af, a + (kk * 16 + (lane & 7) + ((lane >> 4) << 3)) * lda + (((lane >> 3) & 1) << 3));
#pragma unroll
    for (int np = 0; np < NT / 2; ++np) {
      uint32_t bf[4];
      if constexpr (kB == Stored::by_row)
        load_matrix_x4_transposed(bf, b + (kk * 16 + (lane & 7) + (((lane >> 3) & 1) << 3)) * ldb + np * 16 +
                                          (lane >> 4) * 8);
      else
        load_matrix_x4(bf, b + (np * 16 + (lane & 7) + ((lane >> 4) << 3)) * ldb + kk * 16 + ((lane >> 3) & 1) * 8);
      mma_16x8x16(acc[2 * np], af, bf[0], bf[1]);
      mma_16x8x16(acc[2 * np + 1], af, bf[2], bf[3]);
    }
  }
}

// Copies a [ROWS x COLS] bf16 tile (row `row0` on, rows >= row_limit zero-filled) from global
// memory (rows `row_stride` elements apart) into shared memory rows SMEM_STRIDE elements apart.
template <int ROWS, int COLS, int SMEM_STRIDE, int THREADS>
__device__ __forceinline__ void load_tile_async(__nv_bfloat16* smem, const __nv_bfloat16* gmem, int64_t row_stride,
                                                int row0, int row_limit) {
  constexpr int kChunksPerRow = COLS / 8;
  for (int c = threadIdx.x; c < ROWS * kChunksPerRow; c += THREADS) {
    const int r = c / kChunksPerRow, col = (c % kChunksPerRow) * 8;
    const bool valid = row0 + r < row_limit;
    const __nv_bfloat16* src = valid ? gmem + (row0 + r) * row_stride + col : gmem;
    copy_async_16(smem + r * SMEM_STRIDE + col, src, valid);
  }
}

}  // namespace tc
}  // namespace seqbench
