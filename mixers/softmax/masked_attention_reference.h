// A plain reference for attention over a per-query key set, written without spans: two-pass
// softmax in double over the keys j with member(bh, i, j). The masked kernels are checked against
// it (outputs, log-sum-exp, and finite differences of it for backward).
#pragma once
#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <functional>
#include <vector>

#include "mixers/softmax/masked_attention.h"
#include "ops/rng.h"
#include "tests/finite_difference.h"
#include "tests/random_values.h"

namespace seqbench::masked_reference {

// Whether query i of (batch * heads + head) bh sees key j.
using KeyMember = std::function<bool(int64_t bh, int64_t i, int64_t j)>;

using testing::check_qkv_gradients;
using testing::normal_values;
using testing::widen;

// out [B, L, H, Dh], lse [B, H, L]; every query must see at least one key.
inline void attention(const std::vector<double>& q, const std::vector<double>& k, const std::vector<double>& v,
                      const AttentionShape& s, const KeyMember& member, std::vector<double>& out,
                      std::vector<double>& lse) {
  const int64_t H = s.heads, D = s.head_dim, L = s.seq_len;
  out.assign(q.size(), 0.0);
  lse.assign(static_cast<size_t>(s.batch * H * L), 0.0);
  auto at = [&](int64_t b, int64_t t, int64_t h) { return ((b * L + t) * H + h) * D; };
  std::vector<double> scores(static_cast<size_t>(L));
  for (int64_t b = 0; b < s.batch; ++b)
    for (int64_t h = 0; h < H; ++h)
      for (int64_t i = 0; i < L; ++i) {
        const int64_t bh = b * H + h;
        double max_score = -INFINITY;
        for (int64_t j = 0; j < L; ++j) {
          if (!member(bh, i, j)) continue;
          double dot = 0.0;
          for (int64_t d = 0; d < D; ++d) dot += q[at(b, i, h) + d] * k[at(b, j, h) + d];
          scores[j] = dot / std::sqrt(static_cast<double>(D));
          max_score = std::max(max_score, scores[j]);
        }
        double sum = 0.0;
        for (int64_t j = 0; j < L; ++j)
          if (member(bh, i, j)) sum += std::exp(scores[j] - max_score);
        for (int64_t j = 0; j < L; ++j) {
          if (!member(bh, i, j)) continue;
          const double p = std::exp(scores[j] - max_score) / sum;
          for (int64_t d = 0; d < D; ++d) out[at(b, i, h) + d] += p * v[at(b, j, h) + d];
        }
        lse[bh * L + i] = max_score + std::log(sum);
      }
}

// The kernel's forward against the reference: worst |out - ref| and worst mixed lse error.
inline void check_forward(const AttentionShape& s, const SpanTable& keys, const KeyMember& member, uint64_t seed,
                          double scale = 1.0, double tol = 1e-5) {
  Rng rng(seed);
  const int64_t n = s.batch * s.seq_len * s.heads * s.head_dim;
  const auto q = normal_values(n, rng, scale), k = normal_values(n, rng, scale), v = normal_values(n, rng);
  std::vector<float> out(n), lse(s.batch * s.heads * s.seq_len);
  MaskedAttentionKernels::cpu().fwd(q.data(), k.data(), v.data(), out.data(), lse.data(), keys, s);
  std::vector<double> ref_out, ref_lse;
  attention(widen(q), widen(k), widen(v), s, member, ref_out, ref_lse);
  double worst_out = 0.0, worst_lse = 0.0;
  for (size_t i = 0; i < out.size(); ++i) worst_out = std::max(worst_out, std::fabs(out[i] - ref_out[i]));
  for (size_t i = 0; i < lse.size(); ++i)
    worst_lse = std::max(worst_lse, std::fabs(lse[i] - ref_lse[i]) / (1.0 + std::fabs(ref_lse[i])));
  CHECK(worst_out < tol);
  CHECK(worst_lse < tol / 10);
}

// The kernel's backward against central differences (in double) of the reference's sum(out * dout).
inline void check_backward(const AttentionShape& s, const SpanTable& keys, const KeyMember& member, uint64_t seed) {
  Rng rng(seed);
  const int64_t n = s.batch * s.seq_len * s.heads * s.head_dim;
  const auto q = normal_values(n, rng), k = normal_values(n, rng), v = normal_values(n, rng);
  const auto dout = normal_values(n, rng);
  std::vector<float> out(n), lse(s.batch * s.heads * s.seq_len), dq(n), dk(n), dv(n);
  MaskedAttentionKernels::cpu().fwd(q.data(), k.data(), v.data(), out.data(), lse.data(), keys, s);
  MaskedAttentionKernels::cpu().bwd(q.data(), k.data(), v.data(), lse.data(), dout.data(), dq.data(), dk.data(), dv.data(), keys,
                           s);
  check_qkv_gradients(q, k, v, dout, dq, dk, dv, [&](const auto& a, const auto& b, const auto& c) {
    std::vector<double> o, l;
    attention(a, b, c, s, member, o, l);
    return o;
  });
}

}  // namespace seqbench::masked_reference
