// The GPU bench's lengths: 1k, 4k and 16k by default; --lengths takes only divisors of the row's
// token count, and a bad list leaves the lengths as they were.
#include <catch2/catch.hpp>
#include <cstdint>
#include <stdexcept>
#include <vector>

#include "bench_gpu/bench_lengths.h"

using namespace seqbench;

TEST_CASE("bench lengths default to 1k, 4k and 16k and take any divisors of the row's tokens", "[bench]") {
  const std::vector<int64_t> defaults = bench_lengths();
  CHECK(defaults == std::vector<int64_t>{1024, 4096, 16384});
  set_bench_lengths({4096});
  CHECK(bench_lengths() == std::vector<int64_t>{4096});
  set_bench_lengths({65536, 1});
  CHECK(bench_lengths() == std::vector<int64_t>{65536, 1});
  set_bench_lengths(defaults);
}

TEST_CASE("bench lengths that do not divide the row's tokens are errors that keep the lengths", "[bench]") {
  const std::vector<int64_t> before = bench_lengths();
  for (const std::vector<int64_t>& bad : {std::vector<int64_t>{}, {3000}, {4096, 0}, {-1024}, {131072}}) {
    CHECK_THROWS_AS(set_bench_lengths(bad), std::invalid_argument);
    CHECK(bench_lengths() == before);
  }
}
