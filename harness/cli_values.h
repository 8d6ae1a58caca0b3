// Strict readers for command-line values, shared by every seqbench command and the benchmark
// binary. Each throws std::invalid_argument naming the value and what is accepted: no silent
// clamping, no wrap-around (--seed -1 is not 2^64 - 1), no trailing junk (--shard 1/2abc), and
// bounds written as people write them (not as 300 digits of DBL_MAX). as_validator turns one
// into a CLI11 check, so the message appears as "seqbench: error: --flag: ..." at parse time.
#pragma once
#include <CLI/CLI.hpp>
#include <cstdint>
#include <functional>
#include <string>

namespace seqbench {

constexpr int kMaxThreads = 1024;

// 0 (all cores) to kMaxThreads.
int parse_thread_count(const std::string& text);

// 0 to 2^64 - 1, decimal digits only.
uint64_t parse_seed(const std::string& text);

struct Shard {
  int index = 0;  // run cells i with i % count == index
  int count = 1;
};
// "i/N" with 0 <= i < N: exactly two non-negative integers and one slash.
Shard parse_shard(const std::string& text);

// A relative amount: "5%" or a fraction below 1 ("0.05"). A bare number >= 1 is refused as
// ambiguous (5 could mean 5% or 500%); "500%" says 5x explicitly.
double parse_relative_amount(const std::string& text);

// A decimal integer in [lo, hi].
int64_t parse_integer_in(const std::string& text, int64_t lo, int64_t hi);
// A finite number in [lo, hi].
double parse_number_in(const std::string& text, double lo, double hi);

// A CLI11 validator that runs parse and reports its message; `what` is shown in --help.
CLI::Validator as_validator(const std::function<void(const std::string&)>& parse, const std::string& what);

}  // namespace seqbench
