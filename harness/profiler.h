// Measures what a model costs: prefill latency per length, per-token decode latency at a context
// length, training-step time and throughput, peak memory per phase, and decode-state bytes.
// Every timing is repeated under harness/timing_stats.h's stopping rule and stored with all its
// samples. Metric names, units and meanings are in reports/metric_catalog.cpp:
//   prefill_ms@len<L>, prefill_tokens_per_s@len<L>, peak_mem_bytes@prefill<L>,
//   state_bytes@len<L>, kv_bytes@len<L>,
//   decode_ms_per_token@ctx<C>, decode_tokens_per_s@ctx<C>, peak_mem_bytes@decode<C>,
//   train_step_ms, train_tokens_per_s, peak_mem_bytes@train,
// and beside each timing the model's FLOP rate and bandwidth (SequenceModel::work over the time):
//   prefill_tflops@len<L>, prefill_gb_per_s@len<L>, decode_tflops@ctx<C>, decode_gb_per_s@ctx<C>,
//   train_tflops, train_gb_per_s,
// and each as a fraction of the machine's measured limits (harness/machine_limits.h):
//   <phase>_compute_fraction<suffix>, <phase>_bandwidth_fraction<suffix> for the phases above.
#pragma once
#include <cstdint>
#include <ostream>
#include <vector>

#include "datasets/token_dataset.h"
#include "harness/profile_spec.h"
#include "harness/results_store.h"
#include "models/model_config.h"

namespace seqbench {

// Each phase builds a fresh model from `config` (max_seq_len raised to cover the longest length
// measured), so a phase's peak memory counts exactly that model's weights (and gradients and
// optimizer state for training), its workspaces and the phase's activations, and nothing the
// process held before. Dense kernels cost the same for any weights, so the initialised model
// times like the trained one.
//
// The training step runs on the first train_batch examples of `train_data` (cycled if fewer);
// without data, on random tokens at the longest profiled length with every position labelled.
// spec.train_batch must be resolved (> 0) when train_step is set. An interrupt request
// (Ctrl-C) throws RunInterrupted between repetitions.
std::vector<Metric> profile_model(const ModelConfig& config, const ProfileSpec& spec, const TokenDataset* train_data,
                                  uint64_t seed, std::ostream* log = nullptr);

}  // namespace seqbench
