// bf16 mixed precision (models/precision.h): the projections' products in bf16 with fp32 sums, checked
// exactly against fp32 products of the rounded operands, then as gradients and as training.
#include <catch2/catch.hpp>

#include <cmath>
#include <vector>

#include "harness/model_trainer.h"
#include "harness/sweep.h"
#include "models/linear_layer.h"
#include "models/sequence_model.h"
#include "ops/bf16_bits.h"
#include "tasks/task.h"
#include "tests/random_values.h"
#include "tests/relative_error.h"
#include "tests/tiny_mqar.h"

using namespace seqbench;
using seqbench::testing::random_tensor;
using seqbench::testing::random_tokens;
using seqbench::testing::relative_error;
using seqbench::testing::tiny_model;
using seqbench::testing::tiny_mqar;
using seqbench::testing::tiny_training;

namespace {

void round_in_place(Tensor& t) {
  for (int64_t i = 0; i < t.numel(); ++i) t[i] = bf16_bits_to_float(float_to_bf16_bits(t[i]));
}

bool same_values(const Tensor& a, const Tensor& b) {
  if (a.shape() != b.shape()) return false;
  for (int64_t i = 0; i < a.numel(); ++i)
    if (a[i] != b[i]) return false;
  return true;
}

}  // namespace

TEST_CASE("a bf16 linear layer computes the fp32 layer's values on bf16-rounded x, W and dy") {
  for (auto [in, out, bias] : {std::tuple{7, 5, true}, std::tuple{1, 13, false}, std::tuple{33, 17, true}}) {
    INFO("in " << in << " out " << out << " bias " << bias);
    Rng init_a(3), init_b(3), rng(4);
    LinearLayer mixed("lin", in, out, bias, init_a), reference("lin", in, out, bias, init_b);
    round_in_place(reference.weight().value);
    const Tensor x = random_tensor({3, 2, in}, rng), dy = random_tensor({3, 2, out}, rng);
    Tensor x_rounded = x, dy_rounded = dy;
    round_in_place(x_rounded);
    round_in_place(dy_rounded);

    Tensor y_mixed, y_reference, dx_mixed, dx_reference;
    {
      const PrecisionScope precision(Precision::bf16);
      mixed.forward(x, y_mixed);
    }
    reference.forward(x_rounded, y_reference);
    CHECK(same_values(y_mixed, y_reference));
    // Backward runs in its forward's precision, whatever scope it is called in.
    mixed.backward(dy, dx_mixed);
    reference.backward(dy_rounded, dx_reference);
    CHECK(same_values(dx_mixed, dx_reference));
    CHECK(same_values(mixed.weight().grad, reference.weight().grad));
    // And the rounding happened: fp32 on the unrounded values differs.
    Tensor y_fp32;
    Rng init_c(3);
    LinearLayer fp32("lin", in, out, bias, init_c);
    fp32.forward(x, y_fp32);
    CHECK_FALSE(same_values(y_fp32, y_mixed));
    CHECK(relative_error(y_mixed, y_fp32) < 2e-2);
  }
}

TEST_CASE("bf16 model gradients stay within bf16 rounding of the fp32 gradients, for each backend") {
  for (const char* backend : {"softmax", "linear", "gla", "delta", "ssm", "sliding_window"}) {
    INFO("backend " << backend);
    ModelConfig config{/*vocab_size=*/29, /*d_model=*/16, /*n_layers=*/2, /*n_heads=*/2, /*max_seq_len=*/12, 2};
    config.backend = backend;
    config.seed = 5;
    SequenceModel fp32(config);
    config.precision = Precision::bf16;
    SequenceModel bf16(config);
    Rng rng(17);
    const int64_t batch = 3, len = 12;
    const std::vector<int32_t> tokens = random_tokens(batch * len, rng, config.vocab_size);
    std::vector<int32_t> labels(batch * len, kIgnoreLabel);
    for (int64_t i = 1; i < batch * len; i += 3) labels[i] = static_cast<int32_t>(rng.uniform_int(0, config.vocab_size));
    fp32.zero_grad();
    bf16.zero_grad();
    const double loss_fp32 = fp32.loss_and_backward(tokens.data(), labels.data(), batch, len);
    const double loss_bf16 = bf16.loss_and_backward(tokens.data(), labels.data(), batch, len);
    CHECK(loss_bf16 == Approx(loss_fp32).epsilon(1e-2));
    CHECK(loss_bf16 != loss_fp32);
    const std::vector<Param*> want = fp32.params(), got = bf16.params();
    REQUIRE(want.size() == got.size());
    // bf16 keeps 8 significant bits (relative rounding 2^-9); through two layers, their norms (GLA's
    // per-head output norm over 8 channels the most) and the head, gradients differ by up to ~8%.
    for (size_t i = 0; i < want.size(); ++i) {
      INFO(want[i]->name);
      CHECK(relative_error(got[i]->grad, want[i]->grad) < 0.12);
    }
  }
}

TEST_CASE("softmax attention learns a tiny MQAR in bf16 as it does in fp32") {
  const TaskInstance task = tiny_mqar();
  ModelConfig config = tiny_model("softmax", task);
  config.precision = Precision::bf16;
  SequenceModel model(config);
  train_model(model, task.train, task.tests[0].data, tiny_training(), 3);
  const double accuracy = evaluate_model(model, task.tests[0].data).accuracy;
  INFO("bf16 accuracy " << accuracy);
  REQUIRE(accuracy >= 0.99);  // the fp32 run's bar (test_mqar_training.cpp)
}

TEST_CASE("a sweep's precision reaches its cells, names bf16 cells only, and rejects other values") {
  nlohmann::json spec = nlohmann::json::parse(R"({
    "backends": ["softmax"], "tasks": [{"name": "mqar", "seq_len": 32, "vocab_size": 128}], "train": {"epochs": 1}})");
  const Sweep fp32 = expand_sweep(spec);
  CHECK(fp32.cells.at(0).precision == "fp32");
  CHECK_FALSE(fp32.cells.at(0).to_json().contains("precision"));
  CHECK(fp32.cells.at(0).model_config(128, 32).precision == Precision::fp32);
  spec["precision"] = "bf16";
  const Sweep bf16 = expand_sweep(spec);
  CHECK(bf16.cells.at(0).to_json().at("precision") == "bf16");
  CHECK(bf16.cells.at(0).model_config(128, 32).precision == Precision::bf16);
  spec["precision"] = "fp16";
  REQUIRE_THROWS_WITH(expand_sweep(spec), Catch::Contains("precision") && Catch::Contains("fp16") &&
                                              Catch::Contains("bf16"));
}
