// Which key tiles a query block of causal attention visits for the sink + sliding-window key sets
// of mixers/sliding_window/sink_window_spans.h (query i sees keys j <= i with j < sinks or
// i - window < j; StreamingLLM, Xiao et al. 2023), and which of them need an elementwise mask, so a
// tiled kernel does work only where keys are visible. Used by the Hopper forward
// (softmax_attention_hopper_cuda.cu); checked against a direct membership test in
// test_sink_window_key_tiles.cpp.
#pragma once

#ifdef __CUDACC__
#define SEQBENCH_KEY_TILES_HD __host__ __device__ __forceinline__
#else
#define SEQBENCH_KEY_TILES_HD inline
#endif

namespace seqbench {

// The key tiles of one query block, in the order they are visited: the tiles holding sinks that
// precede the window's first tile, then the window's tiles up to the diagonal, all ascending.
struct KeyTiles {
  int sink_tiles = 0;    // tiles 0 .. sink_tiles - 1
  int window_first = 0;  // the window's tiles: window_first .. the query block's own tile
  int count = 0;         // tiles visited: sink_tiles + window tiles (>= 1)

  // The tile visited at step n, 0 <= n < count.
  SEQBENCH_KEY_TILES_HD int tile(int n) const { return n < sink_tiles ? n : window_first + (n - sink_tiles); }
};

// Query block q_block (rows q_block * tile_size .. + tile_size - 1) against keys in tiles of the
// same size: every tile holding a key some row of the block sees. window >= 1, sinks >= 0 (callers
// clamp both to the sequence length, so the arithmetic stays in int).
SEQBENCH_KEY_TILES_HD KeyTiles sink_window_key_tiles(int q_block, int tile_size, int sinks, int window) {
  const int q0 = q_block * tile_size;
  // The block's first row reaches furthest back; the rows after it reach up to the diagonal.
  const int first_key = q0 - window + 1 > 0 ? q0 - window + 1 : 0;
  const int window_first = first_key / tile_size;
  const int sink_tiles_all = (sinks + tile_size - 1) / tile_size;
  // Sink tiles from window_first on are the window's already.
  const int sink_tiles = sink_tiles_all < window_first ? sink_tiles_all : window_first;
  return {sink_tiles, window_first, sink_tiles + q_block - window_first + 1};
}

// Whether every row of query block q_block sees every key of key tile t (no mask needed). The
// diagonal tile never qualifies (keys after the row, and past the sequence's end); earlier tiles do
// when they hold only sinks or when even the block's last row still reaches their first key.
SEQBENCH_KEY_TILES_HD bool sink_window_tile_unmasked(int t, int q_block, int tile_size, int sinks, int window) {
  if (t >= q_block) return false;
  const int key0 = t * tile_size, last_row = q_block * tile_size + tile_size - 1;
  return key0 + tile_size <= sinks || key0 > last_row - window;
}

// Whether query `row` sees key `col` (the elementwise mask of partially visible tiles).
SEQBENCH_KEY_TILES_HD bool sink_window_sees(int row, int col, int sinks, int window) {
  return col <= row && (col < sinks || col > row - window);
}

}  // namespace seqbench
