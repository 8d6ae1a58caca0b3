// The training lengths the GPU bench's rows run at. Every row keeps B * L = kBenchTokens tokens, so a
// length must divide that count; seqbench_gpu_bench --lengths chooses a subset (a side-by-side run
// split over several sessions, say).
#pragma once
#include <cstdint>
#include <vector>

namespace seqbench {

// ANCHORS.md's training shapes: B*L = 65536 tokens at every length, 16 heads of 128.
constexpr int64_t kBenchTokens = 65536, kBenchHeads = 16, kBenchHeadDim = 128;

// 1k, 4k and 16k unless set_bench_lengths chose others.
const std::vector<int64_t>& bench_lengths();
// Throws std::invalid_argument, naming the length, for an empty list or a length that is not a positive
// divisor of kBenchTokens.
void set_bench_lengths(std::vector<int64_t> lengths);

}  // namespace seqbench
