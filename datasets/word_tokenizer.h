// Text <-> token ids over the built-in word vocabulary (datasets/word_vocabulary.h).
//
// Tokenizing lower-cases the text, splits it on whitespace, makes every punctuation mark and
// every digit a token of its own ("12345." -> 1 2 3 4 5 .), and looks up each run of letters as
// one word. Detokenizing joins tokens with spaces except inside numbers, before closing marks
// (. , : ; ? ! ) ' ") and around "-" ("jittery-hospital"), so tokenize(detokenize(ids)) == ids for
// every id sequence without the pad token.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace seqbench {

// Throws std::invalid_argument naming the first unknown word or character.
std::vector<int32_t> tokenize_words(const std::string& text);
// Throws std::invalid_argument for an id outside the vocabulary.
std::string detokenize_words(const std::vector<int32_t>& ids);

}  // namespace seqbench
