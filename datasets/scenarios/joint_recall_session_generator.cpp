// Joint recall sessions (Zhan et al. 2025, "Overcoming Long-Context Limitations of State-Space
// Models via Context-Dependent Sparse Attention"; the block form of DeepGraphLearning/HAX
// scripts/create_dataset.py): the context is a table written as blocks `C k v k v ...`, one per
// context token C, in random order, each key once per block in random order; a key's value depends
// on its block (values drawn uniformly, so they repeat across cells). Turn i asks `QUERY C k :` for
// a different block C, answered by that cell's value. Checked in tests/test_scenario_sessions.cpp.
#include <stdexcept>
#include <string>

#include "datasets/scenarios/scenario_generators.h"
#include "datasets/scenarios/scenario_tokens.h"

namespace seqbench {
namespace {

using namespace scenario_tokens;

int32_t value_first(const JointRecallSessionParams&) { return kFirstSymbol; }
int32_t key_first(const JointRecallSessionParams& p) { return kFirstSymbol + p.num_values; }
int32_t context_first(const JointRecallSessionParams& p) { return key_first(p) + p.num_keys; }

}  // namespace

void validate_joint_recall_session_params(const JointRecallSessionParams& p) {
  if (p.num_contexts < 1 || p.num_keys < 1 || p.num_values < 2)
    throw std::invalid_argument("joint_recall: num_contexts and num_keys must be >= 1 and num_values >= 2, got " +
                                std::to_string(p.num_contexts) + ", " + std::to_string(p.num_keys) + " and " +
                                std::to_string(p.num_values));
  if (p.num_turns < 1 || p.num_turns > p.num_contexts)
    throw std::invalid_argument("joint_recall: num_turns must be in 1..num_contexts (" +
                                std::to_string(p.num_contexts) + ": one block per turn), got " +
                                std::to_string(p.num_turns));
}

int32_t joint_recall_session_vocab_size(const JointRecallSessionParams& p) { return context_first(p) + p.num_contexts; }

Session generate_joint_recall_session(const JointRecallSessionParams& p, Rng& rng) {
  std::vector<std::vector<int32_t>> value(static_cast<size_t>(p.num_contexts));
  for (auto& row : value) row = draw_tuple(rng, p.num_keys, value_first(p), p.num_values);
  Session s;
  s.context.push_back(kBos);
  // needle[c][k]: positions of block c's context token and of key k with its value.
  std::vector<int32_t> block_start(static_cast<size_t>(p.num_contexts));
  std::vector<std::vector<int32_t>> key_at(static_cast<size_t>(p.num_contexts), std::vector<int32_t>(p.num_keys));
  for (int64_t c : draw_distinct(rng, p.num_contexts, p.num_contexts)) {
    block_start[c] = static_cast<int32_t>(s.context.size());
    s.context.push_back(context_first(p) + static_cast<int32_t>(c));
    for (int64_t k : draw_distinct(rng, p.num_keys, p.num_keys)) {
      key_at[c][k] = static_cast<int32_t>(s.context.size());
      s.context.push_back(key_first(p) + static_cast<int32_t>(k));
      s.context.push_back(value[c][k]);
    }
  }
  for (int64_t c : draw_distinct(rng, p.num_contexts, p.num_turns)) {
    const int64_t k = rng.uniform_int(0, p.num_keys);
    SessionTurn turn;
    turn.query = {kQuery, context_first(p) + static_cast<int32_t>(c), key_first(p) + static_cast<int32_t>(k), kColon};
    turn.answer = {value[c][k]};
    turn.needle = {block_start[c], key_at[c][k], key_at[c][k] + 1};
    turn.kind = "retrieval";
    s.turns.push_back(std::move(turn));
  }
  return s;
}

}  // namespace seqbench
