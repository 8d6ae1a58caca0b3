// One dispatch idiom for every op family. A family (gla, softmax attention, matmul, ...) declares in
// its header a table of kernel pointers whose signatures are its CPU kernels' (decltype(&foo_cpu)):
//
//   struct FooKernels {
//     static constexpr const char* kFamily = "foo";
//     static const FooKernels& cpu();   // defined in foo_cpu.cpp: the CPU reference kernels
//     static const FooKernels& cuda();  // defined in foo_cuda.cu: the CUDA kernels (CUDA builds only)
//     decltype(&foo_fwd_cpu) fwd;
//     ...
//     ShapeCheck<FooShape> unsupported;  // why this device cannot run a shape; empty when it can
//   };
//
// A caller picks the table once per device (a mixer when it is built) and calls through it, so the
// CPU/CUDA choice is made in exactly one place. The CUDA kernels take the CPU kernels' arguments on
// device pointers; `unsupported` is what `run --dry-run` asks before any cell runs (ggml-backend's
// supports_op), so a shape a kernel cannot do is reported up front rather than as a failed cell.
#pragma once
#include <string>

#include "ops/tensor.h"

namespace seqbench {

// Throws std::runtime_error: "<family>: this build has no CUDA backend (configure with -DSEQBENCH_CUDA=ON)".
[[noreturn]] void throw_no_cuda_backend(const char* family);

template <class Kernels>
const Kernels& kernels_for(Device device) {
  if (device == Device::cpu) return Kernels::cpu();
#ifdef SEQBENCH_WITH_CUDA
  return Kernels::cuda();
#else
  throw_no_cuda_backend(Kernels::kFamily);
#endif
}

// A kernel family's shape limits: the reason a shape cannot run, or "" when it can.
template <class... Shape>
using ShapeCheck = std::string (*)(const Shape&...);

// For kernels that run every shape (the CPU references).
template <class... Shape>
std::string no_shape_limits(const Shape&...) {
  return {};
}

}  // namespace seqbench
