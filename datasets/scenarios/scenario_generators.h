// Generators of the SCBench-style scenario tasks. SCBench's own synthetic-task generators are not
// in its repository (microsoft/MInference, scbench/ holds the prompts, the turn loops and the
// scorers; the data is downloaded from the Hugging Face hub), so these are written from its
// prompts and scorers (scbench/eval_utils.py, scbench/compute_scores.py) and, for variable
// tracking, from RULER (Hsieh et al. 2024, variable_tracking.py). Every session of one parameter
// set has the same layout (session.h); each turn asks about a different part of the context.
//
//   kv_retrieval     SCBench Retr.KV: `key : value ,` records with multi-token keys and values;
//                    a turn asks one key and is answered by its value.
//   prefix_suffix    SCBench Retr.Prefix-Suffix: strings `prefix middle suffix ,`; a turn gives a
//                    prefix and a suffix and is answered by the middle of the one string that has
//                    both, beside distractors sharing only the prefix or only the suffix.
//   variable_tracking RULER VT (SCBench Retr.MultiHop): chains `a1 = v ; a2 = a1 ; ...` among noise
//                    statements; a turn gives the value and is answered by the chain's names in order.
//   joint_recall     context blocks `C k v k v ...` (Zhan et al. 2025): a key's value depends on its
//                    block; each turn asks a key of a different block.
//   mixed            SCBench Mix (retrieval beside needles): kv records with pass key lines
//                    `PASS i d d d d ;` among them; turns alternate a retrieval and a pass key.
// Validation throws std::invalid_argument naming the parameter, its value and the constraint.
#pragma once
#include <cstdint>

#include "datasets/scenarios/session.h"

namespace seqbench {

struct KvSessionParams {
  int num_records = 16;
  int key_tokens = 2, value_tokens = 2;  // per record
  int num_symbols = 64;  // per pool: keys and values come from two disjoint pools of this size
  int num_turns = 5;
};
void validate_kv_session_params(const KvSessionParams& p);
Session generate_kv_session(const KvSessionParams& p, Rng& rng);
int32_t kv_session_vocab_size(const KvSessionParams& p);

struct PrefixSuffixParams {
  int num_strings = 16;
  int prefix_tokens = 1, middle_tokens = 2, suffix_tokens = 1;
  int num_symbols = 32;
  bool distractors = true;  // per asked string, one sharing its prefix and one sharing its suffix
  int num_turns = 5;
};
void validate_prefix_suffix_params(const PrefixSuffixParams& p);
Session generate_prefix_suffix_session(const PrefixSuffixParams& p, Rng& rng);
int32_t prefix_suffix_vocab_size(const PrefixSuffixParams& p);

struct VariableTrackingParams {
  int num_chains = 5;
  int hops = 2;              // a chain is hops + 1 names: a1 = v, a2 = a1, ..., the answer all of them
  int noise_statements = 4;  // `name = value ;` lines that belong to no chain
  int num_names = 64, num_values = 32;
  int num_turns = 5;
};
void validate_variable_tracking_params(const VariableTrackingParams& p);
Session generate_variable_tracking_session(const VariableTrackingParams& p, Rng& rng);
int32_t variable_tracking_vocab_size(const VariableTrackingParams& p);

struct JointRecallSessionParams {
  int num_contexts = 5, num_keys = 4, num_values = 16;
  int num_turns = 5;
};
void validate_joint_recall_session_params(const JointRecallSessionParams& p);
Session generate_joint_recall_session(const JointRecallSessionParams& p, Rng& rng);
int32_t joint_recall_session_vocab_size(const JointRecallSessionParams& p);

struct MixedSessionParams {
  KvSessionParams kv;
  int passkey_digits = 4;
};
void validate_mixed_session_params(const MixedSessionParams& p);
Session generate_mixed_session(const MixedSessionParams& p, Rng& rng);
int32_t mixed_session_vocab_size(const MixedSessionParams& p);

}  // namespace seqbench
