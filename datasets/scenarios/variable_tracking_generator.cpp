// Variable-tracking sessions after RULER (Hsieh et al. 2024, "RULER: What's the Real Context Size
// of Your Long-Context Language Models?", variable_tracking.py), SCBench's Retr.MultiHop: a chain
// `a1 = v ; a2 = a1 ; ... ; a(h+1) = ah ;` hides among other chains and noise statements; the
// question `QUERY v :` is answered by every name bound to v, in chain order (RULER's "find all
// variables that are assigned the value v"). Each chain keeps its order; the chains and the noise
// are interleaved at random. Names, chain values and noise values are all pairwise different.
// Checked in tests/test_scenario_sessions.cpp.
#include <stdexcept>
#include <string>

#include "datasets/scenarios/scenario_generators.h"
#include "datasets/scenarios/scenario_tokens.h"

namespace seqbench {
namespace {

using namespace scenario_tokens;

void require(bool ok, const std::string& what) {
  if (!ok) throw std::invalid_argument("variable_tracking: " + what);
}

int names_needed(const VariableTrackingParams& p) { return p.num_chains * (p.hops + 1) + p.noise_statements; }

int32_t name_first(const VariableTrackingParams&) { return kFirstSymbol; }
int32_t value_first(const VariableTrackingParams& p) { return kFirstSymbol + p.num_names; }

}  // namespace

void validate_variable_tracking_params(const VariableTrackingParams& p) {
  require(p.num_chains >= 1 && p.hops >= 0 && p.noise_statements >= 0,
          "num_chains must be >= 1, hops and noise_statements >= 0");
  require(
      p.num_turns >= 1 && p.num_turns <= p.num_chains,
      "num_turns must be in 1..num_chains (" + std::to_string(p.num_chains) + "), got " + std::to_string(p.num_turns));
  require(names_needed(p) <= p.num_names,
          "needs " + std::to_string(names_needed(p)) + " different names, num_names is " + std::to_string(p.num_names));
  require(p.num_chains + p.noise_statements <= p.num_values,
          "needs " + std::to_string(p.num_chains + p.noise_statements) + " different values, num_values is " +
              std::to_string(p.num_values));
}

int32_t variable_tracking_vocab_size(const VariableTrackingParams& p) { return value_first(p) + p.num_values; }

Session generate_variable_tracking_session(const VariableTrackingParams& p, Rng& rng) {
  const std::vector<int64_t> names = draw_distinct(rng, p.num_names, names_needed(p));
  const std::vector<int64_t> values = draw_distinct(rng, p.num_values, p.num_chains + p.noise_statements);
  struct Statement {
    int32_t name, rhs;
    int chain;  // -1: noise
  };
  // Statement lists: one per chain (in order), then each noise statement as its own list.
  std::vector<std::vector<Statement>> lists;
  int next_name = 0;
  for (int c = 0; c < p.num_chains; ++c) {
    std::vector<Statement> chain;
    int32_t rhs = value_first(p) + static_cast<int32_t>(values[c]);
    for (int h = 0; h <= p.hops; ++h) {
      const int32_t name = name_first(p) + static_cast<int32_t>(names[next_name++]);
      chain.push_back({name, rhs, c});
      rhs = name;
    }
    lists.push_back(chain);
  }
  for (int n = 0; n < p.noise_statements; ++n)
    lists.push_back({{name_first(p) + static_cast<int32_t>(names[next_name++]),
                      value_first(p) + static_cast<int32_t>(values[p.num_chains + n]), -1}});

  // A random interleaving that keeps each list's order: draw the next list in proportion to what
  // it has left, so every interleaving is equally likely.
  std::vector<size_t> taken(lists.size(), 0);
  int64_t left = 0;
  for (const auto& list : lists) left += static_cast<int64_t>(list.size());
  Session s;
  s.context.push_back(kBos);
  std::vector<std::vector<int32_t>> needles(static_cast<size_t>(p.num_chains));
  for (; left > 0; --left) {
    int64_t pick = rng.uniform_int(0, left);
    size_t l = 0;
    for (int64_t rest = static_cast<int64_t>(lists[0].size() - taken[0]); pick >= rest;
         rest = static_cast<int64_t>(lists[l].size() - taken[l])) {
      pick -= rest;
      ++l;
    }
    const Statement st = lists[l][taken[l]++];
    const auto at = static_cast<int32_t>(s.context.size());
    if (st.chain >= 0)
      for (int32_t k = 0; k < 3; ++k) needles[st.chain].push_back(at + k);
    s.context.insert(s.context.end(), {st.name, kEquals, st.rhs, kSemicolon});
  }
  for (int64_t c : draw_distinct(rng, p.num_chains, p.num_turns)) {
    SessionTurn turn;
    turn.query = {kQuery, value_first(p) + static_cast<int32_t>(values[c]), kColon};
    for (const Statement& st : lists[c]) turn.answer.push_back(st.name);
    turn.needle = needles[c];
    turn.kind = "retrieval";
    s.turns.push_back(std::move(turn));
  }
  return s;
}

}  // namespace seqbench
