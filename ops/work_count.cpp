#include "ops/work_count.h"

#include <algorithm>
#include <stdexcept>
#include <string>

namespace seqbench {
namespace {

constexpr double kBackwardFactor = 2.5;  // FlashAttention's count of a backward pass

void require_positive(int64_t value, const char* what) {
  if (value < 1) throw std::invalid_argument(std::string("work count: ") + what + " must be >= 1, got " +
                                             std::to_string(value));
}

}  // namespace

WorkCount matmul_work(int64_t m, int64_t n, int64_t k, int64_t element_bytes, WorkPass pass) {
  const double mk = double(m) * k, kn = double(k) * n, mn = double(m) * n, e = double(element_bytes);
  if (pass == WorkPass::backward) return {4.0 * mn * k, (2 * mk + 2 * kn + mn) * e};
  return {2.0 * mn * k, (mk + kn + mn) * e};
}

WorkCount attention_work(const AttentionWorkShape& s, WorkPass pass) {
  require_positive(s.keys_per_query, "keys_per_query");
  const double L = double(s.seq_len), W = std::min(double(s.keys_per_query), L);
  const double bh = double(s.batch) * s.heads, e = double(s.element_bytes), D = double(s.head_dim);
  if (pass == WorkPass::decode_step)  // q against W cached keys and values; q read, o written
    return {4.0 * bh * W * D, (2.0 * W * D + 2.0 * D) * bh * e};
  const double pairs = W * L - W * W / 2;  // = L^2/2 when the window covers the sequence
  const double forward_flops = 4.0 * bh * D * pairs, tensor = bh * L * D * e;
  if (pass == WorkPass::backward) return {kBackwardFactor * forward_flops, 8.0 * tensor};  // q k v o dO; dq dk dv
  return {forward_flops, 4.0 * tensor};                                                   // q k v; o
}

WorkCount chunked_scan_work(const ScanWorkShape& s, WorkPass pass) {
  require_positive(s.chunk, "chunk");
  require_positive(s.qk_heads, "qk_heads");
  const double K = double(s.key_dim), V = double(s.value_dim), H = double(s.heads), e = double(s.element_bytes);
  const double beta = s.delta_rule ? 1.0 : 0.0;
  // Per token: inputs q, k (per q/k head), v, gates, beta; the output o.
  const double inputs = 2.0 * s.qk_heads * K + H * (V + double(s.gate_width) + beta), output = H * V;
  if (pass == WorkPass::decode_step) {
    const double state = double(s.batch) * H * K * V;
    const double flops = (4.0 + 2.0 * beta) * state;  // delta: the prediction S^T k as well
    return {flops, 2.0 * state * s.state_element_bytes + double(s.batch) * (inputs + output) * e};
  }
  const double C = double(std::min(s.chunk, s.seq_len)), tokens = double(s.batch) * s.seq_len;
  double per_token = 2.0 * C * (K + V) + 4.0 * K * V;
  if (s.delta_rule) per_token += 2.0 * C * K + 2.0 * C * (K + V) + 2.0 * K * V;
  const double forward_flops = tokens * H * per_token;
  if (pass == WorkPass::backward)  // reads the inputs and dO, writes a gradient per input
    return {kBackwardFactor * forward_flops, tokens * (2.0 * inputs + output) * e};
  return {forward_flops, tokens * (inputs + output) * e};
}

}  // namespace seqbench
