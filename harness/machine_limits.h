// The ceilings of the machine a profile runs on, measured where it runs: copy bandwidth (bytes read
// and written per second by one large device-to-device copy) and matrix-product throughput (the
// device's matmul: bf16 operands on the GPU, as tensor cores take them, fp32 on the CPU). The
// profiler divides the model's FLOP rate and bandwidth by them, so a profile says how close a model
// runs to its hardware (seqbench_gpu_bench's rows do the same against its own ceiling rows).
#pragma once
#include "ops/tensor.h"

namespace seqbench {

struct MachineLimits {
  double tflops = 0;    // dense matmul, 10^12 FLOP/s
  double gb_per_s = 0;  // copy, 10^9 bytes read + written per second
};

// Measured once per device and process (the best of a few repetitions), then kept: about 10 ms
// on an H200, a fraction of a second on a CPU core.
MachineLimits machine_limits(Device device);

// rate / limit, or 0 when the limit is unknown (not positive).
inline double fraction_of_limit(double rate, double limit) { return limit > 0 ? rate / limit : 0.0; }

}  // namespace seqbench
