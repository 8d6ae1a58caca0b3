// FusedProjection (models/fused_projection.h): several projections of one input as one matmul give
// what separate LinearLayers of the same seeds give, and their gradients match finite differences.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <vector>

#include "models/fused_projection.h"
#include "models/linear_layer.h"
#include "tests/finite_difference.h"
#include "tests/random_values.h"

using namespace seqbench;
using seqbench::testing::check_gradient;
using seqbench::testing::random_tensor;
using seqbench::testing::weighted_sum;

namespace {

double largest_difference(const Tensor& a, const Tensor& b) {
  REQUIRE(a.shape() == b.shape());
  double worst = 0;
  for (int64_t i = 0; i < a.numel(); ++i) worst = std::max(worst, std::abs(double(a[i]) - b[i]));
  return worst;
}

}  // namespace

TEST_CASE("a fused projection equals separate linear layers drawn from the same seeds") {
  const int in = 11;
  const std::vector<ProjectionPart> parts{{7, 101}, {1, 202}, {13, 303}};
  FusedProjection fused("f", in, parts, Device::cpu);
  std::vector<LinearLayer> separate;
  for (const ProjectionPart& p : parts) {
    Rng rng(p.seed);
    separate.emplace_back("s", in, p.out_features, false, rng);
  }
  // The stacked weight is the separate weights one under the other.
  const Tensor& w = fused.params().at(0)->value;
  REQUIRE(w.shape() == Shape{21, in});
  int64_t row = 0;
  for (LinearLayer& layer : separate) {
    for (int64_t i = 0; i < layer.weight().value.numel(); ++i) REQUIRE(w[row * in + i] == layer.weight().value[i]);
    row += layer.out_features();
  }

  Rng rng(5);
  const Tensor x = random_tensor({2, 3, in}, rng);
  std::vector<Tensor> outputs(parts.size()), expected(parts.size()), grads;
  fused.forward(x, {&outputs[0], &outputs[1], &outputs[2]});
  for (size_t i = 0; i < parts.size(); ++i) {
    separate[i].forward(x, expected[i]);
    INFO("part " << i);
    CHECK(outputs[i].shape() == Shape{2, 3, parts[i].out_features});
    CHECK(largest_difference(outputs[i], expected[i]) == 0.0);  // each output element is the same dot product
    grads.push_back(random_tensor(outputs[i].shape(), rng));
  }
  // Decode-style apply() writes the same values and keeps nothing.
  std::vector<Tensor> applied(parts.size());
  fused.apply(x, {&applied[0], &applied[1], &applied[2]});
  for (size_t i = 0; i < parts.size(); ++i) CHECK(largest_difference(applied[i], outputs[i]) == 0.0);

  Tensor dx, dx_expected, dx_part;
  fused.backward({&grads[0], &grads[1], &grads[2]}, dx);
  separate[0].backward(grads[0], dx_expected);
  for (size_t i = 1; i < parts.size(); ++i) {
    separate[i].backward(grads[i], dx_part);
    for (int64_t j = 0; j < dx_part.numel(); ++j) dx_expected[j] += dx_part[j];
  }
  CHECK(largest_difference(dx, dx_expected) < 1e-5);  // one sum over 21 outputs, not three
  row = 0;
  const Tensor& dw = fused.params().at(0)->grad;
  for (LinearLayer& layer : separate) {
    const Tensor& g = layer.weight().grad;
    for (int64_t i = 0; i < g.numel(); ++i) REQUIRE(dw[row * in + i] == g[i]);
    row += layer.out_features();
  }
}

TEST_CASE("fused projection gradients match finite differences, and a wrong part count is an error") {
  FusedProjection fused("f", 5, {{3, 1}, {4, 2}}, Device::cpu);
  Rng rng(9);
  Tensor x = random_tensor({1, 2, 5}, rng);
  Tensor a, b;
  fused.forward(x, {&a, &b});
  const Tensor ra = random_tensor(a.shape(), rng), rb = random_tensor(b.shape(), rng);
  Param& w = *fused.params().at(0);
  w.grad.zero();
  Tensor dx;
  fused.backward({&ra, &rb}, dx);
  Tensor sa, sb;
  auto loss = [&] {
    fused.apply(x, {&sa, &sb});
    return weighted_sum(sa, ra) + weighted_sum(sb, rb);
  };
  check_gradient("x", x, dx, loss, rng);
  const Tensor analytic = w.grad;
  check_gradient("w", w.value, analytic, loss, rng);
  Tensor c;
  REQUIRE_THROWS_AS(fused.forward(x, {&a}), std::logic_error);
  REQUIRE_THROWS_AS(fused.apply(x, {&a, &b, &c}), std::logic_error);
}
