#include "harness/suites.h"

namespace seqbench {

// Each suite is the same JSON a user could write to a file and pass with --sweep.
const std::vector<SuiteInfo>& builtin_suites() {
  static const std::vector<SuiteInfo> suites{
      {"smoke",
       "MQAR at seq_len 64 with 4/8/16 kv pairs; softmax vs linear attention (elu+1), d_model 64, 2 layers",
       R"({
  "name": "smoke",
  "description": "MQAR, softmax vs linear attention, d_model 64, 2 layers, seq_len 64",
  "seeds": [0],
  "backends": ["softmax", {"name": "linear", "feature_map": "elu"}],
  "tasks": [{"name": "mqar", "vocab_size": 512, "seq_len": 64, "num_kv_pairs": [4, 8, 16],
             "num_train": 10000, "num_test": 500}],
  "model": {"d_model": 64, "n_layers": 2, "n_heads": 1, "mlp_expand": 0},
  "train": {"lr": [1e-2], "epochs": 6, "batch_size": 32, "early_stop_accuracy": 0.99, "eval_every_steps": 250}
})"},
      {"latency",
       "Profile only (no training): prefill latency at 64..1024 tokens, decode per token at 512, train step, memory",
       R"({
  "name": "latency",
  "description": "Cost of each backend, untrained: prefill 64..1024, decode at 512, one train step; d_model 64, 2 layers",
  "seeds": [0],
  "backends": ["softmax", {"name": "linear", "feature_map": "elu"}, "delta", "gla", "sliding_window", "sparse", "ssm"],
  "tasks": [{"name": "mqar", "vocab_size": 512, "seq_len": 256, "num_kv_pairs": 8, "num_train": 16, "num_test": 4}],
  "model": {"d_model": 64, "n_layers": 2, "n_heads": 1, "mlp_expand": 0},
  "train": {"epochs": 0, "batch_size": 8},
  "profile": {"prefill_lengths": [64, 128, 256, 512, 1024], "decode_context": 512, "decode_tokens": 32,
              "train_step": true, "target_rel_noise": 0.02, "budget_s": 0.5}
})"},
      {"recall-long",
       "Length extrapolation: mqar, joint_recall, passkey, needle trained at 128 tokens, tested at 128/256/512 "
       "(passkey and needle at depths 0.1/0.5/0.9); softmax, linear (elu), sliding_window (32); d_model 64, 2 layers",
       R"({
  "name": "recall-long",
  "description": "Recall at 2x and 4x the training length; sinusoidal positions so every backend can run longer",
  "seeds": [0],
  "backends": ["softmax", {"name": "linear", "feature_map": "elu"}, {"name": "sliding_window", "window": 32}],
  "tasks": [
    {"name": "mqar", "vocab_size": 640, "seq_len": 128, "num_kv_pairs": 4, "test_lengths": [[256, 512]],
     "num_train": 40000, "num_test": 128},
    {"name": "joint_recall", "layout": "mqar", "vocab_size": 256, "seq_len": 128, "num_contexts": 2, "num_kv_pairs": 4,
     "num_queries": 8, "test_lengths": [[256, 512]], "num_train": 40000, "num_test": 128},
    {"name": "passkey", "seq_len": 128, "depth": [0.1, 0.5, 0.9], "test_lengths": [[256, 512]],
     "num_train": 16000, "num_test": 128},
    {"name": "needle", "variant": "single", "haystack": "filler", "value_digits": 4, "seq_len": 128,
     "depth": [0.1, 0.5, 0.9], "test_lengths": [[256, 512]], "num_train": 16000, "num_test": 128}],
  "model": {"d_model": 64, "n_layers": 2, "n_heads": 1, "mlp_expand": 0, "position": "sinusoidal"},
  "train": {"lr": [3e-3], "epochs": 1, "batch_size": 32, "early_stop_accuracy": 0.99, "eval_every_steps": 250}
})"},
      {"zoology-mqar",
       "Zoology's MQAR comparison, CPU-sized: every mixer family at d_model 32/64 and 4/16 kv pairs, seq_len 64, "
       "2 layers, a two-point learning-rate sweep per cell chosen on the valid split",
       R"({
  "name": "zoology-mqar",
  "description": "Recall vs state size (Zoology Fig. 2 style) on MQAR at seq_len 64; short convolutions where the mixers' papers have one, 50000 examples seen once",
  "seeds": [0],
  "backends": ["softmax",
               {"name": "sliding_window", "window": 16},
               {"name": "linear", "feature_map": "elu"},
               {"name": "linear", "feature_map": "elu", "short_conv": 4},
               {"name": "linear", "feature_map": "taylor", "feature_dim": 16, "short_conv": 4},
               {"name": "gla", "decay": "channel", "short_conv": 4},
               {"name": "ssm"},
               {"name": "delta", "gated": true, "short_conv": 4},
               {"name": "gla,softmax"}],
  "tasks": [{"name": "mqar", "vocab_size": 512, "seq_len": 64, "num_kv_pairs": [4, 16],
             "num_train": 50000, "num_valid": 300, "num_test": 300}],
  "model": {"d_model": [32, 64], "n_layers": 2, "n_heads": 1, "mlp_expand": 0},
  "train": {"lr": [3e-3, 1e-2], "epochs": 1, "batch_size": 32, "early_stop_accuracy": 0.99, "eval_every_steps": 250}
})"},
      {"zoology",
       "Zoology's own MQAR experiment on the GPU, scaled to about 5 minutes on one H200: vocab 8192, its training "
       "mixture (64/4, 128/8, 256/16, 256/32, 256/64) at a fifth of its examples, its seven test segments "
       "(64/4 .. 1024/256), widths 64/128/256, two of its learning rates, eight mixers as their papers configure them",
       R"({
  "name": "zoology",
  "description": "Zoology MQAR (zoology/experiments/paper_configs/arxiv24_based_figure2): accuracy vs width and vs state size; GPU, about 5 minutes",
  "seeds": [0],
  "device": "cuda",
  "backends": [{"name": "softmax", "short_conv": 3},
               {"name": "linear", "feature_map": "taylor", "feature_dim": 16, "short_conv": 3},
               {"name": "linear", "feature_map": "elu", "short_conv": 3},
               {"name": "gla", "decay": "channel", "short_conv": 3},
               {"name": "delta", "gated": true, "short_conv": 4},
               {"name": "ssm", "d_state": 16, "head_dim": 64},
               {"name": "sliding_window", "window": 64, "short_conv": 3},
               {"name": "ssm,sliding_window", "ssm": {"d_state": 16, "head_dim": 64}, "sliding_window": {"window": 64}}],
  "tasks": [{"name": "mqar", "vocab_size": 8192,
             "train_segments": [[[64, 4, 20000], [128, 8, 4000], [256, 16, 4000], [256, 32, 4000], [256, 64, 4000]]],
             "test_segments": [[[64, 4], [64, 8], [64, 16], [128, 32], [256, 64], [512, 128], [1024, 256]]],
             "num_valid": 200, "num_test": 1000}],
  "model": {"d_model": [64, 128, 256], "n_layers": 2, "n_heads": 1, "mlp_expand": 0, "position": "none"},
  "train": {"lr": [3.16e-3, 1e-2], "epochs": 4, "batch_size": 256, "weight_decay": 0.1, "beta1": 0.9,
            "beta2": 0.999, "warmup_fraction": 0, "min_lr_fraction": 0, "grad_clip": 0,
            "early_stop_accuracy": 0.99, "time_budget_s": 6}
})"},
      {"zoology-full",
       "Zoology's MQAR experiment at its own scale (opt-in; several hours on one H200): the full training mixture "
       "(180,000 examples), 32 epochs, its four learning rates, widths 64..512",
       R"({
  "name": "zoology-full",
  "description": "Zoology MQAR at the paper's scale (arxiv24_based_figure2: 100k/20k x4 training examples, 1000 per test segment, 32 epochs, lr logspace(-3, -1.5, 4)); GPU, hours",
  "seeds": [0],
  "device": "cuda",
  "backends": [{"name": "softmax", "short_conv": 3},
               {"name": "linear", "feature_map": "taylor", "feature_dim": 16, "short_conv": 3},
               {"name": "linear", "feature_map": "elu", "short_conv": 3},
               {"name": "gla", "decay": "channel", "short_conv": 3},
               {"name": "delta", "short_conv": 4},
               {"name": "delta", "gated": true, "short_conv": 4},
               {"name": "ssm", "d_state": 16, "head_dim": 64},
               {"name": "sliding_window", "window": 64, "short_conv": 3},
               {"name": "ssm,sliding_window", "ssm": {"d_state": 16, "head_dim": 64}, "sliding_window": {"window": 64}}],
  "tasks": [{"name": "mqar", "vocab_size": 8192,
             "train_segments": [[[64, 4, 100000], [128, 8, 20000], [256, 16, 20000], [256, 32, 20000], [256, 64, 20000]]],
             "test_segments": [[[64, 4], [64, 8], [64, 16], [128, 32], [256, 64], [512, 128], [1024, 256]]],
             "num_valid": 1000, "num_test": 1000}],
  "model": {"d_model": [64, 128, 256, 512], "n_layers": 2, "n_heads": 2, "mlp_expand": 0, "position": "none"},
  "train": {"lr": [1e-3, 3.16e-3, 1e-2, 3.16e-2], "epochs": 32, "batch_size": 256, "weight_decay": 0.1,
            "beta1": 0.9, "beta2": 0.999, "warmup_fraction": 0, "min_lr_fraction": 0, "grad_clip": 0,
            "early_stop_accuracy": 0.99}
})"},
      {"joint-recall-hax",
       "Joint recall at the HAX paper's sizes on the GPU (opt-in; 1-2 hours on one H200): its data (1.44M "
       "training sequences of 1057 tokens), its Mamba-2 widths and state, Mamba-2 + sliding window, softmax and the "
       "other mixers; one pass over the data instead of the paper's 400k steps",
       R"({
  "name": "joint-recall-hax",
  "description": "Joint recall (Zhan et al. 2025, DeepGraphLearning/HAX configs and scripts/joint_recall.py): lr 2e-3, batch 64, warm-up then constant; one epoch",
  "seeds": [0],
  "device": "cuda",
  "backends": [{"name": "ssm", "d_state": 32, "head_dim": 32},
               {"name": "ssm,sliding_window", "ssm": {"d_state": 32, "head_dim": 16}, "sliding_window": {"window": 64}},
               {"name": "softmax"},
               {"name": "sliding_window", "window": 64},
               {"name": "linear", "feature_map": "taylor", "feature_dim": 16, "short_conv": 4},
               {"name": "gla", "decay": "channel", "short_conv": 4},
               {"name": "delta", "gated": true, "short_conv": 4}],
  "tasks": [{"name": "joint_recall", "layout": "hax", "num_train": 1440000, "num_valid": 14400, "num_test": 14400}],
  "model": {"d_model": [64, 128], "n_layers": 2, "n_heads": 4, "mlp_expand": 0},
  "train": {"lr": [2e-3], "epochs": 1, "batch_size": 64, "weight_decay": 0.01, "beta1": 0.9, "beta2": 0.999,
            "warmup_fraction": 0.2, "min_lr_fraction": 1, "grad_clip": 0, "early_stop_accuracy": 1,
            "eval_every_steps": 2500}
})"},
      {"scbench",
       "SCBench-style shared-context sessions, CPU-sized: kv retrieval over 8 and 12 records, 5 turns; softmax, GLA and "
       "a softmax/GLA hybrid (short conv 3, d_model 32); every KV policy in multi-turn, multi-request, single-request "
       "and one-pass mode, 100 sessions per cell",
       R"({
  "name": "scbench",
  "description": "KV-centric shared-context sessions (SCBench-style) on the models seqbench trains, CPU-sized",
  "seeds": [0],
  "backends": [{"name": "softmax", "short_conv": 3}, {"name": "gla", "short_conv": 3}, {"name": "softmax,gla", "short_conv": 3}],
  "tasks": [{"name": "scbench_kv", "num_records": [8, 12], "key_tokens": 1, "value_tokens": 2, "num_symbols": 32,
             "num_train": 4000, "num_test": 100}],
  "model": {"d_model": 32, "n_layers": 2, "n_heads": 2, "mlp_expand": 0},
  "train": {"lr": [1e-2], "epochs": 3, "batch_size": 32, "early_stop_accuracy": 0.92, "eval_every_steps": 50},
  "scenario": {"modes": ["multi-turn", "multi-request", "single-request", "one-pass"],
               "policies": ["dense",
                            {"name": "streaming_llm", "budget": [0.25, 0.5], "sinks": 2},
                            {"name": "h2o", "budget": 0.25},
                            {"name": "snapkv", "budget": [0.25, 0.5], "window": 4},
                            {"name": "pyramidkv", "budget": 0.25, "window": 4},
                            {"name": "quest", "budget": 0.25, "page_size": 4},
                            {"name": "kivi", "bits": 2, "residual": 8},
                            {"name": "a_shape", "budget": 0.25, "sinks": 2},
                            {"name": "tri_shape", "budget": 0.25, "sinks": 2, "last": 4}],
               "sessions": 100, "batch": 100}
})"},
      {"scbench-gpu",
       "SCBench-style sessions on the GPU: kv retrieval over 8 and 32 records and mixed retrieval + pass key over 16 "
       "records (up to 161-token contexts); softmax, GLA and a softmax/GLA hybrid at d_model 64; every KV policy at two "
       "budgets, compressed at the first prefill (SCBench's setting)",
       R"({
  "name": "scbench-gpu",
  "description": "KV-centric shared-context sessions (SCBench-style), longer contexts and more training, for the GPU",
  "seeds": [0], "device": "cuda",
  "backends": [{"name": "softmax", "short_conv": 4}, {"name": "gla", "short_conv": 4}, {"name": "softmax,gla", "short_conv": 4}],
  "tasks": [{"name": "scbench_kv", "num_records": [8, 32], "key_tokens": 1, "value_tokens": 2, "num_symbols": 64,
             "num_train": 40000, "num_test": 100},
            {"name": "scbench_mixed", "num_records": 16, "key_tokens": 1, "value_tokens": 2, "num_symbols": 64,
             "num_train": 40000, "num_test": 100}],
  "model": {"d_model": 64, "n_layers": 2, "n_heads": 2, "mlp_expand": 0},
  "train": {"lr": [1e-2], "epochs": 2, "batch_size": 32, "early_stop_accuracy": 0.95, "eval_every_steps": 250},
  "scenario": {"modes": ["multi-turn", "multi-request", "single-request", "one-pass"],
               "policies": ["dense",
                            {"name": "streaming_llm", "budget": [0.125, 0.25], "sinks": 2},
                            {"name": "h2o", "budget": [0.125, 0.25]},
                            {"name": "snapkv", "budget": [0.125, 0.25], "window": 4},
                            {"name": "pyramidkv", "budget": [0.125, 0.25], "window": 4},
                            {"name": "quest", "budget": [0.125, 0.25], "page_size": 4},
                            {"name": "kivi", "bits": [2, 4], "residual": 16},
                            {"name": "a_shape", "budget": 0.25},
                            {"name": "tri_shape", "budget": 0.25}],
               "sessions": 100, "batch": 100}
})"},
  };
  return suites;
}

nlohmann::json suite_spec(const std::string& name) {
  std::string known;
  for (const auto& suite : builtin_suites()) {
    if (suite.name == name) return parse_sweep_text(suite.spec_json, "suite '" + name + "'");
    known += (known.empty() ? "" : ", ") + suite.name;
  }
  throw SweepError("unknown suite '" + name + "'; known suites: " + known);
}

}  // namespace seqbench
