// seqbench_gpu_bench rows for chunked linear attention in bf16 at ANCHORS.md's shapes (B*L = 65536
// tokens, 16 heads of 128) for each bench length, normalised and not, forward and backward; and the
// unnormalised decode step (fp32) for batches of 16 and 1. Anchors: flash-linear-attention's
// chunk_linear_attn with the same normalize setting, and fused_recurrent_linear_attn.
#include <cuda_bf16.h>

#include <cstdint>
#include <string>
#include <vector>

#include "bench_gpu/gpu_bench_group.h"
#include "mixers/linear/linear_attention_bf16.cuh"
#include "mixers/linear/linear_attention_scalar_gla_cuda.cuh"

namespace seqbench {
namespace {

using bf16 = __nv_bfloat16;

// Which normaliser ran (SEQBENCH_LINEAR_NORMALISER), so the rows of two settings can be told apart.
const char* normalisation_text(bool normalize) {
  if (!normalize) return "unnormalised";
  return normaliser_runs_fused() ? "normalised in the GLA walk" : "normalised, separate kernels";
}

void linear_attention_at(GpuBenchTimer& timer, std::vector<AnchorRow>& rows, int64_t L) {
  const LinearAttentionShape s{{kBenchTokens / L, L, kBenchHeads}, kBenchHeadDim, kBenchHeadDim};
  const int64_t n = s.batch * s.seq_len * s.heads * s.head_dim;
  auto a = random_array<bf16>(n, 31), b = random_array<bf16>(n, 32), v = random_array<bf16>(n, 33);
  auto dout = random_array<bf16>(n, 34);
  DeviceArray<bf16> out(n), da(n), db(n), dv(n);
  DeviceArray<float> den(s.batch * s.heads * s.seq_len);
  for (bool normalize : {false, true}) {
    LinearAttentionOptions o;
    o.normalize = normalize;
    DeviceArray<float> fwd_workspace(linear_attention_fwd_workspace_floats(s, o));
    DeviceArray<float> workspace(linear_attention_bwd_workspace_floats(s, o));
    if (normalize) {                                            // positive features keep the normaliser away from zero
      cudaCheck(cudaMemset(a.data(), 0x3F, n * sizeof(bf16)));  // every element 0.74...
      cudaCheck(cudaMemset(b.data(), 0x3F, n * sizeof(bf16)));
    }
    const GpuTiming fwd = timer.time([&] {
      linear_attention_fwd_cuda(a.data(), b.data(), v.data(), out.data(), den.data(), nullptr, nullptr, s, o,
                                fwd_workspace.data());
    });
    const GpuTiming bwd = timer.time([&] {
      linear_attention_bwd_cuda(a.data(), b.data(), v.data(), out.data(), den.data(), dout.data(), da.data(), db.data(),
                                dv.data(), s, o, workspace.data());
    });
    // The normaliser's running key sum adds a column to V: counted as V + 1 values.
    const ScanWorkShape w{s.batch, L, s.heads, s.feature_dim, s.head_dim + (normalize ? 1 : 0), o.chunk_size, 0,
                          s.heads, false, 2, 4};
    const std::string family = normalize ? "linear_normalised" : "linear";
    const std::string what = std::string("linear attention, chunked (") + normalisation_text(normalize) + ") ";
    const std::string shape = shape_text(s.batch, L, s.heads, s.head_dim);
    auto add = [&](const char* pass, const GpuTiming& timing, WorkPass work_pass) {
      const std::string key = bench_key(family, pass, L);
      const WorkCount work = chunked_scan_work(w, work_pass);
      rows.push_back(timed_row(key, key, "linear", what + pass, shape, "bf16", L, timing, work, work));
    };
    add("fwd", fwd, WorkPass::forward);
    add("bwd", bwd, WorkPass::backward);
  }
}

// One unnormalised decode step: the state [B, H, F, Dh] (and the key sum [B, H, F], which the kernel keeps
// whatever the setting) read and written in place.
void decode_step(GpuBenchTimer& timer, std::vector<AnchorRow>& rows, int64_t batch) {
  const LinearAttentionShape s{{batch, 1, kBenchHeads}, kBenchHeadDim, kBenchHeadDim};
  LinearAttentionOptions o;
  o.normalize = false;
  const int64_t n = batch * s.heads * s.head_dim;
  auto a = random_array<float>(n, 35), b = random_array<float>(n, 36), v = random_array<float>(n, 37);
  auto kv_state = random_array<float>(n * s.feature_dim, 38), k_state = random_array<float>(n, 39);
  DeviceArray<float> out(n);
  const GpuTiming t = timer.time([&] {
    LinearAttentionKernels::cuda().decode(a.data(), b.data(), v.data(), kv_state.data(), k_state.data(), out.data(), s,
                                          o);
  });
  auto work_shape = [&](int64_t element_bytes) {
    return ScanWorkShape{batch, 1, s.heads, s.feature_dim, s.head_dim, 1, 0, s.heads, false, element_bytes, 4};
  };
  const std::string key = decode_key("linear", batch);
  rows.push_back(timed_row(key, key, "linear", "linear attention decode step (unnormalised)",
                           shape_text(batch, 1, s.heads, s.head_dim) + " (state only)", "fp32", 1, t,
                           chunked_scan_work(work_shape(4), WorkPass::decode_step),
                           chunked_scan_work(work_shape(2), WorkPass::decode_step)));
}

void linear_rows(GpuBenchTimer& timer, std::vector<AnchorRow>& rows) {
  for (int64_t L : bench_lengths()) linear_attention_at(timer, rows, L);
  for (int64_t batch : decode_batches()) decode_step(timer, rows, batch);
}

const GpuBenchGroup kRows("linear", linear_rows);

}  // namespace
}  // namespace seqbench
