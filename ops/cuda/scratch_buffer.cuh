// A workspace that is either the caller's buffer or, when the caller passed null, one allocated
// here (accounted as Device::cuda memory) and freed at the end of the scope, once the stream that
// uses it has finished.
#pragma once
#include <cstdint>

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
    if (owned_.data()) (void)cudaStreamSynchronize(stream_);  // errors surface at the caller's next check
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
