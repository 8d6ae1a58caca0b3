// One spelling of a backend everywhere a person reads it (Markdown, CSV, JSON, HTML legends,
// compare and gate rows): the registry name, then its mixer parameters in parentheses, e.g.
// linear(feature_map=elu), gla,softmax(gla={decay=scalar}), sparse(pattern=block_topk,top_k=2).
#pragma once
#include <nlohmann/json.hpp>
#include <string>

namespace seqbench {

// `cell_params` is a cell's stored description (its "mixer_params" object is read); a cell
// without mixer parameters reads as the bare backend name.
std::string backend_label(const std::string& backend, const nlohmann::json& cell_params);

}  // namespace seqbench
