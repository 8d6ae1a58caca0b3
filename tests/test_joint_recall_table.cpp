// The joint_recall task's "hax" layout: the paper's data script (DeepGraphLearning/HAX,
// scripts/create_dataset.py) rebuilt token for token.
#include <catch2/catch.hpp>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "datasets/joint_recall_table_generator.h"
#include "tasks/task.h"
#include "tests/invalid_argument_message.h"
#include "tests/labelled_tokens.h"

using Catch::Matchers::Contains;
using nlohmann::json;
using seqbench::JointRecallTable;
using seqbench::JointRecallTableParams;
using seqbench::kIgnoreLabel;
using seqbench::TokenDataset;

namespace {

JointRecallTableParams table_params(int min_c, int max_c, int min_k, int max_k, int values, int vocab = 100) {
  return JointRecallTableParams{min_c, max_c, min_k, max_k, values, vocab};  // in declaration order
}

// The paper's example `A a 3 b 2 B b 4 a 1 | B a ? b ? A b ? a ?` (answers 1 4 2 3): contexts
// A = 0, B = 1; keys a = 0, b = 1.
JointRecallTable paper_example() {
  JointRecallTable table;
  table.shape = {2, 2};
  table.values = {3, 2, 1, 4};  // A: a=3 b=2; B: a=1 b=4
  table.context_order[0] = {0, 1};
  table.key_order[0] = {{0, 1}, {1, 0}};
  table.context_order[1] = {1, 0};
  table.key_order[1] = {{0, 1}, {1, 0}};
  return table;
}

std::vector<int32_t> labelled_positions(const int32_t* labels, int64_t seq_len) {
  std::vector<int32_t> out;
  for (int64_t t = 0; t < seq_len; ++t)
    if (labels[t] != kIgnoreLabel) out.push_back(static_cast<int32_t>(t));
  return out;
}

// Reads example i back by the layout's rules and checks every promise: the shape of its grid
// cell, each context once per half with each key once, the same values in both halves, labels on
// exactly the second half's keys holding their values, PAD after.
void check_layout(const JointRecallTableParams& p, const TokenDataset& data, int64_t i) {
  const seqbench::JointRecallShape shape = seqbench::joint_recall_table_shape(p, i);
  const int32_t* in = data.input_row(i);
  const int32_t* labels = data.label_row(i);
  const int32_t first_key = 10 + p.num_values, first_context = first_key + p.max_keys;
  std::map<std::pair<int32_t, int32_t>, int32_t> value_of;  // (context, key) -> value, from the first half
  int64_t t = 0;
  REQUIRE(in[t++] == seqbench::kJointRecallBos);
  for (int half = 0; half < 2; ++half) {
    if (half == 1) REQUIRE(in[t++] == seqbench::kJointRecallSep);
    std::set<int32_t> contexts;
    for (int c = 0; c < shape.contexts; ++c) {
      const int32_t context = in[t++];
      REQUIRE(context >= first_context);
      REQUIRE(context < first_context + shape.contexts);
      REQUIRE(contexts.insert(context).second);
      std::set<int32_t> keys;
      for (int k = 0; k < shape.keys; ++k) {
        const int32_t key = in[t];
        REQUIRE(key >= first_key);
        REQUIRE(key < first_key + shape.keys);
        REQUIRE(keys.insert(key).second);
        const bool last = t + 1 == data.seq_len;  // the longest shape's final value is shifted out
        const int32_t value = last ? labels[t] : in[t + 1];
        REQUIRE(value >= 10);
        REQUIRE(value < 10 + p.num_values);
        if (half == 0) {
          REQUIRE(labels[t] == kIgnoreLabel);
          value_of[{context, key}] = value;
        } else {
          REQUIRE(labels[t] == value);
          REQUIRE(value_of.at({context, key}) == value);
        }
        if (!last) REQUIRE(labels[t + 1] == kIgnoreLabel);
        t += 2;
      }
    }
  }
  for (; t < data.seq_len; ++t) {
    REQUIRE(in[t] == seqbench::kJointRecallPad);
    REQUIRE(labels[t] == kIgnoreLabel);
  }
  CHECK(labelled_tokens(data, i).size() == static_cast<size_t>(shape.contexts * shape.keys));
}

}  // namespace

TEST_CASE("the paper's example is written with the script's token ids, layout and labels") {
  // max_keys 3 > n_k 2: context ids are offset by max_keys, and the sequence is padded.
  const JointRecallTableParams p = table_params(2, 2, 2, 3, 5, 19);
  REQUIRE(seqbench::joint_recall_table_seq_len(p) == 2 * 2 * (2 * 3 + 1) + 1);
  std::vector<int32_t> inputs(29), labels(29);
  seqbench::write_joint_recall_table(p, paper_example(), inputs.data(), labels.data());
  // values 3 2 4 1 -> 13 12 14 11; keys a b -> 15 16; contexts A B -> 10+5+3 = 18, 19.
  const int32_t A = 18, B = 19, a = 15, b = 16, BOS = 1, SEP = 4, PAD = 3;
  const std::vector<int32_t> expected = {BOS, A,   a,   13,  b,   12,  B,  b, 14, a, 11,  // first half
                                         SEP, B,   a,   11,  b,   14,  A,  b, 12, a, 13,  // second half
                                         PAD, PAD, PAD, PAD, PAD, PAD, PAD};
  CHECK(inputs == expected);
  CHECK(labelled_positions(labels.data(), 29) == std::vector<int32_t>{13, 15, 18, 20});  // the keys of the second half
  std::vector<int32_t> answers;
  for (int32_t t : labelled_positions(labels.data(), 29)) answers.push_back(labels[t] - 10);
  CHECK(answers == std::vector<int32_t>{1, 4, 2, 3});
}

TEST_CASE("the longest shape fills the sequence and its last value is the token the shift drops") {
  // The script pads to 2*max_c*(2*max_k+1)+2 tokens and feeds inputs[:-1]: 21 tokens here.
  const JointRecallTableParams p = table_params(2, 2, 2, 2, 5, 19);
  std::vector<int32_t> inputs(21), labels(21);
  seqbench::write_joint_recall_table(p, paper_example(), inputs.data(), labels.data());
  const int32_t A = 17, B = 18, a = 15, b = 16;
  CHECK(inputs == std::vector<int32_t>{1, A, a, 13, b, 12, B, b, 14, a, 11, 4, B, a, 11, b, 14, A, b, 12, a});
  CHECK(labels[20] == 13);  // the dropped "3" is still the answer at the last key
  CHECK(labelled_tokens(TokenDataset{1, 21, 19, inputs, labels, {}}, 0) == std::vector<int32_t>{11, 14, 12, 13});
}

TEST_CASE("generated examples follow the paper's layout, for odd grids and sizes") {
  const std::vector<JointRecallTableParams> grids = {table_params(5, 16, 5, 16, 16), table_params(1, 3, 2, 7, 3),
                                                     table_params(4, 4, 1, 1, 2), table_params(2, 5, 3, 3, 31, 200)};
  for (size_t g = 0; g < grids.size(); ++g) {
    const uint64_t seed = 20 + g;
    INFO("grid " << g << ", seed " << seed);
    seqbench::DistinctExamples seen;
    const TokenDataset data = seqbench::generate_joint_recall_table(grids[g], 37, seed, seen);
    REQUIRE(data.seq_len == seqbench::joint_recall_table_seq_len(grids[g]));
    REQUIRE(data.vocab_size == grids[g].vocab_size);
    for (int64_t i = 0; i < data.num_examples; ++i) check_layout(grids[g], data, i);
  }
}

TEST_CASE("the mixture walks the n_c x n_k grid in the script's order, n_c outer") {
  const JointRecallTableParams p = table_params(5, 16, 5, 16, 16);
  REQUIRE(seqbench::joint_recall_table_grid_size(p) == 144);
  seqbench::DistinctExamples seen;
  const TokenDataset data = seqbench::generate_joint_recall_table(p, 2 * 144 + 5, 3, seen);
  std::map<std::pair<int, int>, int> count;
  for (int64_t i = 0; i < data.num_examples; ++i) {
    const seqbench::JointRecallShape shape = seqbench::joint_recall_table_shape(p, i);
    ++count[{shape.contexts, shape.keys}];
    CHECK(labelled_tokens(data, i).size() == static_cast<size_t>(shape.contexts * shape.keys));
  }
  REQUIRE(count.size() == 144);
  for (int c = 5; c <= 16; ++c)
    for (int k = 5; k <= 16; ++k) CHECK(count[{c, k}] == ((c == 5 && k <= 9) ? 3 : 2));
  CHECK(seqbench::joint_recall_table_shape(p, 0).contexts == 5);
  CHECK(seqbench::joint_recall_table_shape(p, 0).keys == 5);
  CHECK(seqbench::joint_recall_table_shape(p, 1).keys == 6);
  CHECK(seqbench::joint_recall_table_shape(p, 12).contexts == 6);
  CHECK(seqbench::joint_recall_table_shape(p, 143).contexts == 16);
  CHECK(seqbench::joint_recall_table_shape(p, 143).keys == 16);
}

TEST_CASE("repeated examples are redrawn, within a split and across the splits that share a set") {
  // n_c = 1, n_k = 2, 2 values: 2^2 tables x 2!^2 key orders = 16 distinct sequences. Sixteen
  // independent draws almost surely repeat one (all distinct with probability 16!/16^16 ~ 1e-6).
  const JointRecallTableParams p = table_params(1, 1, 2, 2, 2, 20);
  seqbench::DistinctExamples seen;
  const TokenDataset train = seqbench::generate_joint_recall_table(p, 10, 1, seen);
  const TokenDataset test = seqbench::generate_joint_recall_table(p, 6, 2, seen);
  std::set<std::vector<int32_t>> distinct;
  for (const TokenDataset* split : {&train, &test})
    for (int64_t i = 0; i < split->num_examples; ++i)
      distinct.insert(std::vector<int32_t>(split->input_row(i), split->input_row(i) + split->seq_len));
  CHECK(distinct.size() == 16);
  CHECK(seen.size() == 16);
  CHECK_THAT(error_of([&] { seqbench::generate_joint_recall_table(p, 1, 3, seen); }),
             Contains("no distinct example of shape n_c=1, n_k=2"));
}

TEST_CASE("the joint_recall task defaults to the paper's layout, vocabulary and length") {
  const seqbench::TaskInstance task = seqbench::build_task("joint_recall", {{"num_train", 150}, {"num_test", 20}}, 5);
  CHECK(task.params["layout"] == "hax");
  CHECK(task.params["vocab_size"] == 100);  // null defaults are stored as what they resolved to
  CHECK(task.params["seq_len"] == 1057);
  CHECK(task.params["num_valid"] == 20);
  CHECK(task.vocab_size == 100);
  CHECK(task.seq_len == 1057);
  REQUIRE(task.tests.size() == 1);
  const JointRecallTableParams p;
  for (const TokenDataset* split : {&task.train, &task.valid, &task.tests[0].data}) {
    REQUIRE(split->seq_len == 1057);
    for (int64_t i = 0; i < split->num_examples; ++i) check_layout(p, *split, i);
  }
  // Values 10-25, keys 26-41, contexts 42-57 (TASKS.md's summary of the script).
  CHECK(seqbench::joint_recall_value_token(p, 15) == 25);
  CHECK(seqbench::joint_recall_key_token(p, 0) == 26);
  CHECK(seqbench::joint_recall_context_token(p, 15) == 57);
  CHECK(seqbench::build_task("joint_recall", {{"num_train", 150}, {"num_test", 20}}, 5).train.inputs ==
        task.train.inputs);
  CHECK(seqbench::build_task("joint_recall", {{"num_train", 150}, {"num_test", 20}}, 6).train.inputs !=
        task.train.inputs);
}

TEST_CASE("no example repeats across train, valid and test of the task") {
  // 16 distinct sequences per shape (n_c = 1, n_k = 2, 2 values), all of them asked for.
  const json overrides = {{"min_contexts", 1}, {"max_contexts", 1}, {"min_keys", 2},  {"max_keys", 2},
                          {"num_values", 2},   {"num_train", 8},    {"num_valid", 4}, {"num_test", 4}};
  const seqbench::TaskInstance task = seqbench::build_task("joint_recall", overrides, 9);
  std::set<std::vector<int32_t>> distinct;
  for (const TokenDataset* split : {&task.train, &task.valid, &task.tests[0].data})
    for (int64_t i = 0; i < split->num_examples; ++i)
      distinct.insert(std::vector<int32_t>(split->input_row(i), split->input_row(i) + split->seq_len));
  CHECK(distinct.size() == 16);

  json too_many = overrides;
  too_many["num_test"] = 5;
  CHECK_THAT(error_of([&] { seqbench::build_task("joint_recall", too_many, 9); }),
             Contains("n_c=1, n_k=2 with num_values=2 has only 16 distinct sequences") && Contains("ask for 17"));
}

TEST_CASE("hax layout parameters out of range are errors naming them") {
  auto build = [](const json& overrides) {
    return error_of([&] { seqbench::build_task("joint_recall", overrides, 1); });
  };
  CHECK_THAT(build({{"min_contexts", 0}}), Contains("min_contexts must be >= 1, got 0"));
  CHECK_THAT(build({{"max_keys", 4}}), Contains("max_keys=4 must be >= min_keys=5"));
  CHECK_THAT(build({{"num_values", 0}}), Contains("num_values must be >= 1"));
  CHECK_THAT(build({{"vocab_size", 57}}), Contains("vocab_size=57 is too small") && Contains(">= 58"));
  CHECK_THAT(build({{"seq_len", 128}}),
             Contains("seq_len follows from max_contexts and max_keys") && Contains("= 1057") && Contains("got 128"));
  CHECK_THAT(build({{"layout", "zoology"}}), Contains("'layout'") && Contains("one of hax, mqar"));
}

TEST_CASE("a parameter of the other layout is an error, so a sweep cannot vary what is ignored") {
  auto build = [](const json& overrides) {
    return error_of([&] { seqbench::build_task("joint_recall", overrides, 1); });
  };
  CHECK_THAT(build({{"num_kv_pairs", 8}}), Contains("'num_kv_pairs' belongs to layout \"mqar\"") &&
                                               Contains("with layout \"hax\"") && Contains("got 8"));
  CHECK_THAT(build({{"test_lengths", {2048}}}), Contains("'test_lengths' belongs to layout \"mqar\""));
  CHECK_THAT(build({{"layout", "mqar"}, {"num_values", 8}}),
             Contains("'num_values' belongs to layout \"hax\"") && Contains("must stay 16"));
  // Restating a default is not an error: stored parameters can be fed back in.
  CHECK(build({{"layout", "mqar"}, {"num_values", 16}, {"num_train", 4}, {"num_test", 2}}) == "no error");
}
