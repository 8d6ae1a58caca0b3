// The short causal depthwise conv: the layer against y[t, c] = b[c] + sum_j w[c, j] x[t - j, c]
// written out in double, its gradients against finite differences, decode against the parallel
// form; then the "short_conv" wrapper around linear (every feature map) and softmax through the
// generic conformance checks.
#include <cmath>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "models/short_conv_wrapper.h"
#include "models/short_conv_layer.h"
#include "tests/mixer_checks.h"

using namespace seqbench;
using namespace seqbench::mixer_checks;

namespace {

struct ConvCase {
  int batch, seq_len, channels, kernel;
};

std::string describe(const ConvCase& c) {
  return "B=" + std::to_string(c.batch) + " L=" + std::to_string(c.seq_len) + " C=" + std::to_string(c.channels) +
         " K=" + std::to_string(c.kernel);
}

// w[c, j] multiplies x[t - j, c]: tap j = 0 is the current token. The layer stores w tap-major
// with the current token last, stored[K-1-j, c].
double tap(const Tensor& stored, int c, int j, int C, int K) { return stored[(K - 1 - j) * C + c]; }

std::vector<double> reference_conv(const std::vector<double>& x, const Tensor& w, const Tensor& b, const ConvCase& s) {
  const int L = s.seq_len, C = s.channels, K = s.kernel;
  std::vector<double> y(x.size());
  for (int bt = 0; bt < s.batch; ++bt)
    for (int t = 0; t < L; ++t)
      for (int c = 0; c < C; ++c) {
        double sum = b[c];
        for (int j = 0; j < K && t - j >= 0; ++j) sum += tap(w, c, j, C, K) * x[(bt * L + t - j) * C + c];
        y[(bt * L + t) * C + c] = sum;
      }
  return y;
}

ShortConvLayer make_layer(const ConvCase& c, uint64_t seed) {
  Rng rng(seed);
  return ShortConvLayer("conv", c.channels, c.kernel, rng);
}

const std::vector<ConvCase> kCases{{1, 1, 1, 1}, {2, 7, 5, 1}, {1, 1, 3, 2}, {2, 9, 5, 2},
                                   {1, 2, 3, 4}, {2, 13, 7, 4}, {1, 3, 2, 4},  {3, 31, 6, 3}};

// check(c, conv, x, rng) for every case: case i's layer from seed first_seed + i, its input x from
// Rng(first_seed + i + 100), and rng left after x for any further draws.
template <class Check>
void for_each_conv_case(uint64_t first_seed, const Check& check) {
  uint64_t seed = first_seed;
  for (const ConvCase& c : kCases) {
    INFO(describe(c) << " seed=" << seed);
    ShortConvLayer conv = make_layer(c, seed);
    Rng rng(seed++ + 100);
    const Tensor x = random_tensor({c.batch, c.seq_len, c.channels}, rng);
    check(c, conv, x, rng);
  }
}

}  // namespace

TEST_CASE("short conv forward matches the causal depthwise sum written out", "[short_conv][kernel]") {
  for_each_conv_case(1, [](const ConvCase& c, ShortConvLayer& conv, const Tensor& x, Rng&) {
    Tensor y;
    conv.forward(x, y);
    const auto params = conv.params();
    REQUIRE(params[0]->value.shape() == Shape{c.kernel, c.channels});
    const auto ref = reference_conv(std::vector<double>(x.data(), x.data() + x.numel()), params[0]->value,
                                    params[1]->value, c);
    double worst = 0.0;
    for (int64_t i = 0; i < y.numel(); ++i)
      worst = std::max(worst, std::fabs(y[i] - ref[i]) / (1.0 + std::fabs(ref[i])));
    CHECK(worst < 1e-6);
  });
}

TEST_CASE("short conv gradients of input, weight and bias match finite differences", "[short_conv][kernel]") {
  for_each_conv_case(20, [](const ConvCase& c, ShortConvLayer& conv, const Tensor& x, Rng& rng) {
    const Tensor r = random_tensor(x.shape(), rng);
    Tensor y, dx;
    conv.forward(x, y);
    conv.backward(r, dx);
    conv.backward(r, dx);  // parameter gradients accumulate: twice one pass
    Param& w = *conv.params()[0];
    Param& b = *conv.params()[1];
    // The loss sum(y * r) in double from the reference, as a function of x, w and b.
    std::vector<double> xd(x.data(), x.data() + x.numel()), wd(w.value.data(), w.value.data() + w.value.numel()),
        bd(b.value.data(), b.value.data() + b.value.numel());
    auto loss = [&]() {
      double sum = 0.0;
      for (int bb = 0; bb < c.batch; ++bb)
        for (int t = 0; t < c.seq_len; ++t)
          for (int ch = 0; ch < c.channels; ++ch) {
            double out = bd[ch];
            for (int j = 0; j < c.kernel && t - j >= 0; ++j)
              out += wd[(c.kernel - 1 - j) * c.channels + ch] * xd[(bb * c.seq_len + t - j) * c.channels + ch];
            sum += out * r[(bb * c.seq_len + t) * c.channels + ch];
          }
      return sum;
    };
    auto worst_error = [&](std::vector<double>& v, const Tensor& analytic, double factor) {
      std::vector<double> numeric = testing::numeric_gradient(v, 1e-4, loss);
      for (double& g : numeric) g *= factor;
      return testing::worst_mixed_error(analytic, numeric, numeric.size());
    };
    CHECK(worst_error(xd, dx, 1.0) < 1e-5);
    CHECK(worst_error(wd, w.grad, 2.0) < 1e-5);
    CHECK(worst_error(bd, b.grad, 2.0) < 1e-5);
  });
}

TEST_CASE("short conv decode steps reproduce the parallel form after any prefill", "[short_conv][kernel]") {
  uint64_t seed = 40;
  for (int kernel : {1, 2, 4})
    for (int seq_len : {1, 3, 7, 13}) {
      const ConvCase c{2, seq_len, 5, kernel};
      ShortConvLayer conv = make_layer(c, seed);
      Rng rng(seed++ + 100);
      const Tensor x = random_tensor({c.batch, c.seq_len, c.channels}, rng);
      Tensor y_full, y_prefix, y_t;
      conv.forward(x, y_full);
      for (int prefix : {0, 1, 2, seq_len - 1, seq_len}) {
        if (prefix < 0 || prefix > seq_len) continue;
        INFO(describe(c) << " prefill " << prefix << " seed=" << seed);
        Tensor state = conv.make_state(c.batch);
        REQUIRE(state.shape() == Shape{c.batch, kernel - 1, c.channels});
        if (prefix > 0) {
          conv.forward(time_range(x, 0, prefix), y_prefix);
          conv.final_state(state);
        }
        double worst = 0.0;
        for (int t = prefix; t < seq_len; ++t) {
          conv.step(time_slice(x, t), y_t, state);
          worst = std::max(worst, max_mixed_error(y_t, time_slice(y_full, t)));
        }
        CHECK(worst < 1e-6);
      }
    }
}

TEST_CASE("short conv rejects bad sizes and mismatched states by value", "[short_conv][kernel]") {
  Rng rng(3);
  CHECK_THROWS_WITH(ShortConvLayer("conv", 4, 0, rng), Catch::Matchers::Contains("kernel=0"));
  CHECK_THROWS_WITH(ShortConvLayer("conv", 0, 3, rng), Catch::Matchers::Contains("channels=0"));
  ShortConvLayer conv("conv", 4, 3, rng);
  Tensor y, dx;
  CHECK_THROWS_AS(conv.forward(Tensor({1, 2, 5}), y), std::invalid_argument);
  CHECK_THROWS_AS(conv.backward(Tensor({1, 2, 4}), dx), std::logic_error);
  Tensor wrong_state({2, 3, 4});
  CHECK_THROWS_WITH(conv.step(Tensor({2, 4}), y, wrong_state), Catch::Matchers::Contains("[2, 2, 4]"));
}

namespace {

nlohmann::json with_conv(nlohmann::json params, int kernel) {
  params["short_conv"] = kernel;
  return params;
}

// The linear mixer with every feature map (identity unnormalised: its normaliser can vanish),
// and softmax, each behind a short conv.
std::vector<nlohmann::json> inner_params() {
  return {{{"feature_map", "identity"}, {"normalize", false}},
          {{"feature_map", "elu"}, {"chunk_size", 5}},
          {{"feature_map", "relu"}, {"normalize", false}},
          {{"feature_map", "taylor"}, {"feature_dim", 3}, {"chunk_size", 4}}};
}

}  // namespace

TEST_CASE("short conv wrapper gradients match finite differences around linear and softmax", "[short_conv][mixer]") {
  uint64_t seed = 800;
  for (const auto& params : inner_params()) {
    // Finite differences cannot see through relu's kinks: tests/test_feature_maps.cpp checks the
    // relu mixer, with and without the conv, against the identity mixer on relu's positive piece.
    if (params["feature_map"] == "relu") continue;
    for (int kernel : {1, 4})
      check_mixer_gradients(make_spec("linear", 12, 3, with_conv(params, kernel)), 2, 9, seed++);
  }
  check_mixer_gradients(make_spec("linear", 12, 3, with_conv({{"feature_map", "taylor"}, {"feature_dim", 2}}, 2)), 1,
                        1, seed++);
  for (int kernel : {1, 2, 4}) check_mixer_gradients(make_spec("softmax", 12, 3, with_conv({}, kernel)), 2, 7, seed++);
}

TEST_CASE("short conv wrapper decode matches its parallel forward, with and without prefill", "[short_conv][mixer]") {
  uint64_t seed = 900;
  for (const auto& params : inner_params())
    for (int kernel : {1, 2, 4})
      for (int seq_len : {1, 3, 8})
        check_forward_matches_decode(make_spec("linear", 12, 3, with_conv(params, kernel)), 2, seq_len, seed++);
  for (int kernel : {1, 2, 4})
    for (int seq_len : {1, 2, 7})
      check_forward_matches_decode(make_spec("softmax", 12, 3, with_conv({}, kernel)), 2, seq_len, seed++);
  check_forward_matches_decode(make_spec("linear", 16, 2, with_conv({{"chunk_size", 8}}, 4)), 1, 67, seed++);
}

TEST_CASE("short conv wrapper state is the inner state plus K-1 inputs of d_model floats", "[short_conv][mixer]") {
  for (int kernel : {1, 2, 4}) {
    INFO("K=" << kernel);
    const size_t conv_bytes = static_cast<size_t>(kernel - 1) * 24 * sizeof(float);
    const MixerSpec linear =
        make_spec("linear", 24, 3, with_conv({{"feature_map", "taylor"}, {"feature_dim", 4}}, kernel));
    check_state_bytes_growth(linear, StateGrowth::constant);
    const size_t inner_bytes = make_mixer(without_short_conv(linear))->state_bytes(100);
    CHECK(make_mixer(linear)->state_bytes(100) == inner_bytes + conv_bytes);
    // Softmax's KV cache still grows linearly; the conv adds a constant on top of it.
    const MixerSpec softmax = make_spec("softmax", 24, 3, with_conv({}, kernel));
    auto wrapped = make_mixer(softmax);
    auto plain = make_mixer(without_short_conv(softmax));
    for (int len : {1, 64, 1000}) CHECK(wrapped->state_bytes(len) == plain->state_bytes(len) + conv_bytes);
    const size_t per_token = wrapped->state_bytes(2) - wrapped->state_bytes(1);
    CHECK(wrapped->state_bytes(64) - wrapped->state_bytes(1) == 63 * per_token);
  }
}

TEST_CASE("short conv wrapper owns the conv's params before the inner mixer's and keeps the spec",
          "[short_conv][mixer]") {
  const MixerSpec spec = make_spec("softmax", 12, 3, with_conv({}, 4));
  auto mixer = make_mixer(spec);
  auto* wrapper = dynamic_cast<ShortConvWrapper*>(mixer.get());
  REQUIRE(wrapper);
  CHECK(wrapper->kernel() == 4);
  CHECK(mixer->spec().kind == "softmax");
  CHECK(mixer->spec().params == spec.params);
  CHECK(wrapper->inner().spec().params == nlohmann::json::object());
  const auto params = mixer->params();
  REQUIRE(params.size() == 2 + make_mixer(without_short_conv(spec))->params().size());
  CHECK(params[0]->name == "softmax.short_conv.weight");
  CHECK(params[0]->value.shape() == Shape{4, 12});
  CHECK(params[1]->name == "softmax.short_conv.bias");
  CHECK_FALSE(params[1]->decay);
  // Without the key, make_mixer builds the plain backend as before.
  CHECK(dynamic_cast<ShortConvWrapper*>(make_mixer(without_short_conv(spec)).get()) == nullptr);
}

TEST_CASE("short conv wrapper is deterministic, accumulates gradients and checks its inputs", "[short_conv][mixer]") {
  const MixerSpec linear = make_spec("linear", 24, 3, with_conv({{"chunk_size", 16}}, 4));
  check_thread_count_independence(linear, 4, 37, 1001);
  check_thread_count_independence(make_spec("softmax", 24, 3, with_conv({}, 3)), 3, 19, 1002);
  check_backward_accumulates(make_spec("linear", 12, 3, with_conv({{"chunk_size", 4}}, 2)), 2, 9, 1003);
  check_initialisation_is_seeded(linear);
  check_rejects_bad_inputs(linear);
  check_rejects_bad_inputs(make_spec("softmax", 12, 3, with_conv({}, 2)));
  check_rejects_bad_specs(linear);
}

TEST_CASE("short conv wrapper rejects kernel sizes below 1 and non-integers by value", "[short_conv][mixer]") {
  for (const nlohmann::json& bad : {nlohmann::json(0), nlohmann::json(-2), nlohmann::json(nullptr)}) {
    MixerSpec spec = make_spec("linear", 12, 3);
    spec.params["short_conv"] = bad;
    CHECK_THROWS_WITH(make_mixer(spec), Catch::Matchers::Contains("short_conv") &&
                                            Catch::Matchers::Contains(">= 1, got " + bad.dump()));
  }
  CHECK_THROWS_WITH(make_mixer(make_spec("softmax", 12, 3, {{"short_conv", "4"}})),
                    Catch::Matchers::Contains("short_conv") && Catch::Matchers::Contains("integer"));
  CHECK_NOTHROW(make_mixer(make_spec("softmax", 12, 3, {{"short_conv", 4.0}})));
  CHECK_THROWS_WITH(make_mixer(make_spec("no_such_mixer", 12, 3, {{"short_conv", 4}})),
                    Catch::Matchers::Contains("no_such_mixer"));
}
