// The scenario tasks' sessions (datasets/scenarios/, tasks/scenarios/): one layout per parameter
// set, deterministic per seed, every turn answerable from the context at its needle positions,
// and the flat layout's labels on the answers.
#include <catch2/catch.hpp>
#include <set>

#include "datasets/scenarios/scenario_generators.h"
#include "datasets/scenarios/scenario_tokens.h"
#include "tasks/scenarios/scenario_tasks.h"
#include "tasks/task.h"

using namespace seqbench;
using namespace seqbench::scenario_tokens;

namespace {

std::vector<int32_t> at(const std::vector<int32_t>& tokens, const std::vector<int32_t>& positions) {
  std::vector<int32_t> out;
  for (int32_t p : positions) out.push_back(tokens.at(p));
  return out;
}

}  // namespace

TEST_CASE("a kv session asks different keys whose records sit at the needle positions", "[scenarios]") {
  const KvSessionParams p{/*num_records=*/6, /*key_tokens=*/2, /*value_tokens=*/3, /*num_symbols=*/8, /*num_turns=*/4};
  Rng rng(11);
  const Session s = generate_kv_session(p, rng);
  CHECK(s.context.size() == 1 + 6 * (2 + 3 + 2));
  REQUIRE(s.turns.size() == 4);
  std::set<std::vector<int32_t>> asked;
  for (const SessionTurn& turn : s.turns) {
    REQUIRE(turn.query.size() == 4);
    CHECK(turn.query.front() == kQuery);
    CHECK(turn.query.back() == kColon);
    const std::vector<int32_t> key(turn.query.begin() + 1, turn.query.end() - 1);
    asked.insert(key);
    // The needle is the record: key, colon, value.
    std::vector<int32_t> record = key;
    record.push_back(kColon);
    record.insert(record.end(), turn.answer.begin(), turn.answer.end());
    CHECK(at(s.context, turn.needle) == record);
    for (int32_t v : turn.answer) CHECK(v >= kFirstSymbol + p.num_symbols);
  }
  CHECK(asked.size() == 4);
}

TEST_CASE("sessions of one parameter set share a layout and repeat per seed", "[scenarios]") {
  const nlohmann::json params = resolve_task_params(find_task("scbench_kv"), {{"num_train", 3}, {"num_test", 5}});
  const auto a = scenario_sessions("scbench_kv", params, 4, SessionSplit::test);
  const auto b = scenario_sessions("scbench_kv", params, 4, SessionSplit::test);
  const auto other = scenario_sessions("scbench_kv", params, 5, SessionSplit::test);
  REQUIRE(a.size() == 5);
  CHECK(common_layout(a) == session_layout(a[0]));
  for (size_t i = 0; i < a.size(); ++i) CHECK(a[i].context == b[i].context);
  CHECK(a[0].context != other[0].context);
  const auto valid = scenario_sessions("scbench_kv", params, 4, SessionSplit::valid);
  CHECK(valid[0].context != a[0].context);  // its own stream
}

TEST_CASE("the flat layout labels each answer token at the position before it", "[scenarios]") {
  Session s;
  s.context = {1, 20, 21};
  s.turns = {{{2, 20, 3}, {30, 31}, {}, "retrieval"}, {{2, 21, 3}, {32}, {}, "retrieval"}};
  const SessionLayout layout = session_layout(s);
  CHECK(layout.total() == 12);
  std::vector<int32_t> in12(12), lab12(12);
  write_flat_session(s, in12.data(), lab12.data());
  CHECK(in12 == std::vector<int32_t>{1, 20, 21, 2, 20, 3, 30, 31, 2, 21, 3, 32});
  const int32_t I = kIgnoreLabel;
  CHECK(lab12 == std::vector<int32_t>{I, I, I, I, I, 30, 31, I, I, I, 32, I});
  CHECK(layout.answer_start(0) == 6);
  CHECK(layout.answer_start(1) == 11);
  CHECK(layout.query_start(1) == 8);
}

TEST_CASE("a prefix-suffix question has one answer beside distractors sharing its prefix or suffix", "[scenarios]") {
  PrefixSuffixParams p{/*num_strings=*/12};
  p.num_turns = 3;
  p.num_symbols = 6;
  Rng rng(3);
  const Session s = generate_prefix_suffix_session(p, rng);
  // Strings are `p m m s ,` after BOS.
  std::vector<std::vector<int32_t>> strings;
  for (size_t i = 1; i + 4 < s.context.size() + 1; i += 5)
    strings.emplace_back(s.context.begin() + i, s.context.begin() + i + 4);
  REQUIRE(strings.size() == 12);
  for (const SessionTurn& turn : s.turns) {
    const int32_t prefix = turn.query[1], suffix = turn.query[2];
    int both = 0, prefix_only = 0, suffix_only = 0;
    for (const auto& str : strings) {
      both += str[0] == prefix && str[3] == suffix;
      prefix_only += str[0] == prefix && str[3] != suffix;
      suffix_only += str[0] != prefix && str[3] == suffix;
      if (str[0] == prefix && str[3] == suffix)
        CHECK(std::vector<int32_t>(str.begin() + 1, str.begin() + 3) == turn.answer);
    }
    CHECK(both == 1);
    CHECK(prefix_only >= 1);
    CHECK(suffix_only >= 1);
    CHECK(at(s.context, turn.needle) == std::vector<int32_t>{prefix, turn.answer[0], turn.answer[1], suffix});
  }
}

TEST_CASE("a variable-tracking answer follows its chain from the value through every hop", "[scenarios]") {
  VariableTrackingParams p{/*num_chains=*/3, /*hops=*/3, /*noise_statements=*/5};
  p.num_turns = 3;
  Rng rng(9);
  const Session s = generate_variable_tracking_session(p, rng);
  CHECK(s.context.size() == 1 + 4 * (3 * 4 + 5));
  for (const SessionTurn& turn : s.turns) {
    REQUIRE(turn.answer.size() == 4);
    // Walk the statements `name = rhs ;`: each answer name is bound to the previous one (the first to the value).
    int32_t rhs = turn.query[1];
    for (int32_t name : turn.answer) {
      bool found = false;
      for (size_t i = 1; i + 3 < s.context.size(); i += 4)
        found = found || (s.context[i] == name && s.context[i + 1] == kEquals && s.context[i + 2] == rhs);
      CHECK(found);
      rhs = name;
    }
    CHECK(turn.needle.size() == 4 * 3);
  }
}

TEST_CASE("a joint recall turn asks a key in a different context block each time", "[scenarios]") {
  JointRecallSessionParams p;
  p.num_contexts = 4;
  p.num_keys = 3;
  p.num_turns = 4;
  Rng rng(5);
  const Session s = generate_joint_recall_session(p, rng);
  CHECK(s.context.size() == 1 + 4 * (1 + 2 * 3));
  std::set<int32_t> blocks;
  for (const SessionTurn& turn : s.turns) {
    blocks.insert(turn.query[1]);
    CHECK(at(s.context, turn.needle) == std::vector<int32_t>{turn.query[1], turn.query[2], turn.answer[0]});
  }
  CHECK(blocks.size() == 4);
}

TEST_CASE("mixed sessions alternate a retrieval and a pass key", "[scenarios]") {
  MixedSessionParams p;
  p.kv.num_records = 5;
  p.kv.num_turns = 5;
  p.passkey_digits = 3;
  Rng rng(2);
  const Session s = generate_mixed_session(p, rng);
  REQUIRE(s.turns.size() == 5);
  for (size_t t = 0; t < s.turns.size(); ++t) {
    CHECK(s.turns[t].kind == (t % 2 == 0 ? "retrieval" : "passkey"));
    if (s.turns[t].kind == "passkey") {
      CHECK(s.turns[t].answer.size() == 3);
      CHECK(at(s.context, s.turns[t].needle) == s.turns[t].answer);
    }
  }
  CHECK(s.turns[1].query[2] != s.turns[3].query[2]);  // two different pass keys
}

TEST_CASE("scenario task parameters are checked and name the bad value", "[scenarios]") {
  CHECK_THROWS_WITH(build_task("scbench_kv", {{"num_records", 3}, {"num_turns", 5}}, 0),
                    Catch::Matchers::Contains("asks 5 different records but num_records is 3"));
  CHECK_THROWS_WITH(build_task("scbench_vt", {{"num_chains", 2}}, 0),
                    Catch::Matchers::Contains("num_turns must be in 1..num_chains (2), got 5"));
  CHECK_THROWS_WITH(build_task("scbench_prefix_suffix", {{"num_strings", 10}}, 0),
                    Catch::Matchers::Contains("num_strings 10 cannot hold 5 asked strings"));
  const TaskInstance task = build_task("scbench_joint_recall", {{"num_train", 4}, {"num_test", 2}}, 1);
  CHECK(task.train.num_examples == 4);
  CHECK(task.valid.num_examples == 2);
  CHECK(task.seq_len == 1 + 5 * 9 + 5 * (4 + 1));
  CHECK(task.train.labelled_positions() == 4 * 5);
}
