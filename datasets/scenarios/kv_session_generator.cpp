// SCBench Retr.KV sessions and the mixed retrieval + pass key sessions (scenario_generators.h).
// A record is `k1 .. kn : v1 .. vm ,` (SCBench's JSON line `"uuid": "uuid",`); a question is
// `QUERY k1 .. kn :` and its answer the value. Keys are pairwise different; values need not be.
// Checked in tests/test_scenario_sessions.cpp.
#include <cmath>
#include <stdexcept>
#include <string>

#include "datasets/scenarios/scenario_generators.h"
#include "datasets/scenarios/scenario_tokens.h"

namespace seqbench {
namespace {

using namespace scenario_tokens;

void require(bool ok, const std::string& task, const std::string& what) {
  if (!ok) throw std::invalid_argument(task + ": " + what);
}

int32_t key_first(const KvSessionParams&) { return kFirstSymbol; }
int32_t value_first(const KvSessionParams& p) { return kFirstSymbol + p.num_symbols; }

struct KvRecords {
  std::vector<std::vector<int32_t>> keys, values;
};

KvRecords draw_records(const KvSessionParams& p, Rng& rng) {
  KvRecords r;
  r.keys = draw_distinct_tuples(rng, p.num_records, p.key_tokens, key_first(p), p.num_symbols);
  for (int i = 0; i < p.num_records; ++i)
    r.values.push_back(draw_tuple(rng, p.value_tokens, value_first(p), p.num_symbols));
  return r;
}

// Appends record i to the context; returns the positions of its key, colon and value.
std::vector<int32_t> append_record(const KvRecords& r, int i, std::vector<int32_t>& context) {
  std::vector<int32_t> needle;
  auto put = [&](int32_t token, bool in_needle) {
    if (in_needle) needle.push_back(static_cast<int32_t>(context.size()));
    context.push_back(token);
  };
  for (int32_t t : r.keys[i]) put(t, true);
  put(kColon, true);
  for (int32_t t : r.values[i]) put(t, true);
  put(kComma, false);
  return needle;
}

SessionTurn retrieval_turn(const KvRecords& r, int i, std::vector<int32_t> needle) {
  SessionTurn turn;
  turn.query.push_back(kQuery);
  turn.query.insert(turn.query.end(), r.keys[i].begin(), r.keys[i].end());
  turn.query.push_back(kColon);
  turn.answer = r.values[i];
  turn.needle = std::move(needle);
  turn.kind = "retrieval";
  return turn;
}

void validate_kv(const KvSessionParams& p, const std::string& task, int retrieval_turns) {
  require(p.num_records >= 1, task, "num_records must be >= 1, got " + std::to_string(p.num_records));
  require(p.key_tokens >= 1 && p.value_tokens >= 1, task,
          "key_tokens and value_tokens must be >= 1, got " + std::to_string(p.key_tokens) + " and " +
              std::to_string(p.value_tokens));
  require(p.num_symbols >= 2, task, "num_symbols must be >= 2, got " + std::to_string(p.num_symbols));
  require(p.num_turns >= 1, task, "num_turns must be >= 1, got " + std::to_string(p.num_turns));
  require(retrieval_turns <= p.num_records, task,
          "asks " + std::to_string(retrieval_turns) + " different records but num_records is " +
              std::to_string(p.num_records));
  const double key_space = std::pow(static_cast<double>(p.num_symbols), p.key_tokens);
  require(2.0 * p.num_records <= key_space, task,
          "num_records " + std::to_string(p.num_records) + " needs at least twice as many distinct keys; num_symbols^" +
              "key_tokens is " + std::to_string(static_cast<int64_t>(key_space)));
}

int passkey_turns(const MixedSessionParams& p) { return p.kv.num_turns / 2; }
int32_t digit_first(const MixedSessionParams& p) { return kFirstSymbol + 2 * p.kv.num_symbols; }
int32_t pass_index_first(const MixedSessionParams& p) { return digit_first(p) + 10; }

}  // namespace

void validate_kv_session_params(const KvSessionParams& p) { validate_kv(p, "kv_retrieval", p.num_turns); }

int32_t kv_session_vocab_size(const KvSessionParams& p) { return kFirstSymbol + 2 * p.num_symbols; }

Session generate_kv_session(const KvSessionParams& p, Rng& rng) {
  const KvRecords records = draw_records(p, rng);
  Session s;
  s.context.push_back(kBos);
  std::vector<std::vector<int32_t>> needles;
  for (int i = 0; i < p.num_records; ++i) needles.push_back(append_record(records, i, s.context));
  for (int64_t i : draw_distinct(rng, p.num_records, p.num_turns))
    s.turns.push_back(retrieval_turn(records, i, needles[i]));
  return s;
}

void validate_mixed_session_params(const MixedSessionParams& p) {
  validate_kv(p.kv, "mixed", p.kv.num_turns - passkey_turns(p));
  require(p.passkey_digits >= 1, "mixed", "passkey_digits must be >= 1, got " + std::to_string(p.passkey_digits));
  require(passkey_turns(p) <= 8, "mixed", "at most 8 pass keys (16 turns), got " + std::to_string(passkey_turns(p)));
}

int32_t mixed_session_vocab_size(const MixedSessionParams& p) { return pass_index_first(p) + 8; }

Session generate_mixed_session(const MixedSessionParams& p, Rng& rng) {
  const KvRecords records = draw_records(p.kv, rng);
  const int keys = passkey_turns(p);
  // Pass key i sits before record slot[i] (slot num_records: after the last record).
  std::vector<int64_t> slot(static_cast<size_t>(keys));
  for (int64_t& at : slot) at = rng.uniform_int(0, p.kv.num_records + 1);
  std::vector<std::vector<int32_t>> digits(static_cast<size_t>(keys));
  for (auto& d : digits) d = draw_tuple(rng, p.passkey_digits, digit_first(p), 10);

  Session s;
  s.context.push_back(kBos);
  std::vector<std::vector<int32_t>> record_needles(static_cast<size_t>(p.kv.num_records)), pass_needles(digits.size());
  auto put_passkeys_before = [&](int64_t record) {
    for (int i = 0; i < keys; ++i) {
      if (slot[i] != record) continue;
      s.context.push_back(kPass);
      s.context.push_back(pass_index_first(p) + i);
      for (int32_t d : digits[i]) {
        pass_needles[i].push_back(static_cast<int32_t>(s.context.size()));
        s.context.push_back(d);
      }
      s.context.push_back(kSemicolon);
    }
  };
  for (int i = 0; i < p.kv.num_records; ++i) {
    put_passkeys_before(i);
    record_needles[i] = append_record(records, i, s.context);
  }
  put_passkeys_before(p.kv.num_records);

  // Turns alternate: retrieval, pass key, retrieval, ... (SCBench's Mix tasks interleave their parts).
  const std::vector<int64_t> asked = draw_distinct(rng, p.kv.num_records, p.kv.num_turns - keys);
  const std::vector<int64_t> pass_order = draw_distinct(rng, keys, keys);
  for (int t = 0, r = 0, k = 0; t < p.kv.num_turns; ++t) {
    if (t % 2 == 0) {
      s.turns.push_back(retrieval_turn(records, asked[r], record_needles[asked[r]]));
      ++r;
      continue;
    }
    const int64_t i = pass_order[k++];
    SessionTurn turn;
    turn.query = {kQuery, kPass, pass_index_first(p) + static_cast<int32_t>(i), kColon};
    turn.answer = digits[i];
    turn.needle = pass_needles[i];
    turn.kind = "passkey";
    s.turns.push_back(std::move(turn));
  }
  return s;
}

}  // namespace seqbench
