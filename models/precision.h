// What the projections (every LinearLayer: mixers' q/k/v/o, MLPs, the LM head) compute in: fp32, or
// bf16 operands with fp32 accumulation, fp32 outputs and fp32 master weights (mixed precision, what
// torch.autocast(dtype=torch.bfloat16) does for linear layers). A model sets it for the length of each
// of its calls with a PrecisionScope, as autocast is a scope; layers read it when they run. Mixer
// cores, norms and the loss stay fp32 in both.
#pragma once
#include <string>

namespace seqbench {

enum class Precision { fp32, bf16 };

Precision parse_precision(const std::string& name);  // "fp32" or "bf16"; throws std::invalid_argument
std::string precision_name(Precision precision);

// This thread's current precision (fp32 outside any scope).
Precision current_precision();

class PrecisionScope {
 public:
  explicit PrecisionScope(Precision precision);
  ~PrecisionScope();
  PrecisionScope(const PrecisionScope&) = delete;
  PrecisionScope& operator=(const PrecisionScope&) = delete;

 private:
  Precision previous_;
};

}  // namespace seqbench
