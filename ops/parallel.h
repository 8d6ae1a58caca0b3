// CPU parallelism: OpenMP over independent output rows. Every kernel splits work so that each
// output element is computed by one thread, so results do not depend on the thread count.
#pragma once
#include <cstdint>

namespace seqbench {

void set_num_threads(int threads);  // <= 0 means all hardware threads
int num_threads();

}  // namespace seqbench
