// The persistent Hopper forward's tile order (hopper_attention_tile_schedule.h): every (batch * head,
// query block) tile is visited by exactly one CTA exactly once, each CTA's tiles come in increasing
// order (its rounds), head groups alternate the direction of their query blocks and the last one
// descends, groups are evened out, and the CTAs' causal work stays within 3% of the mean at the
// bench's shapes.
#include <algorithm>
#include <catch2/catch.hpp>
#include <utility>
#include <vector>

#include "mixers/softmax/hopper_attention_tile_schedule.h"

using namespace seqbench;

namespace {

void check_schedule(int q_blocks, int heads_total, int group_heads, int ctas) {
  INFO("q_blocks=" << q_blocks << " heads_total=" << heads_total << " group_heads=" << group_heads << " ctas=" << ctas);
  const HopperTileSchedule schedule{q_blocks, heads_total, group_heads, ctas};
  std::vector<int> visits(static_cast<size_t>(q_blocks) * heads_total, 0);
  for (int cta = 0; cta < ctas; ++cta) {
    int previous = -1;
    for (int round = 0;; ++round) {
      const int t = schedule.tile_of(cta, round);
      if (t < 0) {
        CHECK(schedule.tile_of(cta, round + 1) < 0);  // no tiles after the first miss
        break;
      }
      CHECK(t > previous);
      previous = t;
      int bh = -1, q_block = -1;
      schedule.locate(t, bh, q_block);
      REQUIRE(bh >= 0);
      REQUIRE(bh < heads_total);
      REQUIRE(q_block >= 0);
      REQUIRE(q_block < q_blocks);
      ++visits[static_cast<size_t>(bh) * q_blocks + q_block];
    }
  }
  CHECK(std::all_of(visits.begin(), visits.end(), [](int n) { return n == 1; }));
}

}  // namespace

TEST_CASE("the persistent attention schedule visits every tile exactly once", "[softmax][hopper]") {
  for (int q_blocks : {1, 2, 7, 32})
    for (int heads_total : {1, 3, 16, 48})
      for (int group_heads : {1, 5, 16, 64})
        for (int ctas : {1, 3, 8, 132}) check_schedule(q_blocks, heads_total, std::min(group_heads, heads_total), ctas);
}

TEST_CASE("the persistent attention schedule alternates direction over head groups and ends descending",
          "[softmax][hopper]") {
  const HopperTileSchedule schedule{9, 10, 4, 5};  // groups of 4, 4 and 2 heads: up, down, up... last down
  for (int t = 0; t < schedule.tiles(); ++t) {
    int bh = 0, q_block = 0;
    schedule.locate(t, bh, q_block);
    const int group = bh / 4, heads = group < 2 ? 4 : 2, within = t - group * 4 * 9;
    INFO("tile " << t);
    CHECK(bh == group * 4 + within % heads);
    CHECK(q_block == (group == 1 ? within / heads : 8 - within / heads));
  }
}

TEST_CASE("the persistent attention schedule evens out its head groups", "[softmax][hopper]") {
  CHECK(hopper_tile_group_heads(4096, 128, 256) == 16);             // 2 MiB of K/V per head in 32 MiB
  CHECK(hopper_tile_group_heads(1024, 128, 1024, 25 << 20) == 49);  // 50 fit: 21 groups, 20 of 49 and one of 44
  CHECK(hopper_tile_group_heads(16384, 128, 3) == 3);
  CHECK(hopper_tile_group_heads(1 << 20, 128, 7) == 1);  // no head fits: one at a time
  CHECK(hopper_tile_group_heads(1, 64, 5) == 5);
}

TEST_CASE("the persistent attention schedule gives every CTA about the same causal work", "[softmax][hopper]") {
  // The bench's shapes (B * L = 65536, 16 heads) and a few others on 132 SMs; a tile's work is its
  // key tiles plus one for its set-up and output.
  const std::vector<std::pair<int, int>> shapes{{1024, 1024}, {4096, 256}, {16384, 64}, {8192, 24}, {5000, 208}};
  for (const auto& [L, heads_total] : shapes) {
    const int q_blocks = (L + 127) / 128;
    const HopperTileSchedule schedule{q_blocks, heads_total, hopper_tile_group_heads(L, 128, heads_total), 132};
    std::vector<double> work(132, 0.0);
    double total = 0.0;
    for (int cta = 0; cta < 132; ++cta)
      for (int round = 0, t; (t = schedule.tile_of(cta, round)) >= 0; ++round) {
        int bh = 0, q_block = 0;
        schedule.locate(t, bh, q_block);
        work[cta] += q_block + 2;
        total += q_block + 2;
      }
    const double mean = total / 132, most = *std::max_element(work.begin(), work.end());
    INFO("L=" << L << " heads " << heads_total << " group_heads " << schedule.group_heads << ": mean " << mean
              << ", most " << most);
    CHECK(most <= 1.03 * mean);
  }
}
