#include "models/token_embedding.h"

#include <cmath>
#include <stdexcept>

namespace seqbench {

TokenEmbedding::TokenEmbedding(int vocab_size, int d_model, int max_seq_len, const std::string& position,
                               Rng& rng, Device device)
    : vocab_(vocab_size), d_model_(d_model), max_seq_len_(max_seq_len), position_(position),
      tokens_table_("embedding.tokens", {vocab_size, d_model}, false, device) {
  if (position != "learned" && position != "sinusoidal" && position != "none")
    throw std::invalid_argument("unknown position encoding '" + position + "' (expected learned, sinusoidal or none)");
  // GPT-2 initialisation: N(0, 0.02^2) for both tables.
  Tensor table({vocab_size, d_model});
  for (int64_t i = 0; i < table.numel(); ++i) table[i] = static_cast<float>(rng.normal()) * 0.02f;
  tokens_table_.value = table.to(device);
  if (position == "learned") {
    positions_table_ = Param("embedding.positions", {max_seq_len, d_model}, false, device);
    Tensor pos({max_seq_len, d_model});
    for (int64_t i = 0; i < pos.numel(); ++i) pos[i] = static_cast<float>(rng.normal()) * 0.02f;
    positions_table_.value = pos.to(device);
  }
}

void TokenEmbedding::add_position(float* row, int64_t pos) const {
  if (position_ == "learned") {
    const float* p = positions_table_.value.data() + pos * d_model_;
    for (int i = 0; i < d_model_; ++i) row[i] += p[i];
  } else if (position_ == "sinusoidal") {
    // Vaswani et al. 2017, scaled to the embedding's magnitude so neither term dominates.
    for (int i = 0; i < d_model_; i += 2) {
      const double freq = std::pow(10000.0, -static_cast<double>(i) / d_model_);
      row[i] += 0.02f * static_cast<float>(std::sin(pos * freq));
      if (i + 1 < d_model_) row[i + 1] += 0.02f * static_cast<float>(std::cos(pos * freq));
    }
  }
}

void TokenEmbedding::forward(const int32_t* tokens, int64_t batch, int64_t seq_len, Tensor& x, int64_t offset) {
  if (position_ == "learned" && offset + seq_len > max_seq_len_)
    throw std::invalid_argument("sequence length " + std::to_string(offset + seq_len) +
                                " exceeds the learned position table (max_seq_len " +
                                std::to_string(max_seq_len_) + "); use position \"sinusoidal\" to extrapolate");
  x.resize({batch, seq_len, d_model_});
  saved_tokens_.assign(tokens, tokens + batch * seq_len);
  saved_offset_ = offset;
  const float* table = tokens_table_.value.data();
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t t = 0; t < seq_len; ++t) {
      const int32_t tok = tokens[b * seq_len + t];
      if (tok < 0 || tok >= vocab_)
        throw std::invalid_argument("token id " + std::to_string(tok) + " outside vocabulary of size " +
                                    std::to_string(vocab_));
      float* row = x.data() + (b * seq_len + t) * d_model_;
      const float* e = table + static_cast<int64_t>(tok) * d_model_;
      for (int i = 0; i < d_model_; ++i) row[i] = e[i];
      add_position(row, offset + t);
    }
}

void TokenEmbedding::backward(const Tensor& dx) {
  const int64_t seq_len = dx.dim(1);
  const int64_t rows = static_cast<int64_t>(saved_tokens_.size());
  float* dtable = tokens_table_.grad.data();
  float* dpos = position_ == "learned" ? positions_table_.grad.data() : nullptr;
  for (int64_t r = 0; r < rows; ++r) {
    const float* g = dx.data() + r * d_model_;
    float* dt = dtable + static_cast<int64_t>(saved_tokens_[r]) * d_model_;
    for (int i = 0; i < d_model_; ++i) dt[i] += g[i];
    if (dpos) {
      float* dp = dpos + (saved_offset_ + r % seq_len) * d_model_;
      for (int i = 0; i < d_model_; ++i) dp[i] += g[i];
    }
  }
}

std::vector<Param*> TokenEmbedding::params() {
  std::vector<Param*> out{&tokens_table_};
  if (position_ == "learned") out.push_back(&positions_table_);
  return out;
}

}  // namespace seqbench
