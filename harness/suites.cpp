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
       "2 layers, a two-point learning-rate sweep per cell with the best kept",
       R"({
  "name": "zoology-mqar",
  "description": "Recall vs state size (Zoology Fig. 2 style) on MQAR at seq_len 64",
  "seeds": [0],
  "backends": ["softmax",
               {"name": "sliding_window", "window": 16},
               {"name": "linear", "feature_map": "elu"},
               {"name": "linear", "feature_map": "elu", "short_conv": 4},
               {"name": "linear", "feature_map": "taylor", "feature_dim": 16, "short_conv": 4},
               {"name": "gla", "decay": "channel"},
               {"name": "ssm"},
               {"name": "delta", "gated": true},
               {"name": "gla,softmax"}],
  "tasks": [{"name": "mqar", "vocab_size": 512, "seq_len": 64, "num_kv_pairs": [4, 16],
             "num_train": 10000, "num_test": 300}],
  "model": {"d_model": [32, 64], "n_layers": 2, "n_heads": 1, "mlp_expand": 0},
  "train": {"lr": [3e-3, 1e-2], "epochs": 5, "batch_size": 32, "early_stop_accuracy": 0.99, "eval_every_steps": 250}
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
