// The shape legend every kernel header speaks, as llm.c's B, T, C serves all of its layers. Tensors
// are row-major and their layouts are written in these letters, e.g. q [B, L, H, Dk]:
//
//   B   batch                        Dk  key dim (rows of a linear-attention state S, per head)
//   L   sequence length (tokens)     Dv  value dim (columns of S, per head)
//   H   heads                        D   head dim where q, k, v share it (softmax attention)
//   d   model width (d_model)        F   feature dim of a linear-attention feature map
//   V   vocabulary size              N   SSM state dim (Mamba-2's d_state)
//   C   chunk size (chunked forms)   P   SSM head dim (Mamba-2's headdim)
//   W   window (sliding window)      K   short-conv width
//
// Every per-head kernel shape starts with the same three sizes (flash-attention's Qkv_params
// extended per kernel): HeadsShape.
#pragma once
#include <cstdint>

namespace seqbench {

struct HeadsShape {
  int64_t batch = 0;    // B
  int64_t seq_len = 0;  // L
  int64_t heads = 0;    // H

  int64_t tokens() const { return batch * seq_len; }
};

}  // namespace seqbench
