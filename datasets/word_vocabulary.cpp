#include "datasets/word_vocabulary.h"

#include <stdexcept>
#include <unordered_map>

namespace seqbench {
namespace {

// The sections in id order. Append new words at the very end only: ids must never move.
const char* const kPunctuation[] = {".", ",", ":", "?", "!", "-", "'", ";", "(", ")", "\""};

// Every word of the passkey (Mohtashami & Jaggi 2023) and RULER needle templates and filler.
const char* const kTemplateWords[] = {
    "there", "is", "an", "important", "info", "hidden", "inside", "a", "lot", "of", "irrelevant", "text",
    "find", "it", "and", "memorize", "them", "i", "will", "quiz", "you", "about", "the", "information",
    "grass", "green", "sky", "blue", "sun", "yellow", "here", "we", "go", "back", "again", "pass",
    "key", "remember", "what", "some", "special", "magic", "numbers", "number", "are", "within",
    "following", "make", "sure", "to", "afterwards", "one", "for", "mentioned", "in", "provided", "all"};

// Needle keys are "adjective-noun" pairs, as RULER's wonderwords keys are ("jittery-hospital").
const char* const kKeyAdjectives[] = {
    "jittery", "ancient", "brave", "calm", "clever", "curious", "eager", "fancy", "gentle", "giant",
    "happy", "hollow", "humble", "icy", "jolly", "lazy", "lively", "loud", "lucky", "mighty",
    "modern", "nervous", "noisy", "odd", "polite", "proud", "quiet", "rapid", "rare", "rusty",
    "shiny", "silent", "silly", "sleepy", "smooth", "sneaky", "soft", "sour", "spicy", "steady",
    "sticky", "stormy", "sturdy", "swift", "tame", "tender", "tidy", "tiny", "vivid", "wacky",
    "warm", "wicked", "wild", "windy", "wise", "witty", "wooden", "young", "zany", "bitter"};

const char* const kKeyNouns[] = {
    "hospital", "anchor", "apple", "badge", "barn", "basket", "beacon", "bicycle", "blanket", "bottle",
    "bridge", "bucket", "cabin", "camera", "candle", "canyon", "castle", "cellar", "chimney", "compass",
    "cottage", "crystal", "desert", "dragon", "engine", "falcon", "feather", "forest", "garden", "glacier",
    "hammer", "harbor", "helmet", "island", "jacket", "kettle", "ladder", "lantern", "lemon", "library",
    "meadow", "mirror", "mountain", "orchard", "oyster", "palace", "pencil", "pepper", "pillow", "planet",
    "puzzle", "rabbit", "river", "rocket", "saddle", "scarf", "shovel", "temple", "tunnel", "violin"};

// Common English words (none of the above) for noise haystacks.
const char* const kCommonWords[] = {
    "people", "time", "year", "way", "day", "man", "woman", "child", "world", "life", "hand", "part",
    "place", "case", "week", "company", "system", "program", "question", "work", "government", "home",
    "water", "room", "mother", "area", "money", "story", "fact", "month", "right", "study", "book", "eye",
    "job", "word", "business", "issue", "side", "kind", "head", "house", "service", "friend", "father",
    "power", "hour", "game", "line", "end", "member", "law", "car", "city", "community", "name", "team",
    "minute", "idea", "kid", "body", "face", "others", "level", "office", "door", "health", "person",
    "art", "war", "history", "party", "result", "morning", "reason", "research", "girl", "guy", "moment",
    "air", "teacher", "education", "be", "have", "do", "say", "get", "know", "think", "take", "see",
    "come", "want", "look", "use", "give", "tell", "call", "try", "ask", "need", "feel", "become",
    "leave", "put", "mean", "keep", "let", "begin", "seem", "help", "talk", "turn", "start", "show",
    "hear", "play", "run", "move", "like", "live", "believe", "hold", "bring", "happen", "write",
    "provide", "sit", "stand", "lose", "pay", "meet", "include", "continue", "set", "learn", "change",
    "lead", "understand", "watch", "follow", "stop", "create", "speak", "read", "spend", "grow", "open",
    "walk", "win", "offer", "love", "consider", "appear", "buy", "wait", "serve", "send", "expect",
    "build", "stay", "fall", "cut", "reach", "raise", "sell", "decide", "return", "explain", "hope",
    "develop", "carry", "break", "receive", "agree", "support", "hit", "produce", "eat", "cover", "catch",
    "draw", "choose", "good", "new", "first", "last", "long", "great", "little", "own", "other", "old",
    "big", "high", "different", "small", "large", "next", "early", "few", "public", "bad", "same",
    "able", "late", "hard", "major", "better", "best", "free", "true", "whole", "clear", "easy",
    "strong", "possible", "full", "simple", "recent", "local", "dark", "short", "cold", "hot", "very",
    "often", "still", "never", "always", "also", "just", "only", "well", "even", "now", "then", "today",
    "soon", "maybe", "perhaps", "almost", "together", "nearly", "with", "from", "by", "on", "at", "as",
    "but", "or", "not", "this", "that", "these", "those", "they", "he", "she", "his", "her", "their",
    "our", "my", "your", "who", "which", "when", "where", "why", "how", "if", "because", "so", "than",
    "into", "over", "after", "before", "under", "between", "through", "during", "without", "while",
    "each", "every", "many", "much", "more", "most", "any", "no", "yes", "can", "could", "would",
    "should", "may", "might", "must", "was", "were", "been", "has", "had", "did", "does", "being", "up",
    "down", "out", "off", "table", "chair", "window", "street", "road", "school", "music", "letter",
    "paper", "food", "bread", "milk", "tree", "flower", "stone", "sea", "rain", "snow", "wind", "fire",
    "night", "evening", "summer", "winter", "spring", "autumn", "horse", "dog", "cat", "bird", "fish",
    "boat", "train", "ship", "plane", "field", "hill", "village", "market", "shop", "kitchen"};

struct Vocabulary {
  std::vector<std::string> tokens;
  std::unordered_map<std::string, int32_t> ids;
  std::vector<int32_t> adjectives, nouns, common;
  int32_t punctuation_begin = 0, punctuation_end = 0;

  template <size_t N>
  void add_section(const char* const (&words)[N], std::vector<int32_t>* group) {
    for (const char* word : words) {
      const auto id = static_cast<int32_t>(tokens.size());
      // A repeated word would give two ids one text; the list is data, so check it here.
      if (!ids.emplace(word, id).second)
        throw std::logic_error(std::string("word vocabulary lists '") + word + "' twice");
      tokens.emplace_back(word);
      if (group) group->push_back(id);
    }
  }

  Vocabulary() {
    tokens.emplace_back("<pad>");
    ids.emplace("<pad>", kWordPadToken);
    for (int d = 0; d < 10; ++d) {
      tokens.push_back(std::to_string(d));
      ids.emplace(tokens.back(), static_cast<int32_t>(tokens.size() - 1));
    }
    punctuation_begin = static_cast<int32_t>(tokens.size());
    add_section(kPunctuation, nullptr);
    punctuation_end = static_cast<int32_t>(tokens.size());
    add_section(kTemplateWords, nullptr);
    add_section(kKeyAdjectives, &adjectives);
    add_section(kKeyNouns, &nouns);
    add_section(kCommonWords, &common);
  }
};

const Vocabulary& vocabulary() {
  static const Vocabulary v;
  return v;
}

}  // namespace

const std::vector<std::string>& word_vocabulary() { return vocabulary().tokens; }

int32_t word_vocabulary_size() { return static_cast<int32_t>(vocabulary().tokens.size()); }

int32_t word_token_id(const std::string& token) {
  const auto& ids = vocabulary().ids;
  const auto it = ids.find(token);
  if (it == ids.end())
    throw std::invalid_argument("word '" + token + "' is not in the built-in word vocabulary (" +
                                std::to_string(ids.size()) + " tokens, datasets/word_vocabulary.cpp)");
  return it->second;
}

bool is_word_token(const std::string& token) { return vocabulary().ids.count(token) > 0; }

bool is_punctuation_token(int32_t id) {
  return id >= vocabulary().punctuation_begin && id < vocabulary().punctuation_end;
}

const std::vector<int32_t>& key_adjective_tokens() { return vocabulary().adjectives; }
const std::vector<int32_t>& key_noun_tokens() { return vocabulary().nouns; }
const std::vector<int32_t>& noise_word_tokens() { return vocabulary().common; }

}  // namespace seqbench
