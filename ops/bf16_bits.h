// bf16 <-> fp32 on the host, bit for bit what the GPU's __float2bfloat16 (round to nearest even) and
// __bfloat162float do: bf16 is the top half of an fp32. Checked in tests/test_matmul.cpp.
#pragma once
#include <cstdint>
#include <cstring>

namespace seqbench {

inline uint16_t float_to_bf16_bits(float x) {
  uint32_t bits;
  std::memcpy(&bits, &x, sizeof bits);
  if ((bits & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((bits >> 16) | 0x40u);  // quiet NaN
  const uint32_t lsb = (bits >> 16) & 1u;  // ties go to the even neighbour
  return static_cast<uint16_t>((bits + 0x7fffu + lsb) >> 16);
}

inline float bf16_bits_to_float(uint16_t b) {
  const uint32_t bits = static_cast<uint32_t>(b) << 16;
  float x;
  std::memcpy(&x, &bits, sizeof x);
  return x;
}

}  // namespace seqbench
