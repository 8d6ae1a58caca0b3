// The key tiles the Hopper forward visits for sink + window attention (sink_window_key_tiles.h)
// against a direct membership test over every (query, key) pair: each visited tile holds a key some
// query of the block sees, every visible pair lies in a visited tile, tiles come ascending without
// repeats, and a tile left unmasked is wholly visible to the block's queries.
#include <algorithm>
#include <catch2/catch.hpp>
#include <set>

#include "mixers/sliding_window/sink_window_spans.h"
#include "mixers/softmax/sink_window_key_tiles.h"

using namespace seqbench;

namespace {

// The spans' own definition (sink_window_spans.h), written out as membership.
bool sees(int i, int j, int sinks, int window) { return j <= i && (j < sinks || j > i - window); }

void check_tiles(int L, int tile, int sinks, int window) {
  const int q_blocks = (L + tile - 1) / tile;
  for (int qb = 0; qb < q_blocks; ++qb) {
    INFO("L=" << L << " tile=" << tile << " sinks=" << sinks << " window=" << window << " block=" << qb);
    const KeyTiles tiles = sink_window_key_tiles(qb, tile, sinks, window);
    REQUIRE(tiles.count >= 1);
    std::set<int> visited;
    int previous = -1;
    for (int n = 0; n < tiles.count; ++n) {
      const int t = tiles.tile(n);
      CHECK(t > previous);
      CHECK(t <= qb);
      previous = t;
      visited.insert(t);
    }
    const int row_end = std::min(L, (qb + 1) * tile);
    for (int t = 0; t * tile < L; ++t) {
      bool any = false, all = true, mask_agrees = true;
      for (int i = qb * tile; i < row_end; ++i)
        for (int j = t * tile; j < std::min(L, (t + 1) * tile); ++j) {
          const bool v = sees(i, j, sinks, window);
          mask_agrees = mask_agrees && sink_window_sees(i, j, sinks, window) == v;
          any = any || v;
          all = all && v;
        }
      INFO("tile " << t);
      CHECK(mask_agrees);
      CHECK(visited.count(t) == (any ? 1u : 0u));
      if (sink_window_tile_unmasked(t, qb, tile, sinks, window)) CHECK(all);
    }
  }
}

}  // namespace

TEST_CASE("the sink + window key tiles are exactly the tiles holding visible keys", "[softmax][sliding_window]") {
  for (int tile : {4, 128})
    for (int L : {1, 5, 63, 65, 130, 257, 1000})
      for (int window : {1, 2, 3, 4, 5, 17, 64, 128, 129, 300, 1000})
        for (int sinks : {0, 1, 3, 4, 5, 130, 1000}) check_tiles(L, tile, sinks, window);
}

TEST_CASE("a window covering the sequence visits the causal tiles, all but the diagonal unmasked",
          "[softmax][sliding_window]") {
  for (int qb : {0, 1, 7}) {
    const int L = 8 * 128;
    const KeyTiles tiles = sink_window_key_tiles(qb, 128, 0, L);
    CHECK(tiles.count == qb + 1);
    for (int n = 0; n < tiles.count; ++n) {
      CHECK(tiles.tile(n) == n);
      CHECK(sink_window_tile_unmasked(n, qb, 128, 0, L) == (n < qb));
    }
  }
}
