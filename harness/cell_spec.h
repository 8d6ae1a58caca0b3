// A cell is one point of a sweep: backend x task x sizes x seed (llama-bench style: a cell is
// data; measuring and printing are elsewhere).
#pragma once
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "harness/model_trainer.h"
#include "harness/profile_spec.h"
#include "harness/scenarios/scenario_spec.h"
#include "models/model_config.h"

namespace seqbench {

struct CellSpec {
  std::string backend;                                   // registry name or pattern
  nlohmann::json mixer_params = nlohmann::json::object();
  std::string task;
  nlohmann::json task_params = nlohmann::json::object();  // overrides of the task's defaults
  int d_model = 64;
  int n_layers = 2;
  int n_heads = 1;
  int mlp_expand = 4;
  std::string position = "learned";
  TrainConfig train;                         // train.epochs == 0: profile only, no training
  std::vector<double> learning_rates{1e-3};  // more than one: train each, keep the best (Zoology)
  uint64_t seed = 0;
  std::string device = "cpu";
  std::string precision = "fp32";            // of the projections: fp32 or bf16 (models/precision.h)
  ProfileSpec profile;                       // what the profiler measures after training
  ScenarioSpec scenario;                     // enabled: replay the task's sessions (harness/scenarios/)

  nlohmann::json to_json() const;
  std::string label() const;  // short human-readable description for progress lines
  ModelConfig model_config(int vocab_size, int max_seq_len) const;
};

}  // namespace seqbench
