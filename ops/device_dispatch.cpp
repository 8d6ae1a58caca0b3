#include "ops/device_dispatch.h"

#include <stdexcept>
#include <string>

namespace seqbench {

void throw_no_cuda_backend(const char* op) {
  throw std::runtime_error(std::string(op) + ": this build has no CUDA backend (configure with -DSEQBENCH_CUDA=ON)");
}

}  // namespace seqbench
