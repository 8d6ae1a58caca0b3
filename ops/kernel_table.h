// One dispatch idiom for every op family. A family (gla, softmax attention, matmul, ...) declares in
// its header a table of kernel pointers whose signatures are its CPU kernels' (decltype(&foo_cpu)):
//
//   struct FooKernels : KernelFamily<FooKernels> {
//     static constexpr const char* kFamily = "foo";
//     decltype(&foo_fwd_cpu) fwd;
//     ...
//     ShapeCheck<FooShape> unsupported;  // why this device cannot run a shape; empty when it can
//   };
//
// foo_cpu.cpp and foo_cuda.cu fill the two tables (`template <> FooKernels cpu_kernel_table<FooKernels>{{}, ...};`)
// and callers reach them through FooKernels::cpu() and FooKernels::cuda(), declared once in KernelFamily.
// A caller picks the table once per device (a mixer when it is built) and calls through it, so the
// CPU/CUDA choice is made in exactly one place. The CUDA kernels take the CPU kernels' arguments on
// device pointers; `unsupported` is what `run --dry-run` asks before any cell runs (ggml-backend's
// supports_op), so a shape a kernel cannot do is reported up front rather than as a failed cell.
#pragma once
#include <string>

#include "ops/tensor.h"

namespace seqbench {

// Each family's two tables, defined by explicit specialisation in its _cpu.cpp and _cuda.cu (the CUDA one
// in CUDA builds only). Not const: a const specialisation would get internal linkage; the accessors
// below are the only way in and hand out const references.
template <class Table>
extern Table cpu_kernel_table;
template <class Table>
extern Table cuda_kernel_table;

// The base of every kernel table. Empty, so a table stays an aggregate whose first initialiser is `{}`.
template <class Table>
struct KernelFamily {
  static const Table& cpu() { return cpu_kernel_table<Table>; }    // the CPU reference kernels
  static const Table& cuda() { return cuda_kernel_table<Table>; }  // the CUDA kernels, device pointers
};

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
