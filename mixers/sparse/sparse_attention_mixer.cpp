#include "mixers/sparse/sparse_attention_mixer.h"

#include <initializer_list>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include "mixers/sliding_window/sliding_window_mixer.h"
#include "mixers/sparse/block_topk_spans.h"
#include "models/mixer_params.h"

namespace seqbench {
namespace {

// Full KV cache plus the mean key of every complete block, kept up to date as blocks complete.
class BlockTopkPattern : public AttentionKeyPattern {
 public:
  explicit BlockTopkPattern(BlockTopk selection) : sel_(selection) {}

  SpanTable sequence_spans(const Tensor& q, const Tensor& k, const AttentionShape& shape,
                           SpanBuffer& storage) const override {
    const int64_t blocks = shape.seq_len / sel_.block_size, width = sel_.width(blocks);
    const Device device = q.device();
    Tensor means({shape.batch, blocks, shape.heads, shape.head_dim}, device);
    kernels_for<BlockTopkKernels>(device).key_means(k.data(), shape, sel_.block_size, 0, blocks, means.data(), blocks);
    storage.resize(shape.batch * shape.heads * shape.seq_len * width, device);
    kernels_for<BlockTopkKernels>(device).sequence_spans(q.data(), means.data(), shape, sel_, storage.data());
    return storage.table(width, true);
  }

  MaskedCacheLayout cache_layout(int64_t max_len) const override {
    return {max_len, max_len / sel_.block_size, max_len};
  }

  int64_t slot_of(int64_t token, const MaskedAttentionCache&) const override { return token; }

  void keys_written(MaskedAttentionCache& cache, int64_t first, int64_t last) const override {
    // Blocks completed by tokens [first, last): those ending in (first, last].
    const int64_t from = first / sel_.block_size, to = last / sel_.block_size;
    if (from < to)
      kernels_for<BlockTopkKernels>(cache.keys.device())
          .key_means(cache.keys.data(), cache_shape(cache), sel_.block_size, from, to, cache.summaries.data(),
                     cache.summary_rows);
  }

  SpanTable decode_spans(const Tensor& q_t, const MaskedAttentionCache& cache, SpanBuffer& storage) const override {
    const AttentionShape shape = cache_shape(cache);
    const int64_t width = sel_.width(cache.position / sel_.block_size);
    storage.resize(shape.batch * shape.heads * width, q_t.device());
    kernels_for<BlockTopkKernels>(q_t.device())
        .decode_spans(q_t.data(), cache.summaries.data(), cache.summary_rows, cache.position, shape, sel_,
                      storage.data());
    return storage.table(width, true);
  }

  int64_t max_cached_tokens() const override { return std::numeric_limits<int64_t>::max(); }
  // The selected blocks and the query's own.
  int64_t keys_per_query(int64_t seq_len) const override {
    return sel_.width(seq_len / sel_.block_size) * sel_.block_size;
  }

  std::string unsupported(const AttentionShape& shape, Device device) const override {
    return kernels_for<BlockTopkKernels>(device).unsupported(shape, sel_);
  }

 private:
  static AttentionShape cache_shape(const MaskedAttentionCache& cache) {
    return {cache.batch, cache.slots, cache.keys.dim(2), cache.keys.dim(3)};
  }

  BlockTopk sel_;
};

// The param names of one pattern; a param of the other pattern would be silently ignored, so it
// is an error instead.
void reject_params_of_other_pattern(const MixerSpec& spec, const std::string& pattern,
                                    std::initializer_list<const char*> foreign) {
  for (const char* key : foreign)
    if (has_mixer_param(spec, key))
      throw std::invalid_argument("mixer '" + spec.kind + "': param '" + key + "' does not apply to pattern '" +
                                  pattern + "'");
}

}  // namespace

const MixerParamTable& sparse_params() {
  static const MixerParamTable table{
      {"pattern", "sink_window", "sink_window (attention sinks + a local window) or block_topk (MoBA-style)"},
      {"sinks", 4, "sink_window: the first tokens every query sees"},
      {"window", 16, "sink_window: keys per query in the local window"},
      {"block_size", 16, "block_topk: keys per block"},
      {"top_k", 2, "block_topk: earlier blocks each query selects by q . mean(block keys)"}};
  return table;
}

namespace {

std::unique_ptr<AttentionKeyPattern> sparse_pattern(const MixerSpec& spec) {
  const MixerParamTable& table = sparse_params();
  check_mixer_params(spec, table);
  const std::string pattern = mixer_param_string(spec, table, "pattern");
  if (pattern == "sink_window") {
    reject_params_of_other_pattern(spec, pattern, {"block_size", "top_k"});
    return std::make_unique<SinkWindowPattern>(mixer_param_int_at_least(spec, table, "sinks", 0),
                                               mixer_param_int_at_least(spec, table, "window", 1));
  }
  if (pattern == "block_topk") {
    reject_params_of_other_pattern(spec, pattern, {"sinks", "window"});
    BlockTopk selection;
    selection.block_size = mixer_param_int_at_least(spec, table, "block_size", 1);
    selection.top_k = mixer_param_int_at_least(spec, table, "top_k", 0);
    return std::make_unique<BlockTopkPattern>(selection);
  }
  throw std::invalid_argument("mixer '" + spec.kind + "': param 'pattern' is '" + pattern +
                              "', expected sink_window or block_topk");
}

}  // namespace

std::unique_ptr<Mixer> make_sparse_mixer(const MixerSpec& spec) {
  return make_masked_attention_mixer(spec, sparse_pattern(spec));
}

}  // namespace seqbench
