// Replays shared-context sessions on a trained model in one of SCBench's modes (scenario_spec.h),
// a batch of sessions side by side, and measures every turn: the greedy answer against the golden
// one, what the caches keep, what the turn's prefill, decoding, compression and snapshots cost,
// and how much of the asked record the KV cache still holds (needle_retained). Softmax layers
// (bare or behind a short convolution) get a PolicyKVCache (mixers/softmax/kv_policies/) under the
// cell's policy, dense included, so every figure is measured the same way; every other layer keeps
// its own cache or state, snapshotted and restored by MixerCache::clone. Turn tokens after a
// prefill go through decode steps, one per token, in every mode (a turn adds a few tokens; every
// mixer has a step).
#pragma once
#include <cstdint>
#include <memory>
#include <vector>

#include "datasets/scenarios/session.h"
#include "harness/scenarios/scenario_spec.h"
#include "mixers/softmax/kv_policies/kv_policy.h"
#include "models/sequence_model.h"

namespace seqbench {

constexpr int kDepthBins = 10;  // needle depth in tenths of the context

// Sums over the sessions of a turn (divide by `sessions`), and timings summed over batches.
struct TurnTotals {
  int64_t sessions = 0;
  double exact = 0, tokens_right = 0, tokens = 0;
  double kept_tokens = 0, kv_bytes = 0;                      // per sequence, summed over sessions
  std::vector<double> retained_by_layer;                     // per attention layer, summed over sessions
  std::vector<double> retained_by_depth, sessions_by_depth;  // per depth bin: sum of the layer mean, count
  double prefill_ms = 0, decode_ms = 0, compress_ms = 0, restore_ms = 0;
  int64_t decode_steps = 0, batches = 0;
  double peak_bytes = 0;  // the largest over batches
};

struct SessionRunResult {
  std::vector<TurnTotals> turns;  // turns[t] is turn t + 1
  double context_prefill_ms = 0;  // multi-request: shared context prefill and compression, summed over batches
  int64_t attention_layers = 0;
  int64_t context_tokens = 0;
};

struct SessionRunSettings {
  SessionMode mode = SessionMode::multi_turn;
  std::shared_ptr<const KvPolicy> policy;  // for the softmax layers; null: dense
  bool every_turn = false;
  bool golden_answers = true;
  int64_t batch = 100;
  std::string clock = "wall";  // harness/timer.h
};

// The turn's first answer token's logits and the greedy answers, per turn, for every session in
// order: what tests compare across modes and with fresh prefills of the same tokens.
struct GreedyTrace {
  std::vector<std::vector<float>> first_logits;  // [turn][session * vocab]
  std::vector<std::vector<int32_t>> answers;     // [turn][session * answer length]
};

// Every session must share one layout (datasets/scenarios/session.h); the model's max_seq_len must
// cover it. `trace`, when given, receives every turn's logits and answers.
SessionRunResult run_sessions(SequenceModel& model, const std::vector<Session>& sessions,
                              const SessionRunSettings& settings, GreedyTrace* trace = nullptr);

}  // namespace seqbench
