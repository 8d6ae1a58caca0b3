// Joint recall: associative recall where the value of a key depends on the context it appears
// in (Zhan, Zhao, Zhu & Tang 2025, "Overcoming Long-Context Limitations of State-Space Models via
// Context-Dependent Sparse Attention", arXiv 2507.00449, DeepGraphLearning/HAX). The paper
// defines the task as recalling "the value associated with a key given in a specified context"
// and proves that SSMs cannot solve its multi-query form in sub-quadratic time. This is the
// task's "mqar" layout, built MQAR-style (datasets/mqar_generator.h) with queries among filler;
// the paper's own layout, as its data script writes it, is datasets/joint_recall_table_generator.h.
//
//   c1 k1 v11 k2 v12 ... | c2 k2 v22 k1 v21 ... | ... | filler ... c2 k1 ... c1 k2 ... filler
//   '--- context block 1 --' '--- context block 2 --'     '------- query region ---------'
//
// - num_contexts context blocks. Block j opens with its context token c_j and lists the SAME
//   num_kv_pairs keys (in a fresh random order per block), each followed by a value. All
//   num_contexts * num_kv_pairs values of an example are distinct, so every key's value differs
//   from context to context: a key alone does not determine the answer, the (context, key) pair
//   does.
// - The query region holds num_queries distinct (context, key) queries at uniformly random,
//   non-overlapping even offsets; a query is the two tokens "c_j k_i" and the label sits on the
//   key (next-token form: after reading c_j k_i the model must emit v_ji).
// - Token ranges: contexts from [1, vocab_size/8), keys from [vocab_size/8, vocab_size/2), values
//   from [vocab_size/2, vocab_size). The remaining query-region positions are uniform random
//   tokens from [0, vocab_size) when random_non_queries is set (as MQAR), else 0.
#pragma once
#include <cstdint>

#include "datasets/token_dataset.h"

namespace seqbench {

struct JointRecallParams {
  int vocab_size = 8192;
  int seq_len = 128;
  int num_contexts = 4;
  int num_kv_pairs = 4;   // keys per context (the same keys in every context)
  int num_queries = 8;    // <= num_contexts * num_kv_pairs
  bool random_non_queries = true;
};

// Tokens taken by the context blocks: num_contexts * (1 + 2 * num_kv_pairs).
int64_t joint_recall_context_length(const JointRecallParams& params);

// Throws std::invalid_argument naming the parameter, its value and the constraint it breaks.
void validate_joint_recall_params(const JointRecallParams& params);

// Example i depends only on (params, seed, i): it uses the stream Rng::derive(seed, i).
TokenDataset generate_joint_recall(const JointRecallParams& params, int64_t num_examples, uint64_t seed);

}  // namespace seqbench
