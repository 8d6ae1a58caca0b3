// Haystacks for the text retrieval tasks (passkey, needle) and the placing of needles in them.
//
// A "filler" haystack repeats the sentence block of Mohtashami & Jaggi 2023 (also RULER's "repeat"
// haystack): "The grass is green. The sky is blue. The sun is yellow. Here we go. There and back
// again." -- cut to the length needed, so the last sentence may be partial. Needles go between
// sentences, as RULER inserts them. A "noise" haystack is uniform random common words
// (word_vocabulary.h's noise_word_tokens, never a template or key word); needles may go anywhere.
#pragma once
#include <cstdint>
#include <vector>

#include "ops/rng.h"

namespace seqbench {

enum class HaystackKind { filler, noise };

const std::vector<int32_t>& filler_sentence_tokens();  // the five sentences, tokenised

struct Haystack {
  std::vector<int32_t> tokens;
  // Offsets where a needle may be inserted, ascending; always holds 0 and tokens.size().
  std::vector<int64_t> insertion_points;
};

Haystack make_haystack(HaystackKind kind, int64_t length, Rng& rng);

// The insertion point nearest depth * size (depth in [0, 1]; ties go to the earlier point), so
// depth 0 is the start of the haystack and depth 1 its end.
int64_t insertion_point_at_depth(const Haystack& haystack, double depth);
// A uniformly random insertion point (RULER draws needle depths at random).
int64_t random_insertion_point(const Haystack& haystack, Rng& rng);

struct PlacedNeedle {
  int64_t position = 0;  // an insertion point of the haystack
  std::vector<int32_t> tokens;
};

// The haystack with every needle spliced in at its position; needles at the same position keep
// their order in `needles`. order_in_text (if given) receives, for each needle in text order,
// its index in `needles`.
std::vector<int32_t> insert_needles(const Haystack& haystack, const std::vector<PlacedNeedle>& needles,
                                    std::vector<size_t>* order_in_text = nullptr);

// Next-token form of one example: `stream` must have seq_len + 1 tokens; inputs =
// stream[0..seq_len), and the label at position p is stream[p + 1] when answer[p + 1] is set,
// kIgnoreLabel otherwise (the model must emit the answer token after reading everything before
// it). Throws std::logic_error when the stream's length is not seq_len + 1 (a generator bug).
void write_next_token_example(const std::vector<int32_t>& stream, const std::vector<char>& answer, int64_t seq_len,
                              int32_t* inputs, int32_t* labels);

}  // namespace seqbench
