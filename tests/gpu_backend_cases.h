// The model configurations the whole-model GPU tests run: every registry backend, the variants that
// take other kernels, a short conv and a hybrid.
#pragma once
#include <vector>

namespace seqbench::gpu_checks {

struct BackendCase {
  const char* backend;
  const char* params;  // mixer_params JSON
};

inline const std::vector<BackendCase> kBackends = {
    {"softmax", "{}"},
    {"linear", R"({"feature_map": "elu"})"},
    {"linear", R"({"feature_map": "taylor", "feature_dim": 4, "short_conv": 3})"},
    {"gla", R"({"decay": "channel"})"},
    {"gla", R"({"decay": "scalar"})"},
    {"delta", "{}"},
    {"delta", R"({"gated": true})"},
    {"sliding_window", R"({"window": 5})"},
    {"sparse", R"({"pattern": "sink_window", "sinks": 2, "window": 4})"},
    {"sparse", R"({"pattern": "block_topk", "block_size": 4, "top_k": 1})"},
    {"ssm", R"({"d_state": 8, "head_dim": 8})"},
    {"gla,softmax", "{}"},
};

}  // namespace seqbench::gpu_checks
