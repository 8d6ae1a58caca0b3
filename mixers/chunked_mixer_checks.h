// The conformance checks of tests/mixer_checks.h at the sizes the chunked recurrent backends (linear,
// delta, gla) are held to: chunk sizes that do not divide the sequence (67 tokens in chunks of 16,
// 9 in chunks of 4), so the carried state crosses full chunks and a partial last one.
#pragma once
#include <string>

#include "tests/mixer_checks.h"

namespace seqbench {
namespace mixer_checks {

// `params` selects the variant (a decay mode, gated or not) and must not set chunk_size.
inline void check_chunked_mixer_conformance(const std::string& kind,
                                            const nlohmann::json& params = nlohmann::json::object()) {
  nlohmann::json long_chunks = params, short_chunks = params;
  long_chunks["chunk_size"] = 16;
  short_chunks["chunk_size"] = 4;
  const MixerSpec spec = make_spec(kind, 12, 3, params);
  check_thread_count_independence(make_spec(kind, 24, 3, long_chunks), 4, 67, 601);
  check_backward_accumulates(make_spec(kind, 12, 3, short_chunks), 2, 9, 602);
  check_initialisation_is_seeded(spec);
  check_rejects_bad_inputs(spec);
  check_rejects_bad_specs(spec);
}

}  // namespace mixer_checks
}  // namespace seqbench
