// Every op that runs on either device has a CPU kernel (foo_cpu) and, in CUDA builds, a CUDA twin
// (foo_cuda) with the same arguments on device pointers; a dispatching foo(Device, ...) picks one.
// CPU-only builds still compile the dispatchers: asking them for the GPU throws this error.
#pragma once

namespace seqbench {

// Throws std::runtime_error: "<op>: this build has no CUDA backend (configure with -DSEQBENCH_CUDA=ON)".
[[noreturn]] void throw_no_cuda_backend(const char* op);

}  // namespace seqbench

// The GPU half of a dispatcher: `if (device == Device::cpu) return foo_cpu(...);` then
// `SEQBENCH_ON_CUDA("foo", foo_cuda(...));` (or `return SEQBENCH_ON_CUDA(...)` for ops with a result),
// which compiles to the throw in builds without CUDA.
#ifdef SEQBENCH_WITH_CUDA
#define SEQBENCH_ON_CUDA(op, call) call
#else
#define SEQBENCH_ON_CUDA(op, call) (::seqbench::throw_no_cuda_backend(op), 0)
#endif
