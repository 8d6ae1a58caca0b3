// Named phase ranges (prefill, decode, train step) for profilers: with CUDA and the header-only
// NVTX 3 they appear in Nsight Systems under the same names the store uses; on CPU-only builds
// they compile to nothing.
#pragma once

#if defined(SEQBENCH_WITH_CUDA) && defined(__has_include)
#if __has_include(<nvtx3/nvToolsExt.h>)
#include <nvtx3/nvToolsExt.h>
#define SEQBENCH_HAS_NVTX 1
#endif
#endif

namespace seqbench {

class ScopedRange {
 public:
  explicit ScopedRange(const char* name) {
#ifdef SEQBENCH_HAS_NVTX
    nvtxRangePushA(name);
#else
    (void)name;
#endif
  }
  ~ScopedRange() {
#ifdef SEQBENCH_HAS_NVTX
    nvtxRangePop();
#endif
  }
  ScopedRange(const ScopedRange&) = delete;
  ScopedRange& operator=(const ScopedRange&) = delete;
};

}  // namespace seqbench
