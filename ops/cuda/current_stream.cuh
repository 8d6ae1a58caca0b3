// The stream every CUDA op enqueues its work on. Op entry points take the CPU kernels' arguments
// (so one kernel table serves both devices) and read the stream from here: the legacy default
// stream unless the calling thread set another (a training step's own stream, a graph capture).
#pragma once
#include <cuda_runtime_api.h>

namespace seqbench {

cudaStream_t current_stream();

// Makes `stream` the calling thread's current stream until the scope ends.
class CurrentStreamScope {
 public:
  explicit CurrentStreamScope(cudaStream_t stream);
  ~CurrentStreamScope();
  CurrentStreamScope(const CurrentStreamScope&) = delete;
  CurrentStreamScope& operator=(const CurrentStreamScope&) = delete;

 private:
  cudaStream_t previous_;
};

}  // namespace seqbench
