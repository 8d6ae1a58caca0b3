// KIVI-style KV quantisation (Liu et al. 2024, "KIVI: A Tuning-Free Asymmetric 2bit Quantization
// for KV Cache", Sec. 3.3 and Alg. 1; MInference minference/modules/kivi.py): keys quantised per
// channel over groups of `residual` tokens, values per token (over each head's channels),
// asymmetric min/max quantisation to 2^bits - 1 levels, the most recent tokens kept in full
// precision: keys until a group of `residual` is complete, values for the last `residual` tokens.
// Stored here as the dequantised floats (simulated quantisation, as KIVI's accuracy runs do);
// the bytes counted are those of the packed codes plus an fp16 scale and minimum per group.
// Checked against hand-computed codes in tests/test_kv_policies.cpp.
#pragma once
#include <cstdint>

namespace seqbench {

struct KiviSettings {
  int bits = 2;
  int64_t residual = 16;
};

// x <- min + scale * round((x - min) / scale), scale = (max - min) / (2^bits - 1), over `count`
// floats `stride` apart (a constant group dequantises to itself).
void fake_quantize_group(float* x, int64_t count, int64_t stride, int bits);

// Tokens quantised when `used` are cached: keys in complete groups, values all but the residual.
struct KiviSplit {
  int64_t keys = 0, values = 0;
};
KiviSplit kivi_quantized_tokens(int64_t used, const KiviSettings& settings);

// Bytes per sequence of one layer's cache of `used` tokens of d_model = heads * head_dim floats:
// packed codes, an fp16 scale and minimum per key group and channel and per value token and head,
// and fp32 for the full-precision tokens.
double kivi_bytes(int64_t used, int64_t heads, int64_t head_dim, const KiviSettings& settings);

}  // namespace seqbench
