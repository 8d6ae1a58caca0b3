// exp and log1p eight floats at a time (GCC vector extensions, AVX2 under -march=x86-64-v3) for the
// decay factors and gates: Cephes' expf (x = n ln2 + r, degree-6 polynomial for e^r, 2^n built in
// the exponent bits) and logf (x = m 2^e, m in [sqrt(1/2), sqrt(2)), polynomial in m - 1) by S. Moshier.
// Checked against std::exp / std::log1p (relative error < 1e-6) in mixers/gla/test_gla.cpp.
#pragma once
#include <cstdint>
#include <cstring>

namespace seqbench {

typedef float SimdFloat8 __attribute__((vector_size(32)));
typedef int32_t SimdInt8 __attribute__((vector_size(32)));

// Eight floats from and to memory of any alignment.
inline SimdFloat8 simd_load8(const float* p) {
  SimdFloat8 v;
  std::memcpy(&v, p, sizeof(v));
  return v;
}
inline void simd_store8(float* p, SimdFloat8 v) { std::memcpy(p, &v, sizeof(v)); }

// The same bits read as another vector type (GCC vector casts would do it too; memcpy states it).
template <class To, class From>
inline To simd_bits_as(const From& v) {
  static_assert(sizeof(To) == sizeof(From), "same-size vectors only");
  To out;
  std::memcpy(&out, &v, sizeof(out));
  return out;
}

// Written with explicit vectors because GCC does not vectorise std::exp without -ffast-math, and
// turns the range clamps of a scalar version into branches that stop its vectoriser.
// e^x, exactly 0 below -87 (a decay that has run out, not a denormal), saturating at e^88.
inline SimdFloat8 simd_exp8(SimdFloat8 x) {
  const SimdFloat8 lowest = SimdFloat8{} - 87.0f, highest = SimdFloat8{} + 88.0f;
  SimdFloat8 xc = x < lowest ? lowest : x;
  xc = xc > highest ? highest : xc;
  // Adding 1.5 * 2^23 rounds to an integer held in the low mantissa bits: n without a conversion.
  const float round_shift = 12582912.0f;
  int32_t round_shift_bits;
  std::memcpy(&round_shift_bits, &round_shift, sizeof(round_shift_bits));
  const SimdFloat8 shifted = xc * 1.44269504088896341f + round_shift;
  const SimdFloat8 n = shifted - round_shift;
  // ln2 split into a part exact in float and a correction, so r keeps its low bits.
  const SimdFloat8 r = xc - n * 0.693359375f + n * 2.12194440e-4f;
  SimdFloat8 p = r * 1.9875691500e-4f + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  const SimdInt8 two_to_n = ((simd_bits_as<SimdInt8>(shifted) - round_shift_bits) + 127) << 23;
  const SimdFloat8 result = p * simd_bits_as<SimdFloat8>(two_to_n);
  const SimdFloat8 zero{};
  return x < -87.0f ? zero : result;
}

// log(1 + u) for u > -1 (normal 1 + u); the rounding of w = 1 + u is corrected, so tiny u keep
// their digits: log1p(u) = log(w) + (u - (w - 1)) / w.
inline SimdFloat8 simd_log1p8(SimdFloat8 u) {
  const SimdFloat8 w = u + 1.0f;
  const SimdInt8 bits = simd_bits_as<SimdInt8>(w);
  SimdInt8 exponent = ((bits >> 23) & 0xff) - 127;
  const SimdInt8 mantissa_bits = (bits & 0x007fffff) | 0x3f800000;
  SimdFloat8 m = simd_bits_as<SimdFloat8>(mantissa_bits);  // in [1, 2)
  const SimdInt8 big = m > 1.41421356f;
  m = big ? m * 0.5f : m;  // now in [sqrt(1/2), sqrt(2))
  exponent = big ? exponent + 1 : exponent;
  const SimdFloat8 e = __builtin_convertvector(exponent, SimdFloat8);
  const SimdFloat8 f = m - 1.0f;
  const SimdFloat8 z = f * f;
  SimdFloat8 p = f * 7.0376836292e-2f - 1.1514610310e-1f;
  p = p * f + 1.1676998740e-1f;
  p = p * f - 1.2420140846e-1f;
  p = p * f + 1.4249322787e-1f;
  p = p * f - 1.6668057665e-1f;
  p = p * f + 2.0000714765e-1f;
  p = p * f - 2.4999993993e-1f;
  p = p * f + 3.3333331174e-1f;
  const SimdFloat8 log_w = f + (f * z * p - 2.12194440e-4f * e - 0.5f * z) + 0.693359375f * e;
  return log_w + (u - (w - 1.0f)) / w;
}

// y[i] = f(x[i]) for i < n, eight at a time (the tail padded with zeros); y may be x.
template <class Function8>
void simd_map(const float* x, float* y, int64_t n, Function8 f) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    SimdFloat8 v;
    std::memcpy(&v, x + i, sizeof(v));
    v = f(v);
    std::memcpy(y + i, &v, sizeof(v));
  }
  if (i == n) return;
  SimdFloat8 v{};
  std::memcpy(&v, x + i, static_cast<size_t>(n - i) * sizeof(float));
  v = f(v);
  std::memcpy(y + i, &v, static_cast<size_t>(n - i) * sizeof(float));
}

inline void simd_exp_array(const float* x, float* y, int64_t n) { simd_map(x, y, n, simd_exp8); }
inline void simd_log1p_array(const float* x, float* y, int64_t n) { simd_map(x, y, n, simd_log1p8); }

// One value: the same arithmetic as the arrays, so a decode step matches the chunked form.
inline float simd_exp(float x) { return simd_exp8(SimdFloat8{} + x)[0]; }

}  // namespace seqbench
