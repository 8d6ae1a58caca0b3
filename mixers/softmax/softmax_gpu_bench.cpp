// seqbench_gpu_bench rows for causal softmax attention in bf16 at ANCHORS.md's shapes: forward and
// backward at B*L = 65536 tokens (H = 16, D = 128), and decode against 4k, 16k and 64k caches (B = 16)
// and 4k and 64k caches (B = 1).
// FLOPs as FlashAttention counts them (forward 4 B H L^2 D / 2, backward 2.5x); decode bytes are the
// K and V caches read.
#include <cuda_bf16.h>

#include <cstdint>
#include <string>
#include <vector>

#include "bench_gpu/gpu_bench_group.h"
#include "mixers/softmax/softmax_attention_bf16.cuh"

namespace seqbench {
namespace {

using bf16 = __nv_bfloat16;

void softmax_attention(GpuBenchTimer& timer, std::vector<AnchorRow>& rows) {
  const struct {
    int64_t L;
    double fwd, bwd;
  } anchors[] = {{1024, 260, 143}, {4096, 306, 248}, {16384, 336, 303}, {32768, 339, 319}};
  for (const auto& anchor : anchors) {
    const AttentionShape s{65536 / anchor.L, anchor.L, 16, 128};
    const int64_t n = s.batch * s.seq_len * s.heads * s.head_dim;
    auto q = random_array<bf16>(n, 11), k = random_array<bf16>(n, 12), v = random_array<bf16>(n, 13);
    auto dout = random_array<bf16>(n, 14);
    DeviceArray<bf16> out(n), dq(n), dk(n), dv(n);
    DeviceArray<float> lse(s.batch * s.heads * s.seq_len), workspace(softmax_attention_bwd_workspace_floats(s));
    const double flops = 4.0 * s.batch * s.heads * double(s.seq_len) * s.seq_len * s.head_dim / 2;
    const GpuTiming fwd =
        timer.time([&] { softmax_attention_fwd_cuda(q.data(), k.data(), v.data(), out.data(), lse.data(), s); });
    const GpuTiming bwd = timer.time([&] {
      softmax_attention_bwd_cuda(q.data(), k.data(), v.data(), out.data(), lse.data(), dout.data(), dq.data(),
                                 dk.data(), dv.data(), s, workspace.data());
    });
    const std::string shape = shape_text(s.batch, s.seq_len, s.heads, s.head_dim);
    rows.push_back({"softmax attention fwd (causal, bf16)", shape, fwd.median_ms, flops / fwd.median_ms / 1e9,
                    "TFLOP/s", anchor.fwd, true});
    rows.push_back({"softmax attention bwd (causal, bf16)", shape, bwd.median_ms, 2.5 * flops / bwd.median_ms / 1e9,
                    "TFLOP/s", anchor.bwd, true});
  }
}

// Anchors: cuDNN's decode on an H200 at B = 16, in GB/s of K and V read; none at B = 1, where a
// 4k cache (32 MiB) is read in a few microseconds and launch latency shows.
void softmax_decode(GpuBenchTimer& timer, std::vector<AnchorRow>& rows) {
  const struct {
    int64_t B, L;
    double gb_per_s;
  } shapes[] = {{16, 4096, 4036}, {16, 16384, 4507}, {16, 65536, 4670}, {1, 4096, 0}, {1, 65536, 0}};
  for (const auto& shape : shapes) {
    const AttentionShape cache{shape.B, shape.L, 16, 128};
    const int64_t n = cache.batch * cache.seq_len * cache.heads * cache.head_dim;
    const int64_t nq = cache.batch * cache.heads * cache.head_dim;
    auto q = random_array<bf16>(nq, 21), k = random_array<bf16>(n, 22), v = random_array<bf16>(n, 23);
    DeviceArray<bf16> out(nq);
    DeviceArray<float> workspace(softmax_attention_decode_workspace_floats(cache, shape.L));
    workspace.fill_bytes(0);  // the split counters start at zero and the kernel leaves them so
    const GpuTiming t = timer.time([&] {
      softmax_attention_decode_cuda(q.data(), k.data(), v.data(), shape.L, out.data(), cache, workspace.data());
    });
    const double bytes = 2.0 * n * sizeof(bf16);  // the K and V caches, as the anchors count
    // The plan in the shape column: rows measured under different SEQBENCH_DECODE_* settings say which.
    const std::string plan = softmax_attention_decode_plan_text<bf16>(cache, shape.L);
    rows.push_back({"softmax attention decode (bf16)", shape_text(shape.B, shape.L, 16, 128) + " (" + plan + ")",
                    t.median_ms, bytes / t.median_ms / 1e6, "GB/s", shape.gb_per_s, true});
  }
}

// Two groups, so SEQBENCH_GPU_BENCH_GROUPS=softmax_decode measures the decode alone.
const GpuBenchGroup kRows("softmax", softmax_attention);
const GpuBenchGroup kDecodeRows("softmax_decode", softmax_decode);

}  // namespace
}  // namespace seqbench
