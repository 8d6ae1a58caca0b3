#include "harness/lr_selection.h"

#include <cmath>
#include <cstdio>

namespace seqbench {
namespace {

std::string loss_text(double loss) {
  if (std::isnan(loss)) return "nan";
  return loss > 0 ? "inf" : "-inf";
}

// True when `candidate` should replace `incumbent` as the kept attempt.
bool better_attempt(const TrainResult& candidate, const TrainResult& incumbent) {
  if (candidate.valid_accuracy != incumbent.valid_accuracy) return candidate.valid_accuracy > incumbent.valid_accuracy;
  return candidate.final_train_loss < incumbent.final_train_loss;
}

}  // namespace

std::string format_lr(double lr) {
  char buffer[32];
  std::snprintf(buffer, sizeof(buffer), "%.3g", lr);
  return buffer;
}

int LrSelection::diverged() const {
  int n = 0;
  for (const LrAttempt& a : attempts) n += a.result.diverged ? 1 : 0;
  return n;
}

LrSelection select_learning_rate(const ModelConfig& config, const std::vector<double>& learning_rates,
                                 const TrainConfig& train, const TokenDataset& train_split,
                                 const TokenDataset& valid_split, uint64_t shuffle_seed, std::ostream& log) {
  LrSelection selection;
  for (double lr : learning_rates) {
    TrainConfig attempt_config = train;
    attempt_config.optimizer.lr = lr;
    auto model = std::make_unique<SequenceModel>(config);
    auto on_epoch = [&](const TrainProgress& p) {
      char line[160];
      char accuracy[32] = "";
      if (p.epoch_end) std::snprintf(accuracy, sizeof(accuracy), "  valid acc %.4f", p.valid_accuracy);
      std::snprintf(line, sizeof(line), "    lr %-8s epoch %2d/%d  step %5lld/%lld  loss %.4f%s  %.1fs\n",
                    format_lr(lr).c_str(), p.epoch, p.epochs, static_cast<long long>(p.step),
                    static_cast<long long>(p.total_steps), p.train_loss, accuracy, p.elapsed_s);
      log << line << std::flush;
    };
    // Every rate shuffles the training data the same way, so rates differ in the rate alone.
    TrainResult result = train_model(*model, train_split, valid_split, attempt_config, shuffle_seed, on_epoch);
    selection.attempts.push_back({lr, result});
    if (result.diverged) {
      log << "    lr " << format_lr(lr) << " diverged at step " << result.diverged_step << " (loss "
          << loss_text(result.diverged_loss) << ")\n";
      continue;
    }
    if (!selection.best || better_attempt(result, selection.attempts[*selection.best].result)) {
      selection.best = selection.attempts.size() - 1;
      selection.model = std::move(model);
    }
  }
  return selection;
}

nlohmann::json lr_sweep_json(const LrSelection& selection) {
  nlohmann::json sweep = nlohmann::json::array();
  for (const LrAttempt& a : selection.attempts) {
    const TrainResult& r = a.result;
    nlohmann::json entry{{"lr", a.lr}, {"status", r.diverged ? "diverged" : "trained"}, {"steps", r.steps}};
    if (r.diverged) {
      entry["diverged_step"] = r.diverged_step;
      entry["diverged_loss"] = loss_text(r.diverged_loss);
    } else {
      entry["valid_accuracy"] = r.valid_accuracy;
      entry["train_loss"] = r.final_train_loss;
      entry["early_stopped"] = r.early_stopped;
    }
    sweep.push_back(std::move(entry));
  }
  return sweep;
}

std::string all_diverged_message(const LrSelection& selection) {
  std::string out = selection.attempts.size() == 1 ? "the learning rate diverged: " : "every learning rate diverged: ";
  for (size_t i = 0; i < selection.attempts.size(); ++i) {
    const LrAttempt& a = selection.attempts[i];
    out += (i ? ", " : "") + std::string("lr ") + format_lr(a.lr) + " at step " + std::to_string(a.result.diverged_step) +
           " (loss " + loss_text(a.result.diverged_loss) + ")";
  }
  return out;
}

}  // namespace seqbench
