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
