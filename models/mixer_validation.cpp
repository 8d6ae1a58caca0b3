#include "models/mixer_validation.h"

namespace seqbench {

void validate_mixer_shape(const MixerSpec& spec) {
  if (spec.d_model <= 0 || spec.n_heads <= 0 || spec.d_model % spec.n_heads != 0)
    throw std::invalid_argument("mixer '" + spec.kind + "': d_model=" + std::to_string(spec.d_model) +
                                " must be a positive multiple of n_heads=" + std::to_string(spec.n_heads));
}

void check_mixer_input(const MixerSpec& spec, const Tensor& x, int rank, const char* what) {
  bool ok = x.rank() == rank && x.dim(-1) == spec.d_model;
  for (int i = 0; ok && i < rank - 1; ++i) ok = x.dim(i) >= 1;
  if (!ok) {
    const std::string expected = rank == 3 ? "[B, L, " : "[B, ";
    throw std::invalid_argument("mixer '" + spec.kind + "': " + what + " has shape " + shape_string(x.shape()) +
                                ", expected " + expected + std::to_string(spec.d_model) + "]");
  }
  if (x.device() != spec.device)
    throw std::invalid_argument("mixer '" + spec.kind + "': " + what + " is on " + device_name(x.device()) +
                                ", expected " + device_name(spec.device));
}

}  // namespace seqbench
