// Block-sparse key selection: keys in blocks of block_size; query t attends to its own block (up to
// t) and the top_k complete earlier blocks ranked by q_t . mean_pool(block keys) (MoBA's parameter-free
// gate, Lu et al. 2025, arXiv:2502.13189; NSA's block selection, Yuan et al. 2025). The CPU routines
// are checked against a brute-force ranking in test_sparse_attention.cpp (training and decode share one
// selection routine); the CUDA ones against the CPU's in test_gpu_sparse.cpp.
#pragma once
#include <string>

#include "mixers/softmax/masked_attention.h"
#include "ops/kernel_table.h"

namespace seqbench {

struct BlockTopk {
  int64_t block_size = 16, top_k = 2;

  // Spans per query for a sequence whose queries see at most `complete_blocks` earlier blocks:
  // the selected blocks, then the query's own block.
  int64_t width(int64_t complete_blocks) const { return (top_k < complete_blocks ? top_k : complete_blocks) + 1; }
};

// cuda(): the same on the GPU (fp32, device pointers, the spans written included), so training and decode
// keep the selection on the device. Means are summed in token order and scaled as the CPU does
// (bitwise equal); scores are dot products in another order than the CPU's, so a ranking can differ
// from the CPU's only where two block scores are within rounding of each other. Sequence spans: one
// warp per query; decode spans: one warp per (batch, head). Limits (cuda().unsupported): D <= 256,
// top_k <= 1024.

struct BlockTopkKernels : KernelFamily<BlockTopkKernels> {
  static constexpr const char* kFamily = "block_topk";

  // means[b, blk, h, :] = mean of k[b, blk*bs : (blk+1)*bs, h, :] for blk in [first_block, last_block).
  // k: [batch, keys.seq_len, heads, head_dim]; means: [batch, mean_rows, heads, head_dim].
  void (*key_means)(const float* k, const AttentionShape& keys, int64_t block_size, int64_t first_block,
                    int64_t last_block, float* means, int64_t mean_rows);
  // Training form: q [batch, seq_len, heads, head_dim], means of the seq_len / block_size complete
  // blocks ([batch, seq_len / block_size, heads, head_dim]); spans [batch * heads, seq_len,
  // width(seq_len / block_size)] in token indices. Ties go to the earlier block; selected blocks
  // are listed in token order.
  void (*sequence_spans)(const float* q, const float* means, const AttentionShape& shape, const BlockTopk& selection,
                         KeySpan* spans);
  // Decode form for the query at token `position` of every (batch, head): q_t [batch, heads,
  // head_dim], means [batch, mean_rows, heads, head_dim] holding (at least) every block before the
  // query's own; spans [batch * heads, width(position / block_size)] in token indices.
  void (*decode_spans)(const float* q_t, const float* means, int64_t mean_rows, int64_t position,
                       const AttentionShape& per_token, const BlockTopk& selection, KeySpan* spans);
  ShapeCheck<AttentionShape, BlockTopk> unsupported;
};

}  // namespace seqbench
