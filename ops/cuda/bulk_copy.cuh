// Hopper's bulk copy engine (TMA without a tensor map): one thread asks for a contiguous run of
// global memory to land in shared memory, and an mbarrier counts the bytes that arrived, so the
// threads that read the stage wait on the barrier instead of issuing 16-byte copies themselves.
// PTX ISA 8.0, sm_90: cp.async.bulk, mbarrier expect_tx / complete_tx. Sizes and addresses are
// multiples of 16 bytes.
#pragma once
#include <cstdint>

#include "ops/cuda/tensor_core_bf16.cuh"

namespace seqbench {
namespace bulk {

// One arrival (the thread that arms it) completes a phase once the armed bytes have landed.
__device__ __forceinline__ void barrier_init(uint64_t* barrier, unsigned arrivals) {
  asm volatile("mbarrier.init.shared::cta.b64 [%0], %1;\n" ::"r"(tc::shared_address(barrier)), "r"(arrivals));
}

// After initialising barriers, before any thread or the copy engine uses them (with a __syncthreads).
__device__ __forceinline__ void fence_barrier_init() {
  asm volatile("fence.mbarrier_init.release.cluster;\nfence.proxy.async.shared::cta;\n" ::: "memory");
}

// The arming thread's arrival, announcing `bytes` still to land in this phase.
__device__ __forceinline__ void arrive_expect_bytes(uint64_t* barrier, uint32_t bytes) {
  asm volatile("mbarrier.arrive.expect_tx.shared::cta.b64 _, [%0], %1;\n" ::"r"(tc::shared_address(barrier)),
               "r"(bytes)
               : "memory");
}

// Waits until the phase of the given parity (0 for the first use, then alternating) completed.
__device__ __forceinline__ void wait_parity(uint64_t* barrier, uint32_t parity) {
  const uint32_t address = tc::shared_address(barrier);
  uint32_t done = 0;
  do {
    asm volatile(
        "{\n.reg .pred p;\nmbarrier.try_wait.parity.shared::cta.b64 p, [%1], %2;\nselp.u32 %0, 1, 0, p;\n}\n"
        : "=r"(done)
        : "r"(address), "r"(parity)
        : "memory");
  } while (!done);
}

// An L2 policy for data read once: its lines are the first evicted.
__device__ __forceinline__ uint64_t evict_first_policy() {
  uint64_t policy;
  asm volatile("createpolicy.fractional.L2::evict_first.b64 %0, 1.0;\n" : "=l"(policy));
  return policy;
}

// bytes from global `from` into shared `to`, counted on `barrier` when they land.
__device__ __forceinline__ void copy_to_shared(void* to, const void* from, uint32_t bytes, uint64_t* barrier,
                                               uint64_t policy) {
  asm volatile(
      "cp.async.bulk.shared::cluster.global.mbarrier::complete_tx::bytes.L2::cache_hint [%0], [%1], %2, [%3], %4;\n" ::"r"(
          tc::shared_address(to)),
      "l"(from), "r"(bytes), "r"(tc::shared_address(barrier)), "l"(policy)
      : "memory");
}

}  // namespace bulk
}  // namespace seqbench
