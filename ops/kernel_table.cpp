#include "ops/kernel_table.h"

#include <stdexcept>
#include <string>

namespace seqbench {

void throw_no_cuda_backend(const char* family) {
  throw std::runtime_error(std::string(family) +
                           ": this build has no CUDA backend (configure with -DSEQBENCH_CUDA=ON)");
}

}  // namespace seqbench
