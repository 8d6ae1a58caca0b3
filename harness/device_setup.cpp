#include "harness/device_setup.h"

#include <stdexcept>
#include <string>

#include "harness/cuda_event_timer.h"
#include "ops/cuda/cuda_device.h"

namespace seqbench {
namespace {

std::string version_string(int version) {
  // CUDA encodes versions as 1000 * major + 10 * minor.
  return std::to_string(version / 1000) + "." + std::to_string((version % 1000) / 10);
}

}  // namespace

void prepare_device(Device device) {
  if (device == Device::cpu) return;
  if (!cuda_device_present())
    throw std::runtime_error(
        "device 'cuda' was asked for, but no usable CUDA device is present (a build without CUDA, no NVIDIA "
        "driver, or no GPU visible); run with --device cpu");
  init_cuda_device();
  register_cuda_event_timer();
}

void describe_device(Device device, RunInfo& info) {
  if (device == Device::cpu) return;
  const CudaDeviceInfo gpu = cuda_device_info();
  info.device = gpu.name;
  info.driver = version_string(gpu.driver_version);
  info.cuda_version = version_string(gpu.runtime_version);
  info.clocks = "sm " + std::to_string(gpu.sm_clock_khz / 1000) + " MHz, memory " +
                std::to_string(gpu.memory_clock_khz / 1000) + " MHz";
}

}  // namespace seqbench
