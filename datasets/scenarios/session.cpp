// Session layouts, the flat training layout and the per-session seed streams (session.h).
// Checked in tests/test_scenario_sessions.cpp.
#include "datasets/scenarios/session.h"

#include <cmath>
#include <numeric>
#include <set>
#include <stdexcept>

namespace seqbench {

int64_t SessionLayout::total() const {
  return context + std::accumulate(query.begin(), query.end(), int64_t{0}) +
         std::accumulate(answer.begin(), answer.end(), int64_t{0});
}

int64_t SessionLayout::query_start(int64_t turn) const {
  int64_t at = context;
  for (int64_t t = 0; t < turn; ++t) at += query[t] + answer[t];
  return at;
}

int64_t SessionLayout::answer_start(int64_t turn) const { return query_start(turn) + query[turn]; }

bool SessionLayout::operator==(const SessionLayout& other) const {
  return context == other.context && query == other.query && answer == other.answer;
}

SessionLayout session_layout(const Session& session) {
  SessionLayout layout;
  layout.context = static_cast<int64_t>(session.context.size());
  for (const SessionTurn& turn : session.turns) {
    layout.query.push_back(static_cast<int64_t>(turn.query.size()));
    layout.answer.push_back(static_cast<int64_t>(turn.answer.size()));
  }
  return layout;
}

SessionLayout common_layout(const std::vector<Session>& sessions) {
  if (sessions.empty()) throw std::invalid_argument("sessions: no sessions to lay out");
  const SessionLayout first = session_layout(sessions.front());
  for (size_t i = 1; i < sessions.size(); ++i)
    if (!(session_layout(sessions[i]) == first))
      throw std::invalid_argument("sessions: session " + std::to_string(i) +
                                  " has another layout (context, query or answer lengths) than session 0");
  return first;
}

void write_flat_session(const Session& session, int32_t* inputs, int32_t* labels) {
  int64_t at = 0;
  auto put = [&](int32_t token) { inputs[at++] = token; };
  for (int32_t token : session.context) put(token);
  for (const SessionTurn& turn : session.turns) {
    for (int32_t token : turn.query) put(token);
    for (int32_t token : turn.answer) put(token);
  }
  std::fill(labels, labels + at, kIgnoreLabel);
  const SessionLayout layout = session_layout(session);
  for (int64_t t = 0; t < layout.turns(); ++t) {
    const int64_t first = layout.answer_start(t);
    for (int64_t i = 0; i < layout.answer[t]; ++i) labels[first + i - 1] = inputs[first + i];
  }
}

TokenDataset sessions_to_dataset(const std::vector<Session>& sessions, int32_t vocab_size) {
  TokenDataset data;
  data.num_examples = static_cast<int64_t>(sessions.size());
  data.seq_len = sessions.empty() ? 0 : common_layout(sessions).total();
  data.vocab_size = vocab_size;
  data.inputs.resize(static_cast<size_t>(data.num_examples * data.seq_len));
  data.labels.resize(data.inputs.size());
  for (int64_t i = 0; i < data.num_examples; ++i)
    write_flat_session(sessions[i], data.inputs.data() + i * data.seq_len, data.labels.data() + i * data.seq_len);
  return data;
}

std::vector<Session> generate_sessions(int64_t count, uint64_t seed,
                                       const std::function<Session(Rng&)>& write_session) {
  if (count < 0) throw std::invalid_argument("sessions: count must be >= 0, got " + std::to_string(count));
  std::vector<Session> sessions(static_cast<size_t>(count));
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < count; ++i) {
    Rng rng(Rng::derive(seed, static_cast<uint64_t>(i)));
    sessions[i] = write_session(rng);
  }
  return sessions;
}

std::vector<int64_t> draw_distinct(Rng& rng, int64_t n, int64_t k) {
  if (k > n || k < 0)
    throw std::invalid_argument("draw_distinct: cannot draw " + std::to_string(k) + " distinct values from " +
                                std::to_string(n));
  std::vector<int64_t> all(static_cast<size_t>(n));
  std::iota(all.begin(), all.end(), int64_t{0});
  // A partial Fisher-Yates shuffle: the first k entries are a uniform k-subset in random order.
  for (int64_t i = 0; i < k; ++i) std::swap(all[i], all[rng.uniform_int(i, n)]);
  all.resize(static_cast<size_t>(k));
  return all;
}

std::vector<int32_t> draw_tuple(Rng& rng, int width, int32_t first, int32_t pool) {
  std::vector<int32_t> tuple(static_cast<size_t>(width));
  for (int32_t& symbol : tuple) symbol = first + static_cast<int32_t>(rng.uniform_int(0, pool));
  return tuple;
}

std::vector<std::vector<int32_t>> draw_distinct_tuples(Rng& rng, int count, int width, int32_t first, int32_t pool) {
  if (std::pow(static_cast<double>(pool), width) < count)
    throw std::invalid_argument("cannot draw " + std::to_string(count) + " distinct tuples of " +
                                std::to_string(width) + " symbols from " + std::to_string(pool));
  std::set<std::vector<int32_t>> seen;
  std::vector<std::vector<int32_t>> out;
  // Rejection keeps every distinct set equally likely; at most half the space is ever asked for
  // by the validated parameters, so a draw is accepted with probability >= 1/2.
  while (static_cast<int>(out.size()) < count) {
    std::vector<int32_t> tuple = draw_tuple(rng, width, first, pool);
    if (seen.insert(tuple).second) out.push_back(std::move(tuple));
  }
  return out;
}

}  // namespace seqbench
