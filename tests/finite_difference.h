// Central finite differences against an analytic gradient, for any scalar loss of a tensor.
// The step is 1e-2 * max(1, |value|) (float needs a large step to rise above rounding); one
// element's error is |analytic - numeric| / max(1e-2, |analytic| + |numeric|), so a wrong sign or
// a missing term (an error of the order of the gradient itself) fails while rounding does not.
#pragma once
#include <algorithm>
#include <cmath>
#include <functional>
#include <string>

#include <catch2/catch.hpp>

#include "kernels/rng.h"
#include "kernels/tensor.h"

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

}  // namespace seqbench::testing
