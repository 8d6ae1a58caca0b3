// Needle in a haystack with RULER's variants (Hsieh et al. 2024, "RULER: What's the Real Context
// Size of Your Long-Context Language Models?", NVIDIA/RULER scripts/data/synthetic/niah.py), over
// the built-in word vocabulary.
//
// A needle is RULER's sentence "One of the special magic numbers for <key> is: <value>." with an
// adjective-noun key ("jittery-hospital", as RULER's wonderwords keys) and a value_digits-digit
// number (first digit 1-9) written one token per digit. Variants (RULER's num_needle_k/v/q):
//   single      one needle; its key is asked (k=1, v=1, q=1)
//   multikey    num_needles needles with distinct keys; one is asked, the rest distract (k=n, q=1)
//   multivalue  num_needles needles with one key and different values; all values must be
//               produced (v=n)
//   multiquery  num_needles needles with distinct keys; all keys are asked (k=n, q=n)
// The stream is RULER's template: the instruction ("Some special magic numbers are hidden within
// the following text. Make sure to memorize it. I will quiz you about the numbers afterwards.";
// singular when one value is asked), the haystack with the needles, the question ("What are all
// the special magic numbers for <k1>, <k2>, and <k3> mentioned in the provided text? The special
// magic numbers for <...> mentioned in the provided text are") and the answer values, separated by
// ", ". Only the digits of the answer are labelled (next-token form, teacher forced).
//
// Placement: the needle asked first (for multivalue: one of the key's needles) goes at `depth`;
// the others at uniformly random insertion points, as RULER places all of them. Answer order:
// multiquery answers follow the order the keys are asked in (a random order, as RULER samples the
// queries); multivalue values must come in the order they appear in the text. RULER scores values
// in any order; a teacher-forced label needs one order, and text order is the one the input fixes.
// Haystacks: "filler" is RULER's "repeat" haystack (the same sentences as passkey); "noise" is
// random common words (RULER's essay haystack needs a corpus; this needs nothing downloaded).
#pragma once
#include <cstdint>
#include <optional>
#include <string>

#include "datasets/haystack_text.h"
#include "datasets/token_dataset.h"

namespace seqbench {

enum class NeedleVariant { single, multikey, multivalue, multiquery };

// "single" -> NeedleVariant::single, ...; throws std::invalid_argument listing the variants.
NeedleVariant parse_needle_variant(const std::string& name);
HaystackKind parse_haystack_kind(const std::string& name);  // "filler" | "noise"

struct NeedleParams {
  NeedleVariant variant = NeedleVariant::single;
  HaystackKind haystack = HaystackKind::filler;
  int seq_len = 256;
  std::optional<double> depth = 0.5;  // fraction in [0, 1]; nullopt: uniform random per example
  int num_needles = 4;                // RULER's 4; multikey/multivalue/multiquery only
  int value_digits = 7;               // RULER's 7-digit numbers
  bool instruction = true;
};

int needle_min_seq_len(const NeedleParams& params);  // with an empty haystack
void validate_needle_params(const NeedleParams& params);

// Example i depends only on (params, seed, i): it uses the stream Rng::derive(seed, i).
TokenDataset generate_needle(const NeedleParams& params, int64_t num_examples, uint64_t seed);

}  // namespace seqbench
