// Warpgroup matrix multiply-accumulate (wgmma, sm_90a): shared-memory matrix descriptors for
// 128-byte-swizzled bf16 tiles, the fence/commit/wait protocol, and m64nNk16 bf16 -> fp32 products
// with A from shared memory or registers. Layouts follow the PTX ISA, "Asynchronous Warpgroup Level
// Matrix Multiply-Accumulate" (9.7.15); checked alone by tests/test_gpu_hopper_tiles.cpp.
//
// Shared-memory tiles (what a 128B-swizzled TMA box of 64 bf16 columns writes): a tile of R rows x 64
// columns is R * 128 bytes, row r at byte 128 r, its 16-byte chunk c stored at chunk c ^ (r % 8); the
// tile must start on a 1024-byte boundary (the swizzle reads address bits 4-9). Wider matrices are
// several such 64-column tiles placed one after another.
//
// Register fragments (warp w = 0..3 of the warpgroup, lane = 4 g + t):
//   accumulator d[N/2]: d[4 i + e] = D(16 w + g + 8 (e / 2), 8 i + 2 t + e % 2), i < N / 8
//                       (the mma.sync m16n8 C layout, repeated over N in 8-column blocks);
//   register A a[4] (bf16 pairs, low half = lower column): a[0] = A(16 w + g, 2t..2t+1),
//                       a[1] = A(16 w + g + 8, 2t..), a[2] = A(16 w + g, 2t+8..), a[3] = A(16 w + g + 8, 2t+8..)
//                       (the mma.sync m16n8k16 A layout), so two adjacent accumulator blocks of one
//                       product are the A operand of the next without leaving registers.
//
// These instructions exist only in the sm_90a target; the compute_90 PTX pass (kept for newer GPUs)
// compiles the wrappers to nothing, and the kernels using them trap there (kernels check the
// architecture on the host before launching).
#pragma once
#include <cstdint>

namespace seqbench {
namespace hopper {

#if defined(__CUDA_ARCH__) && defined(__CUDA_ARCH_FEAT_SM90_ALL)
#define SEQBENCH_HOPPER_WGMMA 1
#else
#define SEQBENCH_HOPPER_WGMMA 0
#endif

__device__ __forceinline__ uint32_t smem_u32(const void* ptr) {
  return static_cast<uint32_t>(__cvta_generic_to_shared(ptr));
}

// The 64-bit matrix descriptor: start address >> 4 in bits 0-13, leading byte offset >> 4 in bits
// 16-29, stride byte offset >> 4 in bits 32-45, base offset 0 (tiles are 1024-byte aligned; the start
// may move by a multiple of 32 bytes inside a swizzle row, as the hardware swizzles the final address),
// layout type in bits 62-63 (1 = 128-byte swizzle).
__device__ __forceinline__ uint64_t smem_descriptor(uint32_t smem_addr, uint32_t leading_bytes, uint32_t stride_bytes) {
  uint64_t desc = static_cast<uint64_t>((smem_addr & 0x3FFFF) >> 4);
  desc |= static_cast<uint64_t>((leading_bytes & 0x3FFFF) >> 4) << 16;
  desc |= static_cast<uint64_t>((stride_bytes & 0x3FFFF) >> 4) << 32;
  desc |= uint64_t{1} << 62;
  return desc;
}

// A K-major operand (A as M x K, or B as N x K, K contiguous): 8-row groups are 1024 bytes apart
// (stride offset); the leading offset is unused when one k16 step (32 bytes) lies inside the
// 128-byte swizzle row. Step k16 number s of a 64-column tile starts at tile + 32 s.
__device__ __forceinline__ uint64_t k_major_descriptor(uint32_t smem_addr) {
  return smem_descriptor(smem_addr, 16, 1024);
}

// An MN-major operand (B stored K x N, N contiguous, as V [keys x head_dim] for O += P V; or A stored
// K x M, M contiguous, with kTransA, as dS^T [keys x queries] for dQ = dS K): within a
// 64-column tile, K rows are 128 bytes apart and 8-row groups 1024 bytes (stride offset); the next 64
// columns of N are the next tile, `tile_bytes` further (leading offset). Step k16 number s starts at
// tile + 2048 s.
__device__ __forceinline__ uint64_t mn_major_descriptor(uint32_t smem_addr, uint32_t tile_bytes) {
  return smem_descriptor(smem_addr, tile_bytes, 1024);
}

// Orders this thread's register and shared-memory accesses before the wgmma that follow (required
// before the first wgmma and whenever accumulator or A registers were written by ordinary code).
__device__ __forceinline__ void fence() {
#if SEQBENCH_HOPPER_WGMMA
  asm volatile("wgmma.fence.sync.aligned;\n" ::: "memory");
#endif
}
__device__ __forceinline__ void commit_group() {
#if SEQBENCH_HOPPER_WGMMA
  asm volatile("wgmma.commit_group.sync.aligned;\n" ::: "memory");
#endif
}
// Waits until at most `kPending` committed groups are still running.
template <int kPending>
__device__ __forceinline__ void wait_group() {
#if SEQBENCH_HOPPER_WGMMA
  asm volatile("wgmma.wait_group.sync.aligned %0;\n" ::"n"(kPending) : "memory");
#endif
}

// Keeps the compiler from moving reads or writes of accumulator registers across fence/wait: the
// asynchronous product owns them in between.
template <int N>
__device__ __forceinline__ void fence_registers(float (&r)[N]) {
#pragma unroll
  for (int i = 0; i < N; ++i) asm volatile("" : "+f"(r[i])::"memory");
}
// The same for register A fragments (read by the product until its wait).
template <int N, int M>
__device__ __forceinline__ void fence_registers(uint32_t (&r)[N][M]) {
#pragma unroll
  for (int i = 0; i < N; ++i)
#pragma unroll
    for (int j = 0; j < M; ++j) asm volatile("" : "+r"(r[i][j])::"memory");
}

#if SEQBENCH_HOPPER_WGMMA
// d[64 x 64] (+)= A[64 x 16] (shared; K-major, or MN-major when kTransA) * B[16 x 64] (shared; K-major,
// or MN-major when kTransB).
template <int kTransB, int kTransA = 0>
__device__ __forceinline__ void mma_m64n64k16_ss(float (&d)[32], uint64_t desc_a, uint64_t desc_b, int accumulate) {
  asm volatile(
      "{\n.reg .pred p;\nsetp.ne.b32 p, %34, 0;\n"
      "wgmma.mma_async.sync.aligned.m64n64k16.f32.bf16.bf16 {"
      "%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, "
      "%16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31}, "
      "%32, %33, p, 1, 1, %36, %35;\n}\n"
      : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]), "+f"(d[6]), "+f"(d[7]), "+f"(d[8]),
        "+f"(d[9]), "+f"(d[10]), "+f"(d[11]), "+f"(d[12]), "+f"(d[13]), "+f"(d[14]), "+f"(d[15]), "+f"(d[16]),
        "+f"(d[17]), "+f"(d[18]), "+f"(d[19]), "+f"(d[20]), "+f"(d[21]), "+f"(d[22]), "+f"(d[23]), "+f"(d[24]),
        "+f"(d[25]), "+f"(d[26]), "+f"(d[27]), "+f"(d[28]), "+f"(d[29]), "+f"(d[30]), "+f"(d[31])
      : "l"(desc_a), "l"(desc_b), "r"(accumulate), "n"(kTransB), "n"(kTransA));
}

// d[64 x 64] (+)= A[64 x 16] (registers, the A fragment above) * B[16 x 64] (shared).
template <int kTransB>
__device__ __forceinline__ void mma_m64n64k16_rs(float (&d)[32], const uint32_t (&a)[4], uint64_t desc_b,
                                                 int accumulate) {
  asm volatile(
      "{\n.reg .pred p;\nsetp.ne.b32 p, %37, 0;\n"
      "wgmma.mma_async.sync.aligned.m64n64k16.f32.bf16.bf16 {"
      "%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, "
      "%16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31}, "
      "{%32, %33, %34, %35}, %36, p, 1, 1, %38;\n}\n"
      : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]), "+f"(d[6]), "+f"(d[7]), "+f"(d[8]),
        "+f"(d[9]), "+f"(d[10]), "+f"(d[11]), "+f"(d[12]), "+f"(d[13]), "+f"(d[14]), "+f"(d[15]), "+f"(d[16]),
        "+f"(d[17]), "+f"(d[18]), "+f"(d[19]), "+f"(d[20]), "+f"(d[21]), "+f"(d[22]), "+f"(d[23]), "+f"(d[24]),
        "+f"(d[25]), "+f"(d[26]), "+f"(d[27]), "+f"(d[28]), "+f"(d[29]), "+f"(d[30]), "+f"(d[31])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "l"(desc_b), "r"(accumulate), "n"(kTransB));
}

// d[64 x 128] (+)= A[64 x 16] (shared; K-major, or MN-major when kTransA) * B[16 x 128] (shared;
// K-major, or MN-major when kTransB).
template <int kTransB, int kTransA = 0>
__device__ __forceinline__ void mma_m64n128k16_ss(float (&d)[64], uint64_t desc_a, uint64_t desc_b, int accumulate) {
  asm volatile(
      "{\n.reg .pred p;\nsetp.ne.b32 p, %66, 0;\n"
      "wgmma.mma_async.sync.aligned.m64n128k16.f32.bf16.bf16 {"
      "%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, "
      "%16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31, "
      "%32, %33, %34, %35, %36, %37, %38, %39, %40, %41, %42, %43, %44, %45, %46, %47, "
      "%48, %49, %50, %51, %52, %53, %54, %55, %56, %57, %58, %59, %60, %61, %62, %63}, "
      "%64, %65, p, 1, 1, %68, %67;\n}\n"
      : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]), "+f"(d[6]), "+f"(d[7]), "+f"(d[8]),
        "+f"(d[9]), "+f"(d[10]), "+f"(d[11]), "+f"(d[12]), "+f"(d[13]), "+f"(d[14]), "+f"(d[15]), "+f"(d[16]),
        "+f"(d[17]), "+f"(d[18]), "+f"(d[19]), "+f"(d[20]), "+f"(d[21]), "+f"(d[22]), "+f"(d[23]), "+f"(d[24]),
        "+f"(d[25]), "+f"(d[26]), "+f"(d[27]), "+f"(d[28]), "+f"(d[29]), "+f"(d[30]), "+f"(d[31]), "+f"(d[32]),
        "+f"(d[33]), "+f"(d[34]), "+f"(d[35]), "+f"(d[36]), "+f"(d[37]), "+f"(d[38]), "+f"(d[39]), "+f"(d[40]),
        "+f"(d[41]), "+f"(d[42]), "+f"(d[43]), "+f"(d[44]), "+f"(d[45]), "+f"(d[46]), "+f"(d[47]), "+f"(d[48]),
        "+f"(d[49]), "+f"(d[50]), "+f"(d[51]), "+f"(d[52]), "+f"(d[53]), "+f"(d[54]), "+f"(d[55]), "+f"(d[56]),
        "+f"(d[57]), "+f"(d[58]), "+f"(d[59]), "+f"(d[60]), "+f"(d[61]), "+f"(d[62]), "+f"(d[63])
      : "l"(desc_a), "l"(desc_b), "r"(accumulate), "n"(kTransB), "n"(kTransA));
}

// d[64 x 128] (+)= A[64 x 16] (registers, the A fragment above) * B[16 x 128] (shared).
template <int kTransB>
__device__ __forceinline__ void mma_m64n128k16_rs(float (&d)[64], const uint32_t (&a)[4], uint64_t desc_b,
                                                  int accumulate) {
  asm volatile(
      "{\n.reg .pred p;\nsetp.ne.b32 p, %69, 0;\n"
      "wgmma.mma_async.sync.aligned.m64n128k16.f32.bf16.bf16 {"
      "%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, "
      "%16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31, "
      "%32, %33, %34, %35, %36, %37, %38, %39, %40, %41, %42, %43, %44, %45, %46, %47, "
      "%48, %49, %50, %51, %52, %53, %54, %55, %56, %57, %58, %59, %60, %61, %62, %63}, "
      "{%64, %65, %66, %67}, %68, p, 1, 1, %70;\n}\n"
      : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]), "+f"(d[6]), "+f"(d[7]), "+f"(d[8]),
        "+f"(d[9]), "+f"(d[10]), "+f"(d[11]), "+f"(d[12]), "+f"(d[13]), "+f"(d[14]), "+f"(d[15]), "+f"(d[16]),
        "+f"(d[17]), "+f"(d[18]), "+f"(d[19]), "+f"(d[20]), "+f"(d[21]), "+f"(d[22]), "+f"(d[23]), "+f"(d[24]),
        "+f"(d[25]), "+f"(d[26]), "+f"(d[27]), "+f"(d[28]), "+f"(d[29]), "+f"(d[30]), "+f"(d[31]), "+f"(d[32]),
        "+f"(d[33]), "+f"(d[34]), "+f"(d[35]), "+f"(d[36]), "+f"(d[37]), "+f"(d[38]), "+f"(d[39]), "+f"(d[40]),
        "+f"(d[41]), "+f"(d[42]), "+f"(d[43]), "+f"(d[44]), "+f"(d[45]), "+f"(d[46]), "+f"(d[47]), "+f"(d[48]),
        "+f"(d[49]), "+f"(d[50]), "+f"(d[51]), "+f"(d[52]), "+f"(d[53]), "+f"(d[54]), "+f"(d[55]), "+f"(d[56]),
        "+f"(d[57]), "+f"(d[58]), "+f"(d[59]), "+f"(d[60]), "+f"(d[61]), "+f"(d[62]), "+f"(d[63])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "l"(desc_b), "r"(accumulate), "n"(kTransB));
}
#else
// compute_90 PTX: never launched (the host checks for sm_90 first); keeps the callers compiling.
template <int kTransB, int R>
__device__ __forceinline__ void mma_unavailable(float (&)[R]) {
  __trap();
}
template <int kTransB, int kTransA = 0>
__device__ __forceinline__ void mma_m64n64k16_ss(float (&d)[32], uint64_t, uint64_t, int) {
  mma_unavailable<kTransB>(d);
}
template <int kTransB>
__device__ __forceinline__ void mma_m64n64k16_rs(float (&d)[32], const uint32_t (&)[4], uint64_t, int) {
  mma_unavailable<kTransB>(d);
}
template <int kTransB, int kTransA = 0>
__device__ __forceinline__ void mma_m64n128k16_ss(float (&d)[64], uint64_t, uint64_t, int) {
  mma_unavailable<kTransB>(d);
}
template <int kTransB>
__device__ __forceinline__ void mma_m64n128k16_rs(float (&d)[64], const uint32_t (&)[4], uint64_t, int) {
  mma_unavailable<kTransB>(d);
}
#endif

// One k16 step for either width used here (N = 64 or 128), so tile code can be generic in N.
template <int kTransB, int kTransA = 0, int R>
__device__ __forceinline__ void mma_k16_ss(float (&d)[R], uint64_t desc_a, uint64_t desc_b, int accumulate) {
  static_assert(R == 32 || R == 64, "N must be 64 or 128");
  if constexpr (R == 32)
    mma_m64n64k16_ss<kTransB, kTransA>(d, desc_a, desc_b, accumulate);
  else
    mma_m64n128k16_ss<kTransB, kTransA>(d, desc_a, desc_b, accumulate);
}
template <int kTransB, int R>
__device__ __forceinline__ void mma_k16_rs(float (&d)[R], const uint32_t (&a)[4], uint64_t desc_b, int accumulate) {
  static_assert(R == 32 || R == 64, "N must be 64 or 128");
  if constexpr (R == 32)
    mma_m64n64k16_rs<kTransB>(d, a, desc_b, accumulate);
  else
    mma_m64n128k16_rs<kTransB>(d, a, desc_b, accumulate);
}

}  // namespace hopper
}  // namespace seqbench
