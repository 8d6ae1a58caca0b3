// Kernel tests run over a grid of cases (shapes x options x flags), each drawing its inputs from a
// generator of its own: case i of the grid gets seed first_seed + i, and a failure reports the case
// and its seed, so the failing case can be rerun alone. SEQBENCH_TEST_SHARD=i/n runs every n-th case
// from case i (case_shard.h).
#pragma once
#include <catch2/catch.hpp>
#include <cstdint>
#include <tuple>
#include <vector>

#include "ops/rng.h"
#include "tests/case_shard.h"

namespace seqbench::testing {
namespace detail {

template <class Visit>
void for_each_combination(const Visit& visit) {
  visit();
}

// visit(values...) for every combination of the axes' values, the last axis varying fastest.
template <class Visit, class First, class... Rest>
void for_each_combination(const Visit& visit, const std::vector<First>& first, const std::vector<Rest>&... rest) {
  for (const First& value : first)
    for_each_combination([&](const auto&... tail) { visit(value, tail...); }, rest...);
}

}  // namespace detail

// check(values..., rng) for every combination of the axes' values, in the order of nested loops over the
// axes (the last innermost); combination i gets Rng(first_seed + i), and describe(values...) (anything
// that streams) with that seed is reported with any failure in it. Only the process's case_shard() runs.
template <class... Axes, class Describe, class Check>
void for_each_seeded_case(const std::tuple<std::vector<Axes>...>& axes, uint64_t first_seed, const Describe& describe,
                          const Check& check) {
  const CaseShard shard = case_shard();
  uint64_t index = 0;
  auto run = [&](const auto&... values) {
    const uint64_t seed = first_seed + index;
    if (!shard.holds(index++)) return;
    INFO(describe(values...) << " seed=" << seed);
    Rng rng(seed);
    check(values..., rng);
  };
  std::apply([&](const auto&... axis) { detail::for_each_combination(run, axis...); }, axes);
}

}  // namespace seqbench::testing
