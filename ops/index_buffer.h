// int32 indices (token ids, targets, row orders) on a device: what kernels taking `const int32_t*` read.
#pragma once
#include <cstdint>

#include "ops/device_buffer.h"

namespace seqbench {

using IndexBuffer = DeviceBuffer<int32_t>;

}  // namespace seqbench
