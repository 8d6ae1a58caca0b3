// A shared-context session, as SCBench evaluates long-context methods (Li et al., "SCBench: A KV
// Cache-Centric Analysis of Long-Context Methods", ICLR 2025, Sec. 2; microsoft/MInference,
// scbench/eval_utils.py): one context, then T turns, each a query and the answer it asks for. The
// context is written once and every turn reads a different part of it.
//
// Flat layout (what training and one-pass scoring see, and what multi-turn mode with golden
// answers feeds the model turn by turn):
//   context | query_1 answer_1 | query_2 answer_2 | ... | query_T answer_T
// labels[t] is the token to emit after reading tokens [0, t]: the answer tokens, each labelled at
// the position before it (the last query token, then each answer token but the last).
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "datasets/token_dataset.h"
#include "ops/rng.h"

namespace seqbench {

struct SessionTurn {
  std::vector<int32_t> query;   // what the user sends; the answer follows its last token
  std::vector<int32_t> answer;  // what the model must produce
  // Positions in the context of what the query asks for (a record's key and value, a chain's
  // statements, ...): what a KV policy must keep for the turn to be answerable (needle_retained).
  std::vector<int32_t> needle;
  std::string kind;  // what the turn asks: "retrieval", "passkey", ... (mixed tasks alternate)
};

struct Session {
  std::vector<int32_t> context;
  std::vector<SessionTurn> turns;
};

// Segment lengths. Every session a generator writes for one parameter set has the same layout, so
// a batch of sessions runs turn by turn in lockstep.
struct SessionLayout {
  int64_t context = 0;
  std::vector<int64_t> query, answer;  // per turn

  int64_t turns() const { return static_cast<int64_t>(query.size()); }
  int64_t total() const;                     // tokens of the flat layout
  int64_t query_start(int64_t turn) const;   // flat position of turn's first query token (turn from 0)
  int64_t answer_start(int64_t turn) const;  // flat position of turn's first answer token
  bool operator==(const SessionLayout& other) const;
};

SessionLayout session_layout(const Session& session);
// The layout every session shares; std::invalid_argument naming the first session that differs.
SessionLayout common_layout(const std::vector<Session>& sessions);

// The flat layout's tokens and labels (seq_len = layout.total()).
void write_flat_session(const Session& session, int32_t* inputs, int32_t* labels);
TokenDataset sessions_to_dataset(const std::vector<Session>& sessions, int32_t vocab_size);

// Session i drawn from the stream Rng::derive(seed, i), so it depends only on (params, seed, i).
std::vector<Session> generate_sessions(int64_t count, uint64_t seed, const std::function<Session(Rng&)>& write_session);

// k distinct integers from [0, n), in random order; std::invalid_argument when k > n.
std::vector<int64_t> draw_distinct(Rng& rng, int64_t n, int64_t k);
// A tuple of `width` symbols drawn uniformly from [first, first + pool).
std::vector<int32_t> draw_tuple(Rng& rng, int width, int32_t first, int32_t pool);
// `count` pairwise different such tuples; std::invalid_argument when pool^width < count.
std::vector<std::vector<int32_t>> draw_distinct_tuples(Rng& rng, int count, int width, int32_t first, int32_t pool);
// Fisher-Yates shuffle.
template <class T>
void shuffle_in_place(std::vector<T>& items, Rng& rng) {
  for (int64_t i = static_cast<int64_t>(items.size()) - 1; i > 0; --i)
    std::swap(items[i], items[rng.uniform_int(0, i + 1)]);
}

}  // namespace seqbench
