// Central finite differences against an analytic gradient, for any scalar loss of a tensor.
// The step is 1e-2 * max(1, |value|) (float needs a large step to rise above rounding); one
// element's error is |analytic - numeric| / max(1e-2, |analytic| + |numeric|), so a wrong sign or
// a missing term (an error of the order of the gradient itself) fails while rounding does not.
#pragma once
#include <algorithm>
#include <array>
#include <catch2/catch.hpp>
#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include "ops/rng.h"
#include "ops/tensor.h"

namespace seqbench::testing {

// Checks up to `samples` elements of `value` (chosen with rng) and returns the worst error.
inline double check_gradient(const std::string& name, Tensor& value, const Tensor& analytic,
                             const std::function<double()>& loss, Rng& rng, double tol = 2e-2, int samples = 40) {
  REQUIRE(analytic.shape() == value.shape());
  const int64_t n = value.numel();
  double worst = 0.0, worst_analytic = 0.0, worst_numeric = 0.0;
  int64_t worst_index = -1;
  const int64_t count = std::min<int64_t>(n, samples);
  for (int64_t s = 0; s < count; ++s) {
    const int64_t i = n <= samples ? s : rng.uniform_int(0, n);
    float& v = value[i];
    const float original = v;
    const float h = static_cast<float>(1e-2 * std::max(1.0, std::fabs(static_cast<double>(original))));
    const float up = original + h, down = original - h;
    v = up;
    const double loss_up = loss();
    v = down;
    const double loss_down = loss();
    v = original;
    const double numeric = (loss_up - loss_down) / (static_cast<double>(up) - down);
    const double a = analytic[i];
    const double err = std::fabs(a - numeric) / std::max(1e-2, std::fabs(a) + std::fabs(numeric));
    if (!(err <= worst)) {
      worst = std::isnan(err) ? INFINITY : err;
      worst_index = i;
      worst_analytic = a;
      worst_numeric = numeric;
    }
  }
  INFO("gradient of " << name << ": worst element " << worst_index << " analytic " << worst_analytic << " numeric "
                      << worst_numeric);
  CHECK(worst < tol);
  return worst;
}

inline std::vector<double> widen(const std::vector<float>& x) { return std::vector<double>(x.begin(), x.end()); }

// A reference computed in double from three inputs (q, k, v or phi(q), phi(k), v).
using DoubleAttention = std::function<std::vector<double>(const std::vector<double>& q, const std::vector<double>& k,
                                                          const std::vector<double>& v)>;

// dq, dk, dv (named by `names`) against central differences (in double, step 1e-6) of sum(reference(q, k, v) * dout)
// at every element: worst |analytic - numeric| / (1 + |numeric|) below 1e-4 for each.
inline void check_qkv_gradients(const std::vector<float>& q, const std::vector<float>& k, const std::vector<float>& v,
                                const std::vector<float>& dout, const std::vector<float>& dq,
                                const std::vector<float>& dk, const std::vector<float>& dv,
                                const DoubleAttention& reference,
                                const std::array<const char*, 3>& names = {"dq", "dk", "dv"}) {
  std::vector<std::vector<double>> inputs{widen(q), widen(k), widen(v)};
  const std::vector<const std::vector<float>*> analytic{&dq, &dk, &dv};
  auto loss = [&]() {
    const std::vector<double> o = reference(inputs[0], inputs[1], inputs[2]);
    double sum = 0.0;
    for (size_t i = 0; i < o.size(); ++i) sum += o[i] * dout[i];
    return sum;
  };
  for (int which = 0; which < 3; ++which) {
    double worst = 0.0;
    for (size_t i = 0; i < inputs[which].size(); ++i) {
      const double original = inputs[which][i], h = 1e-6;
      inputs[which][i] = original + h;
      const double up = loss();
      inputs[which][i] = original - h;
      const double down = loss();
      inputs[which][i] = original;
      const double numeric = (up - down) / (2 * h);
      worst = std::max(worst, std::fabs((*analytic[which])[i] - numeric) / (1.0 + std::fabs(numeric)));
    }
    INFO(names[which]);
    CHECK(worst < 1e-4);
  }
}

}  // namespace seqbench::testing
