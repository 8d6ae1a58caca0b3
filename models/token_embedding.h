// Token embedding plus absolute position information: "learned" (a trained table, as Zoology's
// GPT-2 style embeddings; lengths beyond max_seq_len are an error), "sinusoidal" (fixed, any
// length: used for length extrapolation) or "none".
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "ops/index_buffer.h"
#include "ops/rng.h"
#include "models/param.h"

namespace seqbench {

class TokenEmbedding {
 public:
  TokenEmbedding() = default;
  TokenEmbedding(int vocab_size, int d_model, int max_seq_len, const std::string& position, Rng& rng,
                 Device device = Device::cpu);

  // tokens [B, L] -> x [B, L, d]; `offset` is the position of the first token (decode steps).
  void forward(const int32_t* tokens, int64_t batch, int64_t seq_len, Tensor& x, int64_t offset = 0);
  // forward() in two halves: stage() checks the tokens, keeps them for backward and puts them on the
  // device (host work); forward_staged() is the device work alone, which a CUDA graph can record.
  void stage(const int32_t* tokens, int64_t batch, int64_t seq_len, int64_t offset = 0);
  void forward_staged(Tensor& x);
  void backward(const Tensor& dx);  // accumulates into the tables, using the last forward's tokens
  std::vector<Param*> params();

 private:
  // Row `offset` of the sinusoidal table on the model's device, with at least seq_len rows from
  // there; the table (a function of the position alone) is kept and grown on demand.
  const float* sinusoidal_rows(int64_t offset, int64_t seq_len);
  int vocab_ = 0, d_model_ = 0, max_seq_len_ = 0;
  std::string position_;
  Device device_ = Device::cpu;
  Param tokens_table_, positions_table_;
  std::vector<int32_t> saved_tokens_;  // host copy: backward groups rows by token on the host
  int64_t saved_batch_ = 0, saved_offset_ = 0, saved_seq_len_ = 0;
  IndexBuffer tokens_, grad_order_, grad_begin_, grad_target_;
  Tensor sinusoid_;  // [positions, d_model]
};

}  // namespace seqbench
