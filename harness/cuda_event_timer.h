// The profiler's clock for GPU work: CUDA events recorded on the default stream, which every
// kernel here runs on, so the measured time is the GPU's, not the time the host took to enqueue.
#pragma once

namespace seqbench {

// Makes make_timer(Device::cuda) return a CUDA-event timer. A no-op in builds without CUDA.
void register_cuda_event_timer();

}  // namespace seqbench
