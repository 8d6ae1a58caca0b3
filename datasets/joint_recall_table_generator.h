// Joint recall exactly as its paper's data script builds it: the "hax" layout of the joint_recall
// task. Paper: Zhan, Zhao, Zhu & Tang 2025, "Overcoming Long-Context Limitations of State-Space
// Models via Context-Dependent Sparse Attention" (arXiv 2507.00449). Script: DeepGraphLearning/HAX,
// scripts/create_dataset.py, generate_data_item() (one example) and prepare_data() (the splits);
// the loss positions from scripts/joint_recall.py, Trainer.forward(); the vocabulary size from
// configs/mamba2.json ("vocab_size": 100).
//
// One example with n_c = 2 contexts A, B and n_k = 2 keys a, b (values 3, 2, 4, 1), with the
// answers the model must give under the second half:
//   BOS  A a 3 b 2  B b 4 a 1  SEP  B a 1 b 4  A b 2 a 3  PAD ...
//                                     ^   ^      ^   ^      labelled: 1 4 2 3
//
// - A table of n_c x n_k values, value[c][k] uniform from n_value values (repeats allowed), drawn
//   first, row-major. Then every context in random order, each as its context token followed by
//   all of its keys in a fresh random order, each key followed by its value; then SEP; then the
//   whole table again in fresh random orders. Loss on every key of the second half: after reading
//   it the model must emit that key's value in that context (the values are teacher-forced).
// - Token ids (the script's bias 10): value v is 10+v, key k is 10+n_value+k, context c is
//   10+n_value+max_n_key+c (offset by the largest key count, not this example's); BOS 1, PAD 3,
//   SEP 4. Defaults give values 10-25, keys 26-41, contexts 42-57 in a vocabulary of 100.
// - Length: the script pads every sequence to 2*max_n_context*(2*max_n_key+1)+2 tokens and trains
//   on inputs[:-1] with targets inputs[1:] under mask[:-1]. seqbench stores that shifted pair, so
//   seq_len is one less (1057 by default) and labels[t] holds the value where inputs[t] is a
//   second-half key. Padding comes after the last labelled position, so a causal model's scored
//   predictions never see it (the script also masks it out of attention).
// - Mixture: the script loops `for idx: for n_c in [5, max]: for n_k in [5, max]`, so example i of
//   a split has the (i mod G)-th (n_c, n_k) of that grid, n_c outer, n_k inner (G = grid size).
// - Distinct: the script keeps one set of every sequence generated, across train, valid and test
//   in that order, and redraws a repeat. Splits built with one DistinctExamples set do the same.
//
// Randomness: example i's first draw uses Rng::derive(seed, i), its a-th redraw (a >= 1)
// Rng::derive(Rng::derive(seed, i), a). Redraws are so rare at useful sizes that example i
// depends in practice only on (params, seed, i), but it is checked in order against all before it.
#pragma once
#include <cstdint>
#include <unordered_set>
#include <vector>

#include "datasets/token_dataset.h"

namespace seqbench {

struct JointRecallTableParams {
  int min_contexts = 5;   // n_c range; the script fixes the lower end at 5
  int max_contexts = 16;  // the script's max_n_context
  int min_keys = 5;       // n_k range; the script fixes the lower end at 5
  int max_keys = 16;      // the script's max_n_key
  int num_values = 16;    // the script's n_value
  int vocab_size = 100;   // the model's vocabulary (HAX configs: 100); >= joint_recall_table_min_vocab
};

constexpr int32_t kJointRecallBos = 1;
constexpr int32_t kJointRecallPad = 3;
constexpr int32_t kJointRecallSep = 4;
constexpr int32_t kJointRecallTokenBias = 10;

int32_t joint_recall_value_token(const JointRecallTableParams& p, int value);
int32_t joint_recall_key_token(const JointRecallTableParams& p, int key);
int32_t joint_recall_context_token(const JointRecallTableParams& p, int context);
// One past the largest token id: 10 + num_values + max_keys + max_contexts.
int32_t joint_recall_table_min_vocab(const JointRecallTableParams& p);
// Model input length: 2*max_contexts*(2*max_keys+1)+1.
int64_t joint_recall_table_seq_len(const JointRecallTableParams& p);

struct JointRecallShape {
  int contexts;  // n_c
  int keys;      // n_k
};
int64_t joint_recall_table_grid_size(const JointRecallTableParams& p);
JointRecallShape joint_recall_table_shape(const JointRecallTableParams& p, int64_t example);

// One example's content: its table and the order each half writes it in (what the script's
// random draws decide).
struct JointRecallTable {
  JointRecallShape shape;
  std::vector<int> values;                            // value of (context c, key k) at c*keys + k
  std::vector<int> context_order[2];                  // per half: contexts in writing order
  std::vector<std::vector<int>> key_order[2];         // per half, per written context: its keys in order
};

// Writes `table` in the layout above (seq_len tokens and labels); the test's reference for what
// generate_joint_recall_table draws.
void write_joint_recall_table(const JointRecallTableParams& p, const JointRecallTable& table, int32_t* inputs,
                              int32_t* labels);

// Throws std::invalid_argument naming the parameter, its value and the constraint it breaks.
void validate_joint_recall_table_params(const JointRecallTableParams& p);
// Throws std::invalid_argument when splits of these sizes, all distinct, would need more examples
// of some (n_c, n_k) than there are distinct sequences of that shape.
void validate_joint_recall_table_capacity(const JointRecallTableParams& p, const std::vector<int64_t>& split_sizes);

// The inputs of every example generated so far, as 64-bit fingerprints. A fingerprint collision
// could only redraw a new example, never keep a repeat.
class DistinctExamples {
 public:
  bool insert(const int32_t* inputs, int64_t seq_len);  // false when already seen
  size_t size() const { return seen_.size(); }

 private:
  std::unordered_set<uint64_t> seen_;
};

// num_examples examples, each distinct from every other and from those already in `seen` (which
// gains them). Throws std::invalid_argument if a distinct example cannot be found.
TokenDataset generate_joint_recall_table(const JointRecallTableParams& p, int64_t num_examples, uint64_t seed,
                                         DistinctExamples& seen);

}  // namespace seqbench
