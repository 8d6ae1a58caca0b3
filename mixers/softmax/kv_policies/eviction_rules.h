// Which cached tokens an eviction policy keeps, per (batch, head) row of a KV cache, written as the
// papers and SCBench's code (microsoft/MInference minference/modules/) state them. A row's slots
// hold tokens in order; every rule returns the kept slots ascending, so the most recent tokens
// stay last. Ties in a ranking go to the earlier slot (torch.topk leaves them unspecified).
// Checked against hand-computed cases in tests/test_kv_policies.cpp.
#pragma once
#include <cstdint>
#include <vector>

namespace seqbench {

// StreamingLLM (Xiao et al. 2024, Sec. 3.2; MInference StreamingLLMKVCluster): the first `sinks`
// tokens and the most recent budget - sinks; everything when used <= budget.
std::vector<int32_t> streaming_llm_keep(int64_t used, int64_t budget, int64_t sinks);

// H2O (Zhang et al. 2023, Alg. 1): the `recent` most recent tokens and the budget - recent others
// with the largest accumulated attention `mass`; everything when used <= budget.
std::vector<int32_t> h2o_keep(int64_t used, const float* mass, int64_t budget, int64_t recent);

enum class Pooling { avg, max };

// SnapKV's smoothing of the window's attention (Li et al. 2024, Sec. 4.2; F.avg_pool1d /
// F.max_pool1d with stride 1 and padding kernel/2): avg divides by `kernel` at the edges too
// (count_include_pad), max ignores the padding.
std::vector<float> pool_scores(const float* mass, int64_t n, int64_t kernel, Pooling pooling);

// The k largest scores' indices (ties to the lower index), ascending.
std::vector<int32_t> top_k_ascending(const std::vector<float>& scores, int64_t k);

// SnapKV (MInference SnapKVCluster.update_kv): when used >= budget, the last `window` tokens (the
// observation window) and the budget - window earlier tokens whose pooled window attention is
// largest; everything when used < budget. `mass` covers every slot; only the prefix before the
// window is ranked.
std::vector<int32_t> snapkv_keep(int64_t used, const float* mass, int64_t budget, int64_t window, int64_t kernel,
                                 Pooling pooling);

// PyramidKV (Cai et al. 2024; MInference PyramidKVCluster.update_kv): SnapKV with a prefix budget
// that falls linearly from the first attention layer to the last, averaging budget - window:
// min = (budget - window) / beta, max = 2 (budget - window) - min (max capped at used - window, min
// raised to match), layer l keeps max - l (max - min) / (layers - 1). Below 2 (budget - window)
// cached tokens every layer keeps SnapKV's budget, as the reference does. One attention layer:
// SnapKV's budget.
int64_t pyramidkv_prefix_budget(int64_t used, int64_t budget, int64_t window, int64_t beta, int layer, int layers);
std::vector<int32_t> pyramidkv_keep(int64_t used, const float* mass, int64_t budget, int64_t window, int64_t kernel,
                                    Pooling pooling, int64_t beta, int layer, int layers);

}  // namespace seqbench
