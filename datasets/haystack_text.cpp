#include "datasets/haystack_text.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <stdexcept>
#include <string>

#include "datasets/token_dataset.h"
#include "datasets/word_tokenizer.h"
#include "datasets/word_vocabulary.h"

namespace seqbench {

const std::vector<int32_t>& filler_sentence_tokens() {
  static const std::vector<int32_t> tokens = tokenize_words(
      "The grass is green. The sky is blue. The sun is yellow. Here we go. There and back again.");
  return tokens;
}

Haystack make_haystack(HaystackKind kind, int64_t length, Rng& rng) {
  if (length < 0) throw std::invalid_argument("haystack length must be >= 0, got " + std::to_string(length));
  Haystack haystack;
  haystack.tokens.resize(static_cast<size_t>(length));
  if (kind == HaystackKind::noise) {
    const std::vector<int32_t>& words = noise_word_tokens();
    for (auto& token : haystack.tokens)
      token = words[static_cast<size_t>(rng.uniform_int(0, static_cast<int64_t>(words.size())))];
    haystack.insertion_points.resize(static_cast<size_t>(length + 1));
    std::iota(haystack.insertion_points.begin(), haystack.insertion_points.end(), int64_t{0});
    return haystack;
  }
  const std::vector<int32_t>& filler = filler_sentence_tokens();
  const int32_t full_stop = word_token_id(".");
  haystack.insertion_points.push_back(0);
  for (int64_t t = 0; t < length; ++t) {
    haystack.tokens[t] = filler[static_cast<size_t>(t) % filler.size()];
    if (haystack.tokens[t] == full_stop && t + 1 < length) haystack.insertion_points.push_back(t + 1);
  }
  if (length > 0) haystack.insertion_points.push_back(length);
  return haystack;
}

int64_t insertion_point_at_depth(const Haystack& haystack, double depth) {
  if (!(depth >= 0.0 && depth <= 1.0))
    throw std::invalid_argument("needle depth must be in [0, 1], got " + std::to_string(depth));
  const double target = depth * static_cast<double>(haystack.tokens.size());
  int64_t best = haystack.insertion_points.front();
  for (int64_t point : haystack.insertion_points)
    if (std::abs(static_cast<double>(point) - target) < std::abs(static_cast<double>(best) - target)) best = point;
  return best;
}

int64_t random_insertion_point(const Haystack& haystack, Rng& rng) {
  const auto count = static_cast<int64_t>(haystack.insertion_points.size());
  return haystack.insertion_points[static_cast<size_t>(rng.uniform_int(0, count))];
}

std::vector<int32_t> insert_needles(const Haystack& haystack, const std::vector<PlacedNeedle>& needles,
                                    std::vector<size_t>* order_in_text) {
  std::vector<size_t> order(needles.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return needles[a].position < needles[b].position; });
  size_t total = haystack.tokens.size();
  for (const auto& needle : needles) total += needle.tokens.size();
  std::vector<int32_t> out;
  out.reserve(total);
  int64_t copied = 0;
  for (size_t index : order) {
    const PlacedNeedle& needle = needles[index];
    if (needle.position < copied || needle.position > static_cast<int64_t>(haystack.tokens.size()))
      throw std::invalid_argument("needle position " + std::to_string(needle.position) +
                                  " is outside the haystack of " + std::to_string(haystack.tokens.size()) +
                                  " tokens");
    out.insert(out.end(), haystack.tokens.begin() + copied, haystack.tokens.begin() + needle.position);
    out.insert(out.end(), needle.tokens.begin(), needle.tokens.end());
    copied = needle.position;
  }
  out.insert(out.end(), haystack.tokens.begin() + copied, haystack.tokens.end());
  if (order_in_text) *order_in_text = std::move(order);
  return out;
}

void write_next_token_example(const std::vector<int32_t>& stream, const std::vector<char>& answer, int64_t seq_len,
                              int32_t* inputs, int32_t* labels) {
  if (static_cast<int64_t>(stream.size()) != seq_len + 1 || answer.size() != stream.size())
    throw std::logic_error("write_next_token_example: a stream of " + std::to_string(stream.size()) +
                           " tokens with an answer mask of " + std::to_string(answer.size()) + " for seq_len " +
                           std::to_string(seq_len) + " (expected seq_len + 1 of each)");
  for (int64_t p = 0; p < seq_len; ++p) {
    inputs[p] = stream[p];
    labels[p] = answer[p + 1] ? stream[p + 1] : kIgnoreLabel;
  }
}

}  // namespace seqbench
