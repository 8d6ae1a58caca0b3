// Sweep specs: JSON whose list-valued fields are axes that expand into a grid of cells.
//
//   { "name": "smoke", "description": "...", "seeds": [0], "device": "cpu",
//     "backends": ["softmax", {"name": "linear", "feature_map": ["identity", "elu"]}],
//     "tasks":    [{"name": "mqar", "seq_len": 64, "num_kv_pairs": [4, 8, 16]}],
//     "model":    {"d_model": [64, 128], "n_layers": 2, "n_heads": 1},
//     "train":    {"lr": [1e-3, 3e-3], "epochs": 10, "batch_size": 32},
//     "profile":  {"prefill_lengths": [64, 256], "decode_context": 256, "train_step": true} }
//
// Every list under a backend object, a task object, "model" or "train" is an axis of the grid,
// except train.lr: several learning rates are trained inside one cell and the best is kept.
// "profile" (harness/profile_spec.h) is measured in every cell; train.epochs 0 = profile only.
#pragma once
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <vector>

#include "harness/cell_spec.h"

namespace seqbench {

class SweepError : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

struct Sweep {
  std::string name;
  std::string description;
  std::vector<CellSpec> cells;
};

Sweep expand_sweep(const nlohmann::json& spec);
// Parse errors name the origin (file or suite) and the position.
nlohmann::json parse_sweep_text(const std::string& text, const std::string& origin);
nlohmann::json read_sweep_file(const std::string& path);

// Cartesian product over the list-valued keys of obj (keys in `scalar_lists` stay lists).
std::vector<nlohmann::json> expand_axes(const nlohmann::json& obj, const std::vector<std::string>& scalar_lists = {});

}  // namespace seqbench
