#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <vector>

#include "datasets/mqar_generator.h"
#include "models/layer_norm_layer.h"
#include "models/linear_layer.h"
#include "models/mlp_block.h"
#include "models/sequence_model.h"
#include "models/token_embedding.h"
#include "ops/activations.h"
#include "ops/adamw.h"
#include "ops/cross_entropy.h"
#include "ops/row_ops.h"
#include "ops/vector_ops.h"
#include "tests/finite_difference.h"
#include "tests/random_values.h"

using namespace seqbench;
using seqbench::testing::check_gradient;
using seqbench::testing::normal_values;
using seqbench::testing::random_tensor;
using seqbench::testing::random_tokens;
using seqbench::testing::weighted_sum;

namespace {

// Checks dx and every parameter gradient of a layer with forward(x, y) / backward(dy, dx).
template <typename Layer>
void check_layer(Layer& layer, const Shape& in_shape, uint64_t seed) {
  INFO("seed " << seed << " input " << shape_string(in_shape));
  Rng rng(seed);
  Tensor x = random_tensor(in_shape, rng);
  Tensor y, dx;
  layer.forward(x, y);
  const Tensor r = random_tensor(y.shape(), rng);
  for (Param* p : layer.params()) p->grad.zero();
  layer.backward(r, dx);
  Tensor scratch;
  auto loss = [&] {
    layer.forward(x, scratch);
    return weighted_sum(scratch, r);
  };
  check_gradient("x", x, dx, loss, rng);
  for (Param* p : layer.params()) {
    const Tensor analytic = p->grad;
    check_gradient(p->name, p->value, analytic, loss, rng);
  }
}

}  // namespace

TEST_CASE("linear layer gradients match finite differences at odd sizes") {
  Rng init(1);
  LinearLayer with_bias("lin", 7, 5, true, init);
  check_layer(with_bias, {3, 2, 7}, 11);
  LinearLayer without_bias("lin", 1, 13, false, init);
  check_layer(without_bias, {1, 1, 1}, 12);
}

TEST_CASE("layer norm gradients match finite differences") {
  LayerNormLayer norm("ln", 9);
  Rng rng(5);
  for (Param* p : norm.params())
    for (int64_t i = 0; i < p->value.numel(); ++i) p->value[i] += static_cast<float>(rng.normal() * 0.3);
  check_layer(norm, {2, 3, 9}, 13);
}

TEST_CASE("MLP block gradients (through GELU) match finite differences") {
  Rng init(2);
  MlpBlock mlp("mlp", 6, 3, init);
  check_layer(mlp, {2, 5, 6}, 14);
}

TEST_CASE("cross-entropy gradient matches finite differences and the loss is the mean NLL") {
  Rng rng(21);
  const int64_t rows = 5, vocab = 11;
  Tensor logits = random_tensor({rows, vocab}, rng, 2.0);
  std::vector<int32_t> targets{0, 10, 3, 3, 7};
  Tensor dlogits({rows, vocab});
  double loss = 0;
  CrossEntropyKernels::cpu().loss(logits.data(), targets.data(), dlogits.data(), rows, vocab, &loss);
  double expected = 0;
  for (int64_t r = 0; r < rows; ++r) {
    double z = 0;
    for (int64_t j = 0; j < vocab; ++j) z += std::exp(static_cast<double>(logits[r * vocab + j]));
    expected += std::log(z) - logits[r * vocab + targets[r]];
  }
  REQUIRE(loss == Approx(expected / rows).epsilon(1e-6));
  check_gradient(
      "logits", logits, dlogits,
      [&] {
        double value = 0;
        CrossEntropyKernels::cpu().loss(logits.data(), targets.data(), nullptr, rows, vocab, &value);
        return value;
      },
      rng);
}

TEST_CASE("AdamW matches a scalar transcription of the PyTorch update") {
  float p = 0.5f, m = 0.0f, v = 0.0f;
  double pd = 0.5, md = 0, vd = 0;
  AdamWHyper h;
  h.lr = 0.01f;
  h.weight_decay = 0.1f;
  for (int step = 1; step <= 5; ++step) {
    const float g = 0.3f * step - 0.7f;
    h.step = step;
    AdamWKernels::cpu().update(&p, &g, &m, &v, 1, h);
    // torch.optim.AdamW: decay first (p *= 1 - lr*wd), then the Adam step.
    md = 0.9 * md + 0.1 * g;
    vd = 0.999 * vd + 0.001 * g * g;
    const double m_hat = md / (1 - std::pow(0.9, step)), v_hat = vd / (1 - std::pow(0.999, step));
    pd = pd * (1 - 0.01 * 0.1) - 0.01 * m_hat / (std::sqrt(v_hat) + 1e-8);
    REQUIRE(p == Approx(pd).epsilon(1e-5));
  }
}

TEST_CASE("the fused AdamW step is the clip-then-update sequence per tensor, and zeroes the gradients") {
  Rng rng(44);
  const std::vector<int64_t> sizes{1, 1001, kAdamWChunkElements + 7};
  for (double max_norm : {0.0, 0.5, 1e9}) {
    INFO("max_norm " << max_norm);
    std::vector<std::vector<float>> param, grad, m, v;
    for (int64_t n : sizes) {
      param.push_back(normal_values(n, rng));
      grad.push_back(normal_values(n, rng));
      m.push_back(std::vector<float>(n, 0.01f));
      v.push_back(std::vector<float>(n, 0.02f));
    }
    auto want_param = param, want_grad = grad, want_m = m, want_v = v;
    AdamWHyper h;
    h.lr = 0.01f;
    h.step = 2;
    // The sequence the fused step replaces: global norm, clip, then each tensor's own decay.
    double sum = 0;
    for (auto& g : want_grad) sum += RowOpKernels::cpu().sum_of_squares(g.data(), static_cast<int64_t>(g.size()));
    const double norm = std::sqrt(sum);
    if (max_norm > 0 && norm > max_norm)
      for (auto& g : want_grad)
        scale_cpu(static_cast<float>(max_norm / norm), g.data(), static_cast<int64_t>(g.size()));
    std::vector<AdamWSlot> slots;
    for (size_t i = 0; i < sizes.size(); ++i) {
      AdamWHyper hi = h;
      hi.weight_decay = i == 1 ? 0.1f : 0.0f;
      AdamWKernels::cpu().update(want_param[i].data(), want_grad[i].data(), want_m[i].data(), want_v[i].data(),
                                 sizes[i], hi);
      slots.push_back({param[i].data(), grad[i].data(), m[i].data(), v[i].data(), sizes[i], hi.weight_decay});
    }
    const std::vector<AdamWChunk> chunks = adamw_chunks(slots);
    CHECK(chunks.size() == 4);  // 1, 1001, then 8192 + 7 split in two
    std::vector<double> chunk_sums(chunks.size());
    double got_sum = -1;
    AdamWKernels::cpu().clipped_step({slots.data(), 3, chunks.data(), 4, chunk_sums.data(), &got_sum}, max_norm, h);
    CHECK(got_sum == sum);
    for (size_t i = 0; i < sizes.size(); ++i) {
      CHECK(param[i] == want_param[i]);
      CHECK(m[i] == want_m[i]);
      CHECK(v[i] == want_v[i]);
      CHECK(std::all_of(grad[i].begin(), grad[i].end(), [](float g) { return g == 0.0f; }));
    }
  }
}

TEST_CASE("whole-model gradients match finite differences for each backend and a hybrid") {
  for (const char* backend : {"softmax", "linear", "linear,softmax"}) {
    for (int mlp_expand : {0, 2}) {
      ModelConfig config{/*vocab_size=*/17, /*d_model=*/8,     /*n_layers=*/2,
                         /*n_heads=*/2,     /*max_seq_len=*/9, mlp_expand};
      config.backend = backend;
      config.seed = 99;
      INFO("backend " << backend << " mlp_expand " << mlp_expand);
      SequenceModel model(config);
      Rng rng(31);
      // Embeddings start at 0.02 scale, where the finite-difference step would be half the
      // vector the next layer norm divides by; unit-scale tables keep the check linear enough.
      for (Param* p : model.params())
        if (p->name.rfind("embedding.", 0) == 0)
          for (int64_t i = 0; i < p->value.numel(); ++i) p->value[i] = static_cast<float>(rng.normal());
      const int64_t batch = 2, len = 9;
      const std::vector<int32_t> tokens = random_tokens(batch * len, rng, config.vocab_size);
      std::vector<int32_t> labels(batch * len, kIgnoreLabel);
      for (int64_t i = 0; i < batch * len; i += 2)
        labels[i] = static_cast<int32_t>(rng.uniform_int(0, config.vocab_size));
      model.zero_grad();
      model.loss_and_backward(tokens.data(), labels.data(), batch, len);
      auto loss = [&] { return model.loss(tokens.data(), labels.data(), batch, len); };
      for (Param* p : model.params()) {
        const Tensor analytic = p->grad;
        check_gradient(p->name, p->value, analytic, loss, rng, 3e-2, 12);
      }
    }
  }
}

namespace {

// Prefills the first `prefix_len` of each row of `tokens` ([batch, len]), decodes the rest one token at a
// time, and requires the last position's logits to match the parallel forward over all `len`.
void require_decode_matches_forward(SequenceModel& model, const std::vector<int32_t>& tokens, int64_t batch,
                                    int64_t len, int64_t prefix_len) {
  std::vector<float> full_logits, step_logits;
  model.prefill(tokens.data(), batch, len, len, full_logits);
  std::vector<int32_t> prefix(batch * prefix_len), column(batch);
  for (int64_t b = 0; b < batch; ++b)
    std::copy_n(tokens.begin() + b * len, prefix_len, prefix.begin() + b * prefix_len);
  DecodeState state = model.prefill(prefix.data(), batch, prefix_len, len, step_logits);
  for (int64_t t = prefix_len; t < len; ++t) {
    for (int64_t b = 0; b < batch; ++b) column[b] = tokens[b * len + t];
    model.decode_step(state, column.data(), step_logits);
  }
  REQUIRE(step_logits.size() == full_logits.size());
  for (size_t i = 0; i < full_logits.size(); ++i) REQUIRE(step_logits[i] == Approx(full_logits[i]).margin(1e-4));
}

}  // namespace

TEST_CASE("model decode steps reproduce the parallel forward's last-position logits") {
  for (const char* backend : {"softmax", "linear"}) {
    ModelConfig config{/*vocab_size=*/23, /*d_model=*/12, /*n_layers=*/2, /*n_heads=*/3, /*max_seq_len=*/11};
    config.backend = backend;
    SequenceModel model(config);
    Rng rng(4);
    INFO("backend " << backend);
    require_decode_matches_forward(model, random_tokens(2 * 11, rng, config.vocab_size), 2, 11, 4);
  }
}

TEST_CASE(
    "sinusoidal positions: decode past max_seq_len follows the parallel forward, and embeddings match the formula") {
  // max_seq_len 4 is not a limit for sinusoidal positions.
  ModelConfig config{/*vocab_size=*/19, /*d_model=*/6,    /*n_layers=*/1,           /*n_heads=*/2,
                     /*max_seq_len=*/4, /*mlp_expand=*/4, /*position=*/"sinusoidal"};
  SequenceModel model(config);
  Rng rng(8);
  require_decode_matches_forward(model, random_tokens(2 * 13, rng, config.vocab_size), 2, 13, 1);

  // Embedding rows: token row + 0.02 sin / cos(pos 10000^(-i/d)), as Vaswani et al. 2017.
  TokenEmbedding embedding(7, 6, 4, "sinusoidal", rng);
  const std::vector<int32_t> ids{3, 3, 3, 3, 3, 3, 3, 3, 3};
  Tensor x, at_offset;
  embedding.forward(ids.data(), 1, 9, x);
  embedding.forward(ids.data(), 1, 2, at_offset, 7);
  const float* token = embedding.params()[0]->value.data() + 3 * 6;
  for (int64_t pos = 0; pos < 9; ++pos)
    for (int i = 0; i < 6; ++i) {
      const double freq = std::pow(10000.0, -static_cast<double>(i - i % 2) / 6);
      const double angle = pos * freq, wave = i % 2 ? std::cos(angle) : std::sin(angle);
      REQUIRE(x[pos * 6 + i] == Approx(token[i] + 0.02 * wave).margin(1e-6));
      if (pos >= 7) REQUIRE(at_offset[(pos - 7) * 6 + i] == x[pos * 6 + i]);
    }
}

TEST_CASE("state bytes: attention grows with length, linear attention does not") {
  ModelConfig config;
  config.vocab_size = 10;
  config.d_model = 16;
  config.n_layers = 2;
  config.max_seq_len = 64;
  config.backend = "softmax";
  SequenceModel softmax(config);
  REQUIRE(softmax.state_bytes(64) == 2 * (2u * 64 * 16 * 4));
  config.backend = "linear";
  SequenceModel linear(config);
  REQUIRE(linear.state_bytes(64) == linear.state_bytes(4096));
}
