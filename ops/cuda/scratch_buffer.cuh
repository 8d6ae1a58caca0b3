// A workspace that is either the caller's buffer or, when the caller passed null, one allocated
// here (accounted as Device::cuda memory) and freed at the end of the scope. The pool frees in
// stream order on the current stream, so when that is the stream using the workspace the block is
// reused only after that work and the host does not wait; a workspace used on another stream waits
// for it first.
#pragma once
#include <cstdint>

#include "ops/cuda/current_stream.cuh"
#include "ops/cuda/device_array.h"

namespace seqbench {

class ScratchFloats {
 public:
  ScratchFloats(float* given, int64_t count, cudaStream_t stream) : data_(given), stream_(stream) {
    if (!data_ && count > 0) {
      owned_ = DeviceArray<float>(count);
      data_ = owned_.data();
    }
  }
  ~ScratchFloats() {
    // Errors surface at the caller's next check.
    if (owned_.data() && stream_ != current_stream()) (void)cudaStreamSynchronize(stream_);
  }
  ScratchFloats(const ScratchFloats&) = delete;
  ScratchFloats& operator=(const ScratchFloats&) = delete;
  float* data() const { return data_; }

 private:
  DeviceArray<float> owned_;
  float* data_;
  cudaStream_t stream_;
};

}  // namespace seqbench
