// What a task's token ids mean, for a model outside seqbench; `seqbench dataset export` writes
// it beside the data (tasks/split_export.h). Two kinds:
//   {"kind": "words", "size": N, "tokens": ["<pad>", "0", ...]}
//       word-token tasks: id i is the string tokens[i], so a text model can read and write them;
//   {"kind": "ids", "size": N, "ranges": [{"role": "key", "first": 1, "last": 4095}, ...],
//    "special": {"BOS": 1, ...}, "note": "..."}
//       numeric-token tasks: the role of each id range (first and last included), the special
//       ids, and what the ranges do not say (filler, unused ids).
#pragma once
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace seqbench {

struct TokenRange {
  std::string role;
  int64_t first;
  int64_t last;  // included
};

// The built-in word vocabulary (datasets/word_vocabulary.h) of the text tasks.
nlohmann::json word_token_vocabulary();

nlohmann::json id_token_vocabulary(int64_t size, const std::vector<TokenRange>& ranges, const nlohmann::json& special,
                                   const std::string& note);

// The note on the filler of MQAR-style query regions: 0, or uniform random ids.
std::string query_filler_note(bool random_non_queries, int64_t vocab_size);

}  // namespace seqbench
