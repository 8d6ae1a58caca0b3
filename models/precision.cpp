#include "models/precision.h"

#include <stdexcept>

namespace seqbench {
namespace {

thread_local Precision current = Precision::fp32;

}  // namespace

Precision parse_precision(const std::string& name) {
  if (name == "fp32") return Precision::fp32;
  if (name == "bf16") return Precision::bf16;
  throw std::invalid_argument("unknown precision '" + name + "': expected fp32 or bf16");
}

std::string precision_name(Precision precision) { return precision == Precision::bf16 ? "bf16" : "fp32"; }

Precision current_precision() { return current; }

PrecisionScope::PrecisionScope(Precision precision) : previous_(current) { current = precision; }

PrecisionScope::~PrecisionScope() { current = previous_; }

}  // namespace seqbench
