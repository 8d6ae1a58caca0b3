// Hopper tile movement (sm_90): mbarriers with transaction counts, bulk tensor (TMA) loads that
// complete on them, and register reallocation between producer and consumer warpgroups (setmaxnreg,
// sm_90a). PTX ISA 9.7.13.15 (mbarrier), 9.7.9.25 (cp.async.bulk.tensor), 9.7.19.6 (setmaxnreg).
// Exercised by the Hopper attention forward (mixers/softmax/softmax_attention_hopper_cuda.cu) and the
// decode's bulk-copy path (mixers/softmax/softmax_attention_decode_kernel.cuh, plain bulk_load).
#pragma once
#include <cuda.h>  // CUtensorMap (a type only: the map is built through the runtime's driver entry point)

#include <cstdint>

#include "ops/cuda/hopper/wgmma.cuh"

namespace seqbench {
namespace hopper {

// `count` arrivals complete a phase (plus, after arrive_expect_tx, the announced bytes).
__device__ __forceinline__ void barrier_init(uint64_t* bar, uint32_t count) {
  asm volatile("mbarrier.init.shared::cta.b64 [%0], %1;\n" ::"r"(smem_u32(bar)), "r"(count) : "memory");
}
// Makes initialised barriers visible to the copy engine; follow with a block-wide barrier.
__device__ __forceinline__ void barrier_init_fence() {
  asm volatile("fence.mbarrier_init.release.cluster;\n" ::: "memory");
}
// One arrival that also announces `bytes` the copy engine will deliver in this phase.
__device__ __forceinline__ void barrier_arrive_expect_bytes(uint64_t* bar, uint32_t bytes) {
  asm volatile("mbarrier.arrive.expect_tx.shared::cta.b64 _, [%0], %1;\n" ::"r"(smem_u32(bar)), "r"(bytes) : "memory");
}
__device__ __forceinline__ void barrier_arrive(uint64_t* bar) {
  asm volatile("mbarrier.arrive.shared::cta.b64 _, [%0];\n" ::"r"(smem_u32(bar)) : "memory");
}
// Blocks until the phase with parity `parity` has completed. A fresh barrier is in phase 0, and a
// wait for parity 1 returns at once (the phase "before" it counts as complete): producers waiting for
// free slots start with parity 1, consumers waiting for data with parity 0, each flipping per round.
__device__ __forceinline__ void barrier_wait(uint64_t* bar, uint32_t parity) {
  const uint32_t addr = smem_u32(bar);
  uint32_t done = 0;
  do {
    asm volatile("{\n.reg .pred p;\nmbarrier.try_wait.parity.shared::cta.b64 p, [%1], %2;\nselp.u32 %0, 1, 0, p;\n}\n"
                 : "=r"(done)
                 : "r"(addr), "r"(parity)
                 : "memory");
  } while (!done);
}

// A 4-D box of `map` at coordinates (c0 innermost .. c3) into shared memory, completing `bar`'s
// transaction count. Out-of-range elements arrive as zeros and still count towards the bytes.
__device__ __forceinline__ void tma_load_4d(void* smem_dst, const CUtensorMap* map, int c0, int c1, int c2, int c3,
                                            uint64_t* bar) {
  asm volatile(
      "cp.async.bulk.tensor.4d.shared::cluster.global.mbarrier::complete_tx::bytes [%0], [%1, {%2, %3, %4, %5}], "
      "[%6];\n" ::"r"(smem_u32(smem_dst)),
      "l"(reinterpret_cast<uint64_t>(map)), "r"(c0), "r"(c1), "r"(c2), "r"(c3), "r"(smem_u32(bar))
      : "memory");
}

// An L2 policy for data read once: its lines are the first evicted.
__device__ __forceinline__ uint64_t evict_first_policy() {
  uint64_t policy;
  asm volatile("createpolicy.fractional.L2::evict_first.b64 %0, 1.0;\n" : "=l"(policy));
  return policy;
}

// A contiguous run of `bytes` (a multiple of 16, both addresses 16-byte aligned) from global memory
// into shared memory without a tensor map, completing `bar`'s transaction count, under an L2 policy.
__device__ __forceinline__ void bulk_load(void* smem_dst, const void* src, uint32_t bytes, uint64_t* bar,
                                          uint64_t policy) {
  asm volatile(
      "cp.async.bulk.shared::cluster.global.mbarrier::complete_tx::bytes.L2::cache_hint [%0], [%1], %2, [%3], %4;\n" ::"r"(
          smem_u32(smem_dst)),
      "l"(src), "r"(bytes), "r"(smem_u32(bar)), "l"(policy)
      : "memory");
}

// Adds `bytes` (a multiple of 16) of fp32 from shared memory into global memory through the bulk copy
// engine (cp.reduce.async.bulk, PTX ISA 9.7.9.24.7); both addresses 16-byte aligned. Tracked by bulk
// groups: commit after issuing, then wait before the shared source is rewritten (read) or the kernel
// ends (complete).
__device__ __forceinline__ void bulk_reduce_add_f32(float* global_dst, const void* smem_src, uint32_t bytes) {
  asm volatile("cp.reduce.async.bulk.global.shared::cta.bulk_group.add.f32 [%0], [%1], %2;\n" ::"l"(global_dst),
               "r"(smem_u32(smem_src)), "r"(bytes)
               : "memory");
}
__device__ __forceinline__ void bulk_commit_group() { asm volatile("cp.async.bulk.commit_group;\n" ::: "memory"); }
// Until this thread's bulk groups have read their shared-memory sources.
__device__ __forceinline__ void bulk_wait_read() { asm volatile("cp.async.bulk.wait_group.read 0;\n" ::: "memory"); }
// Until this thread's bulk groups have completed (their global writes done).
__device__ __forceinline__ void bulk_wait_complete() { asm volatile("cp.async.bulk.wait_group 0;\n" ::: "memory"); }

// Ordinary shared-memory stores become visible to the copy engine and the tensor cores (the async
// proxy) only after this fence in each writing thread, followed by a barrier.
__device__ __forceinline__ void fence_shared_for_async_proxy() {
  asm volatile("fence.proxy.async.shared::cta;\n" ::: "memory");
}

// Hands registers between warpgroups: the kernel needs a register cap at entry
// (__launch_bounds__(threads, 1)) and every thread of the warpgroup must execute the same call.
template <int kRegisters>
__device__ __forceinline__ void release_registers() {
#if SEQBENCH_HOPPER_WGMMA
  asm volatile("setmaxnreg.dec.sync.aligned.u32 %0;\n" ::"n"(kRegisters));
#endif
}
template <int kRegisters>
__device__ __forceinline__ void claim_registers() {
#if SEQBENCH_HOPPER_WGMMA
  asm volatile("setmaxnreg.inc.sync.aligned.u32 %0;\n" ::"n"(kRegisters));
#endif
}

}  // namespace hopper
}  // namespace seqbench
