// A small built-in word-level vocabulary for the text tasks (passkey, needle): a pad token, the
// digits 0-9 as separate tokens (so a number is one token per digit and a model can copy it
// digit by digit), punctuation, the words of the task templates, the adjectives and nouns that
// needle keys are made of, and a few hundred common English words for noise haystacks.
//
// Ids are stable: new words are only ever appended (at the end of the list in
// word_vocabulary.cpp), so stored datasets and checkpoints keep their meaning.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace seqbench {

constexpr int32_t kWordPadToken = 0;   // "<pad>"
constexpr int32_t kFirstDigitToken = 1;  // "0" .. "9" are ids 1 .. 10

// Token text by id ("<pad>" for id 0, "0".."9", ".", "the", ...). Every entry is distinct.
const std::vector<std::string>& word_vocabulary();
int32_t word_vocabulary_size();

// The id of one token (lower case); throws std::invalid_argument naming the token when it is
// not in the vocabulary.
int32_t word_token_id(const std::string& token);
bool is_word_token(const std::string& token);

inline int32_t digit_token(int digit) { return kFirstDigitToken + digit; }
inline bool is_digit_token(int32_t id) { return id >= kFirstDigitToken && id < kFirstDigitToken + 10; }
bool is_punctuation_token(int32_t id);

// Groups of ids the generators draw from (disjoint from each other and from the template words).
const std::vector<int32_t>& key_adjective_tokens();  // first half of a needle key: "jittery"
const std::vector<int32_t>& key_noun_tokens();       // second half: "hospital"
const std::vector<int32_t>& noise_word_tokens();     // common words for "noise" haystacks

}  // namespace seqbench
