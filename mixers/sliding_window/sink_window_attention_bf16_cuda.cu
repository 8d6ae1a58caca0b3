// Sink + sliding-window attention forward in bf16: the dispatch to the Hopper forward with its
// window and sinks (softmax_attention_hopper.cuh); checked in mixers/softmax/test_gpu_masked_hopper.cpp.
#include <stdexcept>
#include <string>

#include "mixers/sliding_window/sink_window_attention_bf16.cuh"
#include "mixers/softmax/softmax_attention_hopper.cuh"

namespace seqbench {

bool sink_window_attention_bf16_supported(const AttentionShape& s, const void* q, const void* k, const void* v,
                                          const void* out) {
  return attention_fwd_variant() != AttentionFwdVariant::portable && softmax_attention_hopper_supports(s, q, k, v, out);
}

void sink_window_attention_fwd_cuda(const __nv_bfloat16* q, const __nv_bfloat16* k, const __nv_bfloat16* v,
                                    __nv_bfloat16* out, float* lse, const AttentionShape& s, int64_t sinks,
                                    int64_t window, cudaStream_t stream) {
  if (sinks < 0 || window < 1)
    throw std::invalid_argument("sink_window_attention_fwd_cuda: sinks " + std::to_string(sinks) + " and window " +
                                std::to_string(window) + "; expected sinks >= 0 and window >= 1");
  const AttentionFwdVariant variant = attention_fwd_variant();
  if (variant == AttentionFwdVariant::portable)
    throw std::invalid_argument(
        "sink_window_attention_fwd_cuda: SEQBENCH_ATTENTION_FWD resolves to portable, which has no sink + window "
        "form; use a hopper variant on an sm_90 GPU, or the fp32 masked attention kernels");
  HopperAttentionOptions options = hopper_attention_options(variant, true);
  options.window = window;
  options.sinks = sinks;
  // softmax_attention_fwd_hopper names the shape or device it does not take.
  softmax_attention_fwd_hopper(q, k, v, out, lse, s, options, stream);
}

}  // namespace seqbench
