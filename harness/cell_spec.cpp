#include "harness/cell_spec.h"

#include "reports/run_matching.h"

namespace seqbench {

nlohmann::json CellSpec::to_json() const {
  const OptimizerConfig& o = train.optimizer;
  nlohmann::json out{{"backend", backend},
                     {"mixer_params", mixer_params},
                     {"task", task},
                     {"task_params", task_params},
                     {"model", {{"d_model", d_model}, {"n_layers", n_layers}, {"n_heads", n_heads},
                                {"mlp_expand", mlp_expand}, {"position", position}}},
                     {"train", {{"lr", learning_rates}, {"epochs", train.epochs}, {"batch_size", train.batch_size},
                                {"weight_decay", o.weight_decay}, {"warmup_fraction", o.warmup_fraction},
                                {"beta1", o.beta1}, {"beta2", o.beta2}, {"grad_clip", o.grad_clip},
                                {"early_stop_accuracy", train.early_stop_accuracy}, {"max_steps", train.max_steps}, {"eval_every_steps", train.eval_every_steps},
                                {"time_budget_s", train.time_budget_s}}},
                     {"seed", seed},
                     {"device", device}};
  // Only a bf16 cell names its precision: fp32 cells keep the description runs stored before the
  // option existed, so compare and gate still match them.
  if (precision != "fp32") out["precision"] = precision;
  if (profile.enabled()) out["profile"] = profile.to_json();
  if (scenario.enabled) out["scenario"] = scenario.to_json();
  return out;
}

std::string CellSpec::label() const {
  // The label compare and gate give the stored cell, so a cell reads the same while it runs.
  CellRecord record;
  record.backend = backend;
  record.task = task;
  record.params_json = to_json().dump();
  record.d_model = d_model;
  record.layers = n_layers;
  return cell_label(record);
}

ModelConfig CellSpec::model_config(int vocab_size, int max_seq_len) const {
  ModelConfig c;
  c.vocab_size = vocab_size;
  c.d_model = d_model;
  c.n_layers = n_layers;
  c.n_heads = n_heads;
  c.max_seq_len = max_seq_len;
  c.mlp_expand = mlp_expand;
  c.position = position;
  c.backend = backend;
  c.mixer_params = mixer_params;
  c.device = parse_device(device);
  c.precision = parse_precision(precision);
  c.seed = Rng::derive(seed, 7);
  return c;
}

}  // namespace seqbench
