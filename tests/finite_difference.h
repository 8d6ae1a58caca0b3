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

// max_i |got_i - want_i| / (1 + |want_i|) over n elements: absolute for small values, relative for large
// ones; a NaN anywhere makes it infinite.
template <class Got, class Want>
double worst_mixed_error(const Got& got, const Want& want, size_t n) {
  double worst = 0.0;
  for (size_t i = 0; i < n; ++i) {
    const double err =
        std::fabs(static_cast<double>(got[i]) - want[i]) / (1.0 + std::fabs(static_cast<double>(want[i])));
    worst = std::max(worst, std::isnan(err) ? INFINITY : err);
  }
  return worst;
}

template <class A, class B>
double worst_mixed_error(const std::vector<A>& got, const std::vector<B>& want) {
  REQUIRE(got.size() == want.size());
  return worst_mixed_error(got, want, got.size());
}

// sum(y * r) accumulated in double: the scalar loss whose gradient wrt y is r.
inline double weighted_sum(const Tensor& y, const Tensor& r) {
  double sum = 0.0;
  for (int64_t i = 0; i < y.numel(); ++i) sum += static_cast<double>(y[i]) * r[i];
  return sum;
}

template <class Y, class R>
double weighted_sum(const std::vector<Y>& y, const std::vector<R>& r) {
  double sum = 0.0;
  for (size_t i = 0; i < y.size(); ++i) sum += y[i] * r[i];
  return sum;
}

// Central differences (loss(x + h) - loss(x - h)) / 2h of loss() in every element of x, in double
// (accurate to ~h^2, far below float rounding); x is restored element by element.
template <class Loss>
std::vector<double> numeric_gradient(std::vector<double>& x, double h, const Loss& loss) {
  std::vector<double> grad(x.size());
  for (size_t i = 0; i < x.size(); ++i) {
    const double original = x[i];
    x[i] = original + h;
    const double up = loss();
    x[i] = original - h;
    const double down = loss();
    x[i] = original;
    grad[i] = (up - down) / (2 * h);
  }
  return grad;
}

// numeric_gradient for each argument in turn.
template <class Loss>
std::vector<std::vector<double>> numeric_gradients(std::vector<std::vector<double>>& args, double h,
                                                   const Loss& loss) {
  std::vector<std::vector<double>> grads;
  for (auto& arg : args) grads.push_back(numeric_gradient(arg, h, loss));
  return grads;
}

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
  auto loss = [&]() { return weighted_sum(reference(inputs[0], inputs[1], inputs[2]), dout); };
  for (int which = 0; which < 3; ++which) {
    INFO(names[which]);
    CHECK(worst_mixed_error(*analytic[which], numeric_gradient(inputs[which], 1e-6, loss)) < 1e-4);
  }
}

}  // namespace seqbench::testing
