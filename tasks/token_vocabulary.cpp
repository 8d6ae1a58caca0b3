#include "tasks/token_vocabulary.h"

#include "datasets/word_vocabulary.h"

namespace seqbench {

nlohmann::json word_token_vocabulary() {
  return {{"kind", "words"}, {"size", word_vocabulary_size()}, {"tokens", word_vocabulary()}};
}

nlohmann::json id_token_vocabulary(int64_t size, const std::vector<TokenRange>& ranges, const nlohmann::json& special,
                                   const std::string& note) {
  nlohmann::json listed = nlohmann::json::array();
  for (const TokenRange& range : ranges)
    listed.push_back({{"role", range.role}, {"first", range.first}, {"last", range.last}});
  return {{"kind", "ids"},
          {"size", size},
          {"ranges", listed},
          {"special", special.is_null() ? nlohmann::json::object() : special},
          {"note", note}};
}

std::string query_filler_note(bool random_non_queries, int64_t vocab_size) {
  return random_non_queries ? "positions between queries hold uniform random ids in [0, " +
                                  std::to_string(vocab_size) + "), which may repeat a key or value"
                            : "positions between queries hold 0";
}

}  // namespace seqbench
