// Pieces of the text retrieval streams (passkey, needle): appending a run of tokens, and the
// random number an example hides and asks for, written one token per digit.
#pragma once
#include <cstdint>
#include <vector>

#include "ops/rng.h"

namespace seqbench {

void append_tokens(std::vector<int32_t>& out, const std::vector<int32_t>& tokens);

// `digits` digit tokens, the first 1-9 (so the number has exactly that many digits) and the rest
// 0-9; one draw per digit, in order.
std::vector<int32_t> draw_number_tokens(int digits, Rng& rng);

}  // namespace seqbench
