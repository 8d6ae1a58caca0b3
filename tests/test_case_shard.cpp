#include <catch2/catch.hpp>
#include <cstdlib>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "tests/case_shard.h"
#include "tests/seeded_cases.h"

using namespace seqbench::testing;

namespace {

// Sets SEQBENCH_TEST_SHARD for one scope and restores what it was after it (this program may itself run
// as a slice).
class ShardVariable {
 public:
  explicit ShardVariable(const char* value) {
    const char* old = std::getenv("SEQBENCH_TEST_SHARD");
    if (old) old_ = old;
    setenv("SEQBENCH_TEST_SHARD", value, 1);
  }
  ~ShardVariable() {
    if (old_) {
      setenv("SEQBENCH_TEST_SHARD", old_->c_str(), 1);
    } else {
      unsetenv("SEQBENCH_TEST_SHARD");
    }
  }
  ShardVariable(const ShardVariable&) = delete;
  ShardVariable& operator=(const ShardVariable&) = delete;

 private:
  std::optional<std::string> old_;
};

// (value of axis 1, value of axis 2, first draw of the case's generator) for every case the shard runs.
std::set<std::tuple<int, int, uint64_t>> visited_cases() {
  const std::tuple<std::vector<int>, std::vector<int>> axes{{1, 2, 3}, {10, 20, 30, 40, 50}};
  std::set<std::tuple<int, int, uint64_t>> out;
  for_each_seeded_case(
      axes, 7, [](int a, int b) { return a * 100 + b; },
      [&](int a, int b, seqbench::Rng& rng) { out.emplace(a, b, rng.next_u64()); });
  return out;
}

}  // namespace

TEST_CASE("test shards parse i/n and refuse anything else by name", "[tests]") {
  CHECK(parse_case_shard("0/1").count == 1);
  const CaseShard s = parse_case_shard("2/8");
  CHECK(s.index == 2);
  CHECK(s.count == 8);
  CHECK(s.holds(10));
  CHECK_FALSE(s.holds(11));
  for (const char* bad : {"", "3", "8/8", "9/8", "1/0", "/4", "1/", "-1/4", "a/4", "1/4x", "1/2/3"}) {
    INFO("'" << bad << "'");
    CHECK_THROWS_WITH(parse_case_shard(bad), Catch::Contains("SEQBENCH_TEST_SHARD") && Catch::Contains("i/n"));
  }
}

TEST_CASE("the shards of a case grid run every case once, each with the seed it has in the whole grid", "[tests]") {
  const auto all = [] {
    ShardVariable whole("0/1");
    return visited_cases();
  }();
  REQUIRE(all.size() == 15);
  std::set<std::tuple<int, int, uint64_t>> joined;
  size_t total = 0;
  for (const char* shard : {"0/4", "1/4", "2/4", "3/4"}) {
    ShardVariable variable(shard);
    const auto part = visited_cases();
    CHECK(part.size() < all.size());
    total += part.size();
    joined.insert(part.begin(), part.end());
  }
  CHECK(total == all.size());  // no case twice
  CHECK(joined == all);        // and each with its inputs of the full run
}

TEST_CASE("a plain list of cases is sliced the same way", "[tests]") {
  const std::vector<std::string> cases{"a", "b", "c", "d", "e"};
  {
    ShardVariable whole("");  // empty: every case, as when unset
    CHECK(cases_of_this_shard(cases) == cases);
  }
  ShardVariable variable("1/2");
  CHECK(cases_of_this_shard(cases) == std::vector<std::string>{"b", "d"});
  ShardVariable malformed("2/2");
  CHECK_THROWS_AS(cases_of_this_shard(cases), std::invalid_argument);
}
