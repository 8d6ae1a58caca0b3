// KIVI simulated quantisation and its byte count (kivi_quantizer.h).
#include "mixers/softmax/kv_policies/kivi_quantizer.h"

#include <algorithm>
#include <cmath>

namespace seqbench {

void fake_quantize_group(float* x, int64_t count, int64_t stride, int bits) {
  float lo = x[0], hi = x[0];
  for (int64_t i = 1; i < count; ++i) {
    lo = std::min(lo, x[i * stride]);
    hi = std::max(hi, x[i * stride]);
  }
  const float levels = static_cast<float>((1 << bits) - 1);
  const float scale = (hi - lo) / levels;
  if (!(scale > 0.0f)) return;
  for (int64_t i = 0; i < count; ++i) {
    const float code = std::min(levels, std::max(0.0f, std::nearbyint((x[i * stride] - lo) / scale)));
    x[i * stride] = lo + scale * code;
  }
}

KiviSplit kivi_quantized_tokens(int64_t used, const KiviSettings& s) {
  return {used / s.residual * s.residual, std::max<int64_t>(0, used - s.residual)};
}

double kivi_bytes(int64_t used, int64_t heads, int64_t head_dim, const KiviSettings& s) {
  const KiviSplit q = kivi_quantized_tokens(used, s);
  const double d = static_cast<double>(heads * head_dim), fp16 = 2.0, fp32 = 4.0;
  const double keys = q.keys * d * s.bits / 8.0 + static_cast<double>(q.keys / s.residual) * d * 2 * fp16 +
                      static_cast<double>(used - q.keys) * d * fp32;
  const double values = q.values * d * s.bits / 8.0 + static_cast<double>(q.values) * heads * 2 * fp16 +
                        static_cast<double>(used - q.values) * d * fp32;
  return keys + values;
}

}  // namespace seqbench
