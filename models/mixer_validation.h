// Checks every mixer backend makes on what it is given: its spec's sizes, the input's shape,
// and the type and batch of the decode cache handed to forward() or step().
#pragma once
#include <stdexcept>
#include <string>

#include "models/mixer.h"

namespace seqbench {

// d_model and n_heads positive, d_model % n_heads == 0; std::invalid_argument with the numbers.
void validate_mixer_shape(const MixerSpec& spec);

// x must be [B, L, d_model] (rank 3) or, for step(), [B, d_model] (rank 2), with B, L >= 1.
void check_mixer_input(const MixerSpec& spec, const Tensor& x, int rank, const char* what);

// The backend's own cache type, or std::invalid_argument when another backend's cache was passed.
template <class CacheType>
CacheType& cache_as(MixerCache& cache, const MixerSpec& spec) {
  auto* typed = dynamic_cast<CacheType*>(&cache);
  if (!typed) throw std::invalid_argument("mixer '" + spec.kind + "' was given a decode cache made by another backend");
  return *typed;
}

// Whether a cache is handed to forward() (which fills it) or to a decode step().
enum class CacheUse { forward, decode_step };

// cache_as, then the check that the cache was made for `batch` sequences: std::invalid_argument
// naming both batches otherwise. Every backend's cache type has a `batch` member.
template <class CacheType>
CacheType& cache_for_batch(MixerCache& cache, const MixerSpec& spec, int64_t batch, CacheUse use) {
  CacheType& typed = cache_as<CacheType>(cache, spec);
  if (typed.batch == batch) return typed;
  const std::string made = std::to_string(typed.batch), got = std::to_string(batch);
  throw std::invalid_argument("mixer '" + spec.kind + "': " +
                              (use == CacheUse::forward
                                   ? "cache was made for batch " + made + ", forward got batch " + got
                                   : "decode input has batch " + got + ", cache was made for " + made));
}

}  // namespace seqbench
