// Named barriers between warpgroups (bar.sync / bar.arrive with an id and a thread count, PTX ISA
// 9.7.13.1): how two consumer warpgroups take turns issuing tensor-core work (FlashAttention-3's
// ping-pong schedule). Id 0 is __syncthreads(); callers pick ids from 1 up to 15.
#pragma once

namespace seqbench {
namespace hopper {

// Waits until `threads` threads (this one included) have arrived at barrier `id`.
__device__ __forceinline__ void named_barrier_sync(int id, int threads) {
  asm volatile("bar.sync %0, %1;\n" ::"r"(id), "r"(threads) : "memory");
}
// Arrives at barrier `id` without waiting (the waiting side uses named_barrier_sync).
__device__ __forceinline__ void named_barrier_arrive(int id, int threads) {
  asm volatile("bar.arrive %0, %1;\n" ::"r"(id), "r"(threads) : "memory");
}

}  // namespace hopper
}  // namespace seqbench
