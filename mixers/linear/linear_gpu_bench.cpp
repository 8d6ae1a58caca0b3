// seqbench_gpu_bench rows for chunked linear attention in bf16 at ANCHORS.md's shape (B=16, L=4096,
// 16 heads of 128), normalised and not, forward and backward.
#include <cuda_bf16.h>

#include <cstdint>
#include <string>
#include <vector>

#include "bench_gpu/gpu_bench_group.h"
#include "mixers/linear/linear_attention_bf16.cuh"

namespace seqbench {
namespace {

using bf16 = __nv_bfloat16;

void linear_attention(GpuBenchTimer& timer, std::vector<AnchorRow>& rows) {
  const LinearAttentionShape s{16, 4096, 16, 128, 128};
  const int64_t n = s.batch * s.seq_len * s.heads * s.head_dim;
  auto a = random_array<bf16>(n, 31), b = random_array<bf16>(n, 32), v = random_array<bf16>(n, 33);
  auto dout = random_array<bf16>(n, 34);
  DeviceArray<bf16> out(n), da(n), db(n), dv(n);
  DeviceArray<float> den(s.batch * s.heads * s.seq_len);
  for (bool normalize : {false, true}) {
    LinearAttentionOptions o;
    o.normalize = normalize;
    DeviceArray<float> workspace(linear_attention_bwd_workspace_floats(s, o));
    if (normalize) {                                            // positive features keep the normaliser away from zero
      cudaCheck(cudaMemset(a.data(), 0x3F, n * sizeof(bf16)));  // every element 0.74...
      cudaCheck(cudaMemset(b.data(), 0x3F, n * sizeof(bf16)));
    }
    const GpuTiming fwd = timer.time([&] {
      linear_attention_fwd_cuda(a.data(), b.data(), v.data(), out.data(), den.data(), nullptr, nullptr, s, o);
    });
    const GpuTiming bwd = timer.time([&] {
      linear_attention_bwd_cuda(a.data(), b.data(), v.data(), out.data(), den.data(), dout.data(), da.data(), db.data(),
                                dv.data(), s, o, workspace.data());
    });
    const std::string what =
        std::string("linear attention, chunked (bf16, ") + (normalize ? "normalised)" : "unnormalised)");
    const std::string shape = shape_text(s.batch, s.seq_len, s.heads, s.head_dim);
    rows.push_back({what + " fwd", shape, fwd.median_ms, fwd.median_ms, "ms", 2.15, false});
    rows.push_back({what + " bwd", shape, bwd.median_ms, bwd.median_ms, "ms", 6.60, false});
  }
}

const GpuBenchGroup kRows("linear", linear_attention);

}  // namespace
}  // namespace seqbench
