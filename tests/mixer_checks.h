// Conformance checks every mixer backend must pass, written once against the Mixer interface:
// gradients against directional finite differences, parallel form against step-by-step decode (and prefill
// + decode), state-size growth, thread-count independence, gradient accumulation, input checks.
// A new backend's test calls these with its own specs; tests/test_mixer_registry.cpp runs them
// over every registered backend at its defaults.
#pragma once
#include <algorithm>
#include <cfloat>
#include <cmath>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "ops/parallel.h"
#include "ops/rng.h"
#include "ops/tensor.h"
#include "models/mixer.h"
#include "models/mixer_registry.h"
#include "tests/finite_difference.h"
#include "tests/random_values.h"

namespace seqbench {
namespace mixer_checks {

inline std::string describe(const MixerSpec& spec) {
  std::ostringstream out;
  out << spec.kind << " d_model=" << spec.d_model << " n_heads=" << spec.n_heads << " params=" << spec.params.dump()
      << " seed=" << spec.seed;
  return out.str();
}

inline MixerSpec make_spec(const std::string& kind, int d_model, int n_heads,
                           nlohmann::json params = nlohmann::json::object(), uint64_t seed = 7) {
  MixerSpec spec;
  spec.kind = kind;
  spec.d_model = d_model;
  spec.n_heads = n_heads;
  spec.params = std::move(params);
  spec.seed = seed;
  return spec;
}

using testing::random_tensor;
using testing::weighted_sum;

// x[:, t, :] of a [B, L, D] tensor, as [B, D].
inline Tensor time_slice(const Tensor& x, int64_t t) {
  const int64_t B = x.dim(0), L = x.dim(1), D = x.dim(2);
  Tensor out({B, D});
  for (int64_t b = 0; b < B; ++b)
    std::copy(x.data() + (b * L + t) * D, x.data() + (b * L + t + 1) * D, out.data() + b * D);
  return out;
}

// x[:, t0:t1, :] of a [B, L, D] tensor.
inline Tensor time_range(const Tensor& x, int64_t t0, int64_t t1) {
  const int64_t B = x.dim(0), L = x.dim(1), D = x.dim(2);
  Tensor out({B, t1 - t0, D});
  for (int64_t b = 0; b < B; ++b)
    std::copy(x.data() + (b * L + t0) * D, x.data() + (b * L + t1) * D, out.data() + b * (t1 - t0) * D);
  return out;
}

// max_i |a_i - b_i| / (1 + |b_i|): absolute for small values, relative for large ones.
inline double max_mixed_error(const Tensor& a, const Tensor& b) {
  REQUIRE(a.shape() == b.shape());
  return testing::worst_mixed_error(a, b, static_cast<size_t>(a.numel()));
}

inline bool bit_identical(const Tensor& a, const Tensor& b) {
  return a.shape() == b.shape() && std::equal(a.data(), a.data() + a.numel(), b.data());
}

// A random unit direction over the elements [begin, end) of each of `blocks` equal blocks of a
// tensor (e.g. one time step of every sequence), zero elsewhere.
inline Tensor random_direction(const Shape& shape, int64_t block, int64_t begin, int64_t end, Rng& rng) {
  Tensor u(shape);
  double norm2 = 0.0;
  for (int64_t b0 = 0; b0 < u.numel(); b0 += block)
    for (int64_t i = b0 + begin; i < b0 + end; ++i) {
      u[i] = static_cast<float>(rng.normal());
      norm2 += static_cast<double>(u[i]) * u[i];
    }
  const float inv = static_cast<float>(1.0 / std::sqrt(norm2));
  for (int64_t i = 0; i < u.numel(); ++i) u[i] *= inv;
  return u;
}

// Directional finite differences of loss = sum(y * R), for fixed random R, against backward()'s
// dx and every parameter gradient: along random unit directions u, the central difference
// (L(v + h u) - L(v - h u)) / 2h against grad . u (the "fast mode" of PyTorch's gradcheck).
// One element's derivative is buried in float rounding of the loss; a directional derivative
// has the size of the whole gradient, so it stays ~1e-4 accurate in float with h = 1e-2 |v|.
// The input is probed one time step at a time (every step for L <= 16, else 12 of them,
// always the first and last), so an error confined to some positions (a chunk boundary, the
// last token) cannot hide; each parameter along `directions` directions of the whole tensor.
// Error |analytic - numeric| / max(|analytic| + |numeric|, |g| / sqrt(n), rounding bound): a
// wrong sign gives 1, a term missing from a tenth of the gradient ~0.05, float rounding ~1e-4.
inline void check_mixer_gradients(const MixerSpec& spec, int batch, int seq_len, uint64_t seed,
                                  double tol = 1e-2, int directions = 3) {
  INFO(describe(spec) << " batch=" << batch << " seq_len=" << seq_len << " data seed=" << seed);
  auto mixer = make_mixer(spec);
  Rng rng(seed);
  Tensor x = random_tensor({batch, seq_len, spec.d_model}, rng);
  const Tensor r = random_tensor({batch, seq_len, spec.d_model}, rng);
  Tensor y, dx;
  for (Param* p : mixer->params()) p->grad.zero();
  mixer->forward(x, y, nullptr);
  mixer->backward(r, dx);
  REQUIRE(dx.shape() == x.shape());

  double loss_scale = 0.0;  // |y * r|, elementwise product's 2-norm
  for (int64_t i = 0; i < y.numel(); ++i) loss_scale += static_cast<double>(y[i]) * y[i] * r[i] * r[i];
  loss_scale = std::sqrt(loss_scale);
  Tensor y_up, y_down;
  auto directional_error = [&](Tensor& value, const Tensor& analytic_grad, const Tensor& u) {
    const Tensor original = value;
    double analytic = 0.0, support_norm2 = 0.0, grad_norm2 = 0.0;
    int64_t support = 0;
    for (int64_t i = 0; i < u.numel(); ++i) {
      analytic += static_cast<double>(analytic_grad[i]) * u[i];
      if (u[i] == 0.0f) continue;
      ++support;
      support_norm2 += static_cast<double>(original[i]) * original[i];
      grad_norm2 += static_cast<double>(analytic_grad[i]) * analytic_grad[i];
    }
    // |g . u| for a random unit u is ~|g| / sqrt(n); a direction that happens to be nearly
    // orthogonal to g is judged against that typical size, not its own tiny one.
    const double typical = std::sqrt(grad_norm2 / static_cast<double>(support));
    const double h = 1e-2 * std::max(1.0, std::sqrt(support_norm2));
    auto forward_at = [&](double m, Tensor& out) {
      for (int64_t i = 0; i < u.numel(); ++i) value[i] = static_cast<float>(original[i] + m * h * u[i]);
      mixer->forward(x, out, nullptr);
      value = original;
    };
    forward_at(1.0, y_up);
    forward_at(-1.0, y_down);
    const double numeric = (weighted_sum(y_up, r) - weighted_sum(y_down, r)) / (2.0 * h);
    // What float rounding can do, with a wide margin: to the difference quotient, errors of a
    // few ulp in each output that moved; to the analytic side, a few ulp of the loss's scale.
    // It matters only where the true derivative is ~0, e.g. for q and k of a length-1 sequence.
    double moved2 = 0.0;
    for (int64_t i = 0; i < y.numel(); ++i)
      if (y_up[i] != y_down[i]) moved2 += static_cast<double>(y[i]) * y[i] * r[i] * r[i];
    const double rounding = FLT_EPSILON * (1000.0 * std::sqrt(moved2) + 30.0 * loss_scale) / h;
    const double err = std::fabs(analytic - numeric) /
                       std::max({1e-12, rounding, typical, std::fabs(analytic) + std::fabs(numeric)});
    UNSCOPED_INFO("analytic " << analytic << " numeric " << numeric);
    return std::isnan(err) ? INFINITY : err;
  };

  std::vector<int> steps;
  for (int t = 0; t < seq_len; ++t) steps.push_back(t);
  if (seq_len > 16) {
    steps = {0, seq_len - 1};
    while (steps.size() < 12) steps.push_back(static_cast<int>(rng.uniform_int(1, seq_len - 1)));
  }
  const int64_t D = spec.d_model;
  for (int t : steps) {
    INFO("gradient of the input at time step " << t);
    const Tensor u = random_direction(x.shape(), static_cast<int64_t>(seq_len) * D, t * D, (t + 1) * D, rng);
    CHECK(directional_error(x, dx, u) < tol);
  }
  for (Param* p : mixer->params()) {
    const Tensor analytic = p->grad;
    for (int d = 0; d < directions; ++d) {
      INFO("gradient of " << p->name << ", direction " << d);
      const Tensor u = random_direction(p->value.shape(), p->value.numel(), 0, p->value.numel(), rng);
      CHECK(directional_error(p->value, analytic, u) < tol);
    }
  }
}

// The parallel form against the recurrent form: forward over the whole sequence vs step() from an
// empty cache, and vs forward(x[:, :p], cache) followed by step() for the rest, for several p.
// The cache is made longer than the sequence so its capacity never equals the length by accident.
inline void check_forward_matches_decode(const MixerSpec& spec, int batch, int seq_len, uint64_t seed,
                                         double tol = 1e-4) {
  INFO(describe(spec) << " batch=" << batch << " seq_len=" << seq_len << " data seed=" << seed);
  auto mixer = make_mixer(spec);
  Rng rng(seed);
  const Tensor x = random_tensor({batch, seq_len, spec.d_model}, rng);
  Tensor y_full, y_t, y_prefix;
  mixer->forward(x, y_full, nullptr);

  std::vector<int> prefixes{0, 1, seq_len / 2, seq_len - 1, seq_len};
  std::sort(prefixes.begin(), prefixes.end());
  prefixes.erase(std::unique(prefixes.begin(), prefixes.end()), prefixes.end());
  for (int p : prefixes) {
    if (p < 0 || p > seq_len) continue;
    INFO("prefill length " << p << " (0: decode from an empty cache)");
    auto cache = mixer->make_cache(batch, seq_len + 3);
    REQUIRE(cache->position == 0);
    if (p > 0) {
      mixer->forward(time_range(x, 0, p), y_prefix, cache.get());
      CHECK(cache->position == p);
      CHECK(max_mixed_error(y_prefix, time_range(y_full, 0, p)) < tol);
    }
    for (int t = p; t < seq_len; ++t) {
      INFO("decode position " << t);
      mixer->step(time_slice(x, t), y_t, *cache);
      REQUIRE(y_t.shape() == Shape{batch, spec.d_model});
      CHECK(max_mixed_error(y_t, time_slice(y_full, t)) < tol);
    }
    CHECK(cache->position == seq_len);
  }
}

// A snapshot (clone) of a prefilled cache continues exactly as the original does, bit for bit, and
// decoding from the snapshot leaves the original untouched: what multi-request scenarios rely on.
inline void check_cache_snapshot_continues_identically(const MixerSpec& spec, int batch, int prefix, int steps,
                                                       uint64_t seed) {
  INFO(describe(spec) << " batch=" << batch << " prefix=" << prefix << " steps=" << steps << " data seed=" << seed);
  auto mixer = make_mixer(spec);
  Rng rng(seed);
  const Tensor x = random_tensor({batch, prefix + steps, spec.d_model}, rng);
  auto cache = mixer->make_cache(batch, prefix + steps);
  Tensor y, from_original, from_snapshot;
  mixer->forward(time_range(x, 0, prefix), y, cache.get());
  const std::unique_ptr<MixerCache> snapshot = cache->clone();
  REQUIRE(snapshot->position == prefix);
  std::vector<Tensor> original_steps;
  for (int t = prefix; t < prefix + steps; ++t) {
    mixer->step(time_slice(x, t), from_original, *cache);
    original_steps.push_back(from_original);
  }
  CHECK(snapshot->position == prefix);  // the original's steps did not move the snapshot
  for (int t = prefix; t < prefix + steps; ++t) {
    mixer->step(time_slice(x, t), from_snapshot, *snapshot);
    CHECK(bit_identical(from_snapshot, original_steps[t - prefix]));
  }
  CHECK(snapshot->position == cache->position);
}

enum class StateGrowth { linear_in_length, constant };

// Zoology/Based accounting: attention's KV cache grows linearly with length, recurrent state not.
inline void check_state_bytes_growth(const MixerSpec& spec, StateGrowth expected) {
  INFO(describe(spec));
  auto mixer = make_mixer(spec);
  const size_t one = mixer->state_bytes(1), l64 = mixer->state_bytes(64), l1000 = mixer->state_bytes(1000);
  REQUIRE(one > 0);
  CHECK(one % sizeof(float) == 0);
  if (expected == StateGrowth::linear_in_length) {
    CHECK(l64 == 64 * one);
    CHECK(l1000 == 1000 * one);
  } else {
    CHECK(l64 == one);
    CHECK(l1000 == one);
  }
}

// Forward, backward and decode give bit-identical results with 1 and 2 threads (each output
// element is computed by one thread). Restores the thread count it found.
inline void check_thread_count_independence(const MixerSpec& spec, int batch, int seq_len, uint64_t seed) {
  INFO(describe(spec) << " batch=" << batch << " seq_len=" << seq_len << " data seed=" << seed);
  const int threads_before = num_threads();
  Rng rng(seed);
  const Tensor x = random_tensor({batch, seq_len, spec.d_model}, rng);
  const Tensor r = random_tensor({batch, seq_len, spec.d_model}, rng);
  struct Outputs {
    Tensor y, dx, y_step;
    std::vector<Tensor> grads;
  };
  auto run = [&](int threads) {
    set_num_threads(threads);
    auto mixer = make_mixer(spec);
    Outputs out;
    mixer->forward(x, out.y, nullptr);
    mixer->backward(r, out.dx);
    for (Param* p : mixer->params()) out.grads.push_back(p->grad);
    auto cache = mixer->make_cache(batch, seq_len + 1);
    mixer->forward(x, out.y_step, cache.get());
    mixer->step(time_slice(x, seq_len - 1), out.y_step, *cache);
    return out;
  };
  const Outputs one = run(1), two = run(2);
  set_num_threads(threads_before);
  CHECK(bit_identical(one.y, two.y));
  CHECK(bit_identical(one.dx, two.dx));
  CHECK(bit_identical(one.y_step, two.y_step));
  REQUIRE(one.grads.size() == two.grads.size());
  for (size_t i = 0; i < one.grads.size(); ++i) CHECK(bit_identical(one.grads[i], two.grads[i]));
}

// Two mixers that must compute the same function (one a special case of the other): on one random
// batch of shape x_shape, the same outputs and input gradients (1e-6) and parameter gradients (1e-5).
inline void check_mixers_agree(Mixer& a, Mixer& b, const Shape& x_shape, uint64_t seed) {
  Rng rng(seed);
  const Tensor x = random_tensor(x_shape, rng), r = random_tensor(x_shape, rng);
  Tensor y_a, y_b, dx_a, dx_b;
  a.forward(x, y_a, nullptr);
  b.forward(x, y_b, nullptr);
  a.backward(r, dx_a);
  b.backward(r, dx_b);
  CHECK(max_mixed_error(y_a, y_b) < 1e-6);
  CHECK(max_mixed_error(dx_a, dx_b) < 1e-6);
  const auto params_a = a.params(), params_b = b.params();
  REQUIRE(params_a.size() == params_b.size());
  for (size_t i = 0; i < params_a.size(); ++i) {
    INFO(params_a[i]->name);
    CHECK(max_mixed_error(params_a[i]->grad, params_b[i]->grad) < 1e-5);
  }
}

// The same for kernels: run(threads) sets the thread count, runs them and returns their outputs (float
// vectors), which must not change, bit for bit, from 1 to 2 threads. Restores the thread count it found.
template <class Run>
void check_kernels_thread_count_independent(const Run& run) {
  const int threads_before = num_threads();
  const auto one = run(1), two = run(2);
  set_num_threads(threads_before);
  REQUIRE(one.size() == two.size());
  for (size_t i = 0; i < one.size(); ++i) CHECK(one[i] == two[i]);
}

// backward() overwrites dx and accumulates parameter gradients: two forward+backward passes on
// the same batch leave twice the gradients of one and the same dx.
inline void check_backward_accumulates(const MixerSpec& spec, int batch, int seq_len, uint64_t seed) {
  INFO(describe(spec) << " batch=" << batch << " seq_len=" << seq_len << " data seed=" << seed);
  auto mixer = make_mixer(spec);
  Rng rng(seed);
  const Tensor x = random_tensor({batch, seq_len, spec.d_model}, rng);
  const Tensor r = random_tensor({batch, seq_len, spec.d_model}, rng);
  Tensor y, dx_once, dx_twice;
  for (Param* p : mixer->params()) p->grad.zero();
  mixer->forward(x, y, nullptr);
  mixer->backward(r, dx_once);
  std::vector<Tensor> once;
  for (Param* p : mixer->params()) once.push_back(p->grad);
  mixer->forward(x, y, nullptr);
  mixer->backward(r, dx_twice);
  CHECK(bit_identical(dx_once, dx_twice));
  const auto params = mixer->params();
  for (size_t i = 0; i < params.size(); ++i) {
    INFO("param " << params[i]->name);
    Tensor doubled = once[i];
    for (int64_t j = 0; j < doubled.numel(); ++j) doubled[j] *= 2.0f;
    CHECK(max_mixed_error(params[i]->grad, doubled) < 1e-5);
  }
}

// Same seed, same parameters; another seed, other parameters.
inline void check_initialisation_is_seeded(const MixerSpec& spec) {
  INFO(describe(spec));
  auto a = make_mixer(spec), b = make_mixer(spec);
  MixerSpec other = spec;
  other.seed = spec.seed + 1;
  auto c = make_mixer(other);
  const auto pa = a->params(), pb = b->params(), pc = c->params();
  REQUIRE(!pa.empty());
  REQUIRE(pa.size() == pb.size());
  bool any_differs = false;
  for (size_t i = 0; i < pa.size(); ++i) {
    CHECK(bit_identical(pa[i]->value, pb[i]->value));
    any_differs = any_differs || !bit_identical(pa[i]->value, pc[i]->value);
  }
  CHECK(any_differs);
}

struct ForeignCache : CopyableCache<ForeignCache> {};

// Wrong input shapes and a cache of another type are rejected with std::invalid_argument.
inline void check_rejects_bad_inputs(const MixerSpec& spec) {
  INFO(describe(spec));
  auto mixer = make_mixer(spec);
  Tensor y;
  CHECK_THROWS_AS(mixer->forward(Tensor({2, spec.d_model}), y, nullptr), std::invalid_argument);
  CHECK_THROWS_AS(mixer->forward(Tensor({1, 3, spec.d_model + 1}), y, nullptr), std::invalid_argument);
  CHECK_THROWS_AS(mixer->forward(Tensor({1, 0, spec.d_model}), y, nullptr), std::invalid_argument);
  auto cache = mixer->make_cache(2, 4);
  CHECK_THROWS_AS(mixer->step(Tensor({2, 3, spec.d_model}), y, *cache), std::invalid_argument);
  CHECK_THROWS_AS(mixer->step(Tensor({3, spec.d_model}), y, *cache), std::invalid_argument);
  ForeignCache foreign;
  CHECK_THROWS_AS(mixer->step(Tensor({2, spec.d_model}), y, foreign), std::invalid_argument);
  CHECK_THROWS_AS(mixer->forward(Tensor({2, 3, spec.d_model}), y, &foreign), std::invalid_argument);
}

// Every backend names its unknown params and rejects shapes whose heads do not divide d_model.
inline void check_rejects_bad_specs(const MixerSpec& spec) {
  INFO(describe(spec));
  MixerSpec unknown_key = spec;
  unknown_key.params["no_such_param"] = 1;
  CHECK_THROWS_WITH(make_mixer(unknown_key), Catch::Matchers::Contains("no_such_param"));
  MixerSpec bad_heads = spec;
  bad_heads.d_model = 10;
  bad_heads.n_heads = 3;
  CHECK_THROWS_AS(make_mixer(bad_heads), std::invalid_argument);
  CHECK_THROWS_WITH(make_mixer(bad_heads), Catch::Matchers::Contains("10") && Catch::Matchers::Contains("3"));
}

}  // namespace mixer_checks
}  // namespace seqbench
