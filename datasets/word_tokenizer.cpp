#include "datasets/word_tokenizer.h"

#include <cctype>
#include <stdexcept>

#include "datasets/word_vocabulary.h"

namespace seqbench {
namespace {

bool is_letter(char c) { return std::isalpha(static_cast<unsigned char>(c)) != 0; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_space(char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; }

// Marks written with no space before them.
bool closes(const std::string& token) {
  return token == "." || token == "," || token == ":" || token == ";" || token == "?" || token == "!" ||
         token == ")" || token == "'" || token == "\"" || token == "-";
}
// Marks written with no space after them.
bool opens(const std::string& token) { return token == "(" || token == "-" || token == "'" || token == "\""; }

}  // namespace

std::vector<int32_t> tokenize_words(const std::string& text) {
  std::vector<int32_t> ids;
  size_t i = 0;
  while (i < text.size()) {
    const char c = text[i];
    if (is_space(c)) {
      ++i;
    } else if (is_letter(c)) {
      std::string word;
      while (i < text.size() && is_letter(text[i]))
        word += static_cast<char>(std::tolower(static_cast<unsigned char>(text[i++])));
      ids.push_back(word_token_id(word));
    } else if (is_digit(c)) {
      ids.push_back(digit_token(c - '0'));
      ++i;
    } else {
      const std::string mark(1, c);
      if (!is_word_token(mark))
        throw std::invalid_argument("character '" + mark + "' at offset " + std::to_string(i) +
                                    " is not in the built-in word vocabulary");
      ids.push_back(word_token_id(mark));
      ++i;
    }
  }
  return ids;
}

std::string detokenize_words(const std::vector<int32_t>& ids) {
  const std::vector<std::string>& vocabulary = word_vocabulary();
  std::string text;
  for (size_t i = 0; i < ids.size(); ++i) {
    const int32_t id = ids[i];
    if (id < 0 || id >= static_cast<int32_t>(vocabulary.size()))
      throw std::invalid_argument("token id " + std::to_string(id) + " at index " + std::to_string(i) +
                                  " is outside the word vocabulary of size " +
                                  std::to_string(vocabulary.size()));
    const std::string& token = vocabulary[id];
    if (i > 0) {
      const bool joined = closes(token) || opens(vocabulary[ids[i - 1]]) ||
                          (is_digit_token(id) && is_digit_token(ids[i - 1]));
      if (!joined) text += ' ';
    }
    text += token;
  }
  return text;
}

}  // namespace seqbench
