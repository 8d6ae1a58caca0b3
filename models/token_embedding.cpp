#include "models/token_embedding.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "ops/embedding.h"

namespace seqbench {

TokenEmbedding::TokenEmbedding(int vocab_size, int d_model, int max_seq_len, const std::string& position, Rng& rng,
                               Device device)
    : vocab_(vocab_size),
      d_model_(d_model),
      max_seq_len_(max_seq_len),
      position_(position),
      device_(device),
      tokens_table_("embedding.tokens", {vocab_size, d_model}, false, device),
      tokens_(device),
      grad_order_(device),
      grad_begin_(device),
      grad_target_(device) {
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

const float* TokenEmbedding::sinusoidal_rows(int64_t offset, int64_t seq_len) {
  const int64_t needed = offset + seq_len, held = sinusoid_.empty() ? 0 : sinusoid_.dim(0);
  if (needed > held) {
    // Doubling keeps decode steps (one position each) from rebuilding the table every step.
    const int64_t positions = std::max(needed, 2 * held);
    Tensor table({positions, d_model_});
    for (int64_t pos = 0; pos < positions; ++pos) {
      float* row = table.data() + pos * d_model_;
      // Vaswani et al. 2017, scaled to the embedding's magnitude so neither term dominates.
      for (int i = 0; i < d_model_; i += 2) {
        const double freq = std::pow(10000.0, -static_cast<double>(i) / d_model_);
        row[i] = 0.02f * static_cast<float>(std::sin(pos * freq));
        if (i + 1 < d_model_) row[i + 1] = 0.02f * static_cast<float>(std::cos(pos * freq));
      }
    }
    sinusoid_ = table.to(device_);
  }
  return sinusoid_.data() + offset * d_model_;
}

void TokenEmbedding::forward(const int32_t* tokens, int64_t batch, int64_t seq_len, Tensor& x, int64_t offset) {
  stage(tokens, batch, seq_len, offset);
  forward_staged(x);
}

void TokenEmbedding::stage(const int32_t* tokens, int64_t batch, int64_t seq_len, int64_t offset) {
  if (position_ == "learned" && offset + seq_len > max_seq_len_)
    throw std::invalid_argument("sequence length " + std::to_string(offset + seq_len) +
                                " exceeds the learned position table (max_seq_len " + std::to_string(max_seq_len_) +
                                "); use position \"sinusoidal\" to extrapolate");
  const int64_t rows = batch * seq_len;
  for (int64_t r = 0; r < rows; ++r)
    if (tokens[r] < 0 || tokens[r] >= vocab_)
      throw std::invalid_argument("token id " + std::to_string(tokens[r]) + " outside vocabulary of size " +
                                  std::to_string(vocab_));
  saved_tokens_.assign(tokens, tokens + rows);
  saved_batch_ = batch;
  saved_offset_ = offset;
  saved_seq_len_ = seq_len;
  if (device_ != Device::cpu) tokens_.upload(tokens, rows);
  if (position_ == "sinusoidal") sinusoidal_rows(offset, seq_len);  // grows the table here, on the host side
}

void TokenEmbedding::forward_staged(Tensor& x) {
  const int64_t batch = saved_batch_, seq_len = saved_seq_len_, offset = saved_offset_, rows = batch * seq_len;
  x.resize({batch, seq_len, d_model_}, device_);
  const int32_t* ids = device_ == Device::cpu ? saved_tokens_.data() : tokens_.data();
  kernels_for<EmbeddingKernels>(device_).gather(tokens_table_.value.data(), ids, x.data(), rows, d_model_);
  if (position_ == "learned")
    kernels_for<EmbeddingKernels>(device_).add_position_rows(positions_table_.value.data() + offset * d_model_,
                                                             x.data(), batch, seq_len, d_model_);
  else if (position_ == "sinusoidal")
    kernels_for<EmbeddingKernels>(device_).add_position_rows(sinusoidal_rows(offset, seq_len), x.data(), batch, seq_len,
                                                             d_model_);
}

void TokenEmbedding::backward(const Tensor& dx) {
  const int64_t rows = static_cast<int64_t>(saved_tokens_.size());
  if (dx.numel() != rows * d_model_)
    throw std::logic_error("token embedding backward() called without a matching forward()");
  const HostRowGroups groups = group_rows_by_id(saved_tokens_.data(), rows, vocab_);
  RowGroups view = groups.view();
  if (device_ != Device::cpu) {
    grad_order_.upload(groups.order);
    grad_begin_.upload(groups.begin);
    grad_target_.upload(groups.target);
    view = {grad_order_.data(), grad_begin_.data(), grad_target_.data(), view.groups};
  }
  kernels_for<EmbeddingKernels>(device_).grad(dx.data(), view, tokens_table_.grad.data(), d_model_);
  if (position_ == "learned")
    kernels_for<EmbeddingKernels>(device_).position_grad(dx.data(),
                                                         positions_table_.grad.data() + saved_offset_ * d_model_,
                                                         rows / saved_seq_len_, saved_seq_len_, d_model_);
}

std::vector<Param*> TokenEmbedding::params() {
  std::vector<Param*> out{&tokens_table_};
  if (position_ == "learned") out.push_back(&positions_table_);
  return out;
}

}  // namespace seqbench
