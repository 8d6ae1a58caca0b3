// SCBench Retr.Prefix-Suffix sessions (scenario_generators.h): strings `p.. m.. s.. ,`; a question
// `QUERY p.. s.. :` is answered by the middle m.. of the one string with that prefix and that
// suffix. With distractors, each asked string has a neighbour sharing only its prefix and one
// sharing only its suffix, so neither half of the question alone finds the answer. Every (prefix,
// suffix) pair occurs once. Checked in tests/test_scenario_sessions.cpp.
#include <algorithm>
#include <cmath>
#include <set>
#include <stdexcept>
#include <string>

#include "datasets/scenarios/scenario_generators.h"
#include "datasets/scenarios/scenario_tokens.h"

namespace seqbench {
namespace {

using namespace scenario_tokens;

struct Str {
  std::vector<int32_t> prefix, middle, suffix;
};

void require(bool ok, const std::string& what) {
  if (!ok) throw std::invalid_argument("prefix_suffix: " + what);
}

int strings_per_asked(const PrefixSuffixParams& p) { return p.distractors ? 3 : 1; }

}  // namespace

void validate_prefix_suffix_params(const PrefixSuffixParams& p) {
  require(p.prefix_tokens >= 1 && p.middle_tokens >= 1 && p.suffix_tokens >= 1,
          "prefix_tokens, middle_tokens and suffix_tokens must be >= 1");
  require(p.num_symbols >= 2, "num_symbols must be >= 2, got " + std::to_string(p.num_symbols));
  require(p.num_turns >= 1, "num_turns must be >= 1, got " + std::to_string(p.num_turns));
  require(p.num_turns * strings_per_asked(p) <= p.num_strings,
          "num_strings " + std::to_string(p.num_strings) + " cannot hold " + std::to_string(p.num_turns) +
              " asked strings" + (p.distractors ? " and their two distractors each" : ""));
  const double pairs = std::pow(static_cast<double>(p.num_symbols), p.prefix_tokens + p.suffix_tokens);
  const double halves = std::pow(static_cast<double>(p.num_symbols), std::min(p.prefix_tokens, p.suffix_tokens));
  require(2.0 * p.num_strings <= pairs && halves >= 2, "num_symbols " + std::to_string(p.num_symbols) +
                                                           " gives too few distinct prefixes and suffixes for " +
                                                           std::to_string(p.num_strings) + " strings");
}

int32_t prefix_suffix_vocab_size(const PrefixSuffixParams& p) { return kFirstSymbol + p.num_symbols; }

Session generate_prefix_suffix_session(const PrefixSuffixParams& p, Rng& rng) {
  auto tuple = [&](int width) { return draw_tuple(rng, width, kFirstSymbol, p.num_symbols); };
  std::set<std::pair<std::vector<int32_t>, std::vector<int32_t>>> used;
  std::vector<Str> strings;
  // A string is added only when its (prefix, suffix) pair is new, so every question has one answer.
  auto add = [&](Str s) {
    if (!used.insert({s.prefix, s.suffix}).second) return false;
    strings.push_back(std::move(s));
    return true;
  };
  for (int i = 0; i < p.num_turns; ++i)
    while (!add({tuple(p.prefix_tokens), tuple(p.middle_tokens), tuple(p.suffix_tokens)})) {
    }
  if (p.distractors)
    for (int i = 0; i < p.num_turns; ++i) {
      const Str asked = strings[i];
      while (!add({asked.prefix, tuple(p.middle_tokens), tuple(p.suffix_tokens)})) {
      }
      while (!add({tuple(p.prefix_tokens), tuple(p.middle_tokens), asked.suffix})) {
      }
    }
  while (static_cast<int>(strings.size()) < p.num_strings)
    add({tuple(p.prefix_tokens), tuple(p.middle_tokens), tuple(p.suffix_tokens)});

  // Strings 0 .. num_turns-1 are asked; the context lists all of them in a random order.
  const std::vector<int64_t> order = draw_distinct(rng, p.num_strings, p.num_strings);
  Session s;
  s.context.push_back(kBos);
  std::vector<std::vector<int32_t>> needles(strings.size());
  for (int64_t i : order) {
    for (const auto* part : {&strings[i].prefix, &strings[i].middle, &strings[i].suffix})
      for (int32_t t : *part) {
        needles[i].push_back(static_cast<int32_t>(s.context.size()));
        s.context.push_back(t);
      }
    s.context.push_back(kComma);
  }
  for (int i = 0; i < p.num_turns; ++i) {
    SessionTurn turn;
    turn.query.push_back(kQuery);
    turn.query.insert(turn.query.end(), strings[i].prefix.begin(), strings[i].prefix.end());
    turn.query.insert(turn.query.end(), strings[i].suffix.begin(), strings[i].suffix.end());
    turn.query.push_back(kColon);
    turn.answer = strings[i].middle;
    turn.needle = needles[i];
    turn.kind = "retrieval";
    s.turns.push_back(std::move(turn));
  }
  return s;
}

}  // namespace seqbench
