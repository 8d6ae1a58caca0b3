// Getting a device ready for a run and describing it for the results store. The CUDA device is
// selected, its accounted allocator registered and the profiler's timer switched to CUDA events;
// asking for it where there is none is a clear error, not a crash at the first allocation.
#pragma once
#include "harness/results_store.h"
#include "ops/tensor.h"

namespace seqbench {

// Idempotent. Throws std::runtime_error naming the reason when `device` cannot be used (a build
// without CUDA, no driver, no GPU).
void prepare_device(Device device);

// The GPU's name, driver, CUDA runtime and clocks into info (device, driver, cuda_version, clocks);
// leaves info alone for the CPU.
void describe_device(Device device, RunInfo& info);

}  // namespace seqbench
