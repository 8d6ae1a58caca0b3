// seqbench_gpu_bench rows for causal softmax attention in bf16 at ANCHORS.md's shapes: forward and
// backward at B*L = 65536 tokens (H = 16, D = 128) for each bench length, the backward both with atomic
// dQ (softmax.bwd) and deterministic (softmax.bwd_deterministic, anchored to the same cuDNN backward,
// with the same FLOP count, so the two rows' ratio is the price of determinism), and decode against
// 4k, 16k and 64k caches for batches of 16 and 1 (softmax.decode, and softmax.decode_shared through the
// shared-memory pipeline against the same anchor); training rows name the kernel they ran. Anchors:
// PyTorch SDPA's cuDNN and FlashAttention-2 backends on the same shapes (keys softmax.<fwd|bwd>.L<N>,
// softmax.decode.B<b>.L<N>). Group softmax_window: the forward with 4 attention sinks and a 1024-key
// window (StreamingLLM) at the same shapes (softmax_window.fwd.L<N>), its work counted over the keys
// visited, so its TFLOP/s compares with the causal row's; no anchor (SDPA has no sink + window mask
// short of a dense one).
#include <cuda_bf16.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "bench_gpu/gpu_bench_group.h"
#include "mixers/sliding_window/sink_window_attention_bf16.cuh"
#include "mixers/softmax/softmax_attention_bf16.cuh"
#include "mixers/softmax/softmax_attention_decode_tuning.h"
#include "mixers/softmax/softmax_attention_hopper.cuh"
#include "mixers/softmax/softmax_attention_hopper_bwd.cuh"

namespace seqbench {
namespace {

using bf16 = __nv_bfloat16;
constexpr int64_t kBf16 = 2;

void softmax_attention(GpuBenchTimer& timer, std::vector<AnchorRow>& rows) {
  for (int64_t L : bench_lengths()) {
    const AttentionShape s{kBenchTokens / L, L, kBenchHeads, kBenchHeadDim};
    const int64_t n = s.batch * s.seq_len * s.heads * s.head_dim;
    auto q = random_array<bf16>(n, 11), k = random_array<bf16>(n, 12), v = random_array<bf16>(n, 13);
    auto dout = random_array<bf16>(n, 14);
    DeviceArray<bf16> out(n), dq(n), dk(n), dv(n);
    DeviceArray<float> lse(s.batch * s.heads * s.seq_len), workspace(softmax_attention_bwd_workspace_floats(s));
    const GpuTiming fwd =
        timer.time([&] { softmax_attention_fwd_cuda(q.data(), k.data(), v.data(), out.data(), lse.data(), s); });
    auto time_bwd = [&](AttentionBwdMode mode) {
      return timer.time([&] {
        softmax_attention_bwd_cuda(q.data(), k.data(), v.data(), out.data(), lse.data(), dout.data(), dq.data(),
                                   dk.data(), dv.data(), s, workspace.data(), mode);
      });
    };
    const GpuTiming bwd = time_bwd(AttentionBwdMode::atomic);
    const GpuTiming bwd_deterministic = time_bwd(AttentionBwdMode::deterministic);
    const std::string shape = shape_text(s.batch, L, s.heads, s.head_dim);
    const AttentionWorkShape w{s.batch, L, s.heads, s.head_dim, L, kBf16};
    auto add = [&](const char* pass, const char* anchor_pass, const GpuTiming& timing, WorkPass work_pass) {
      const std::string key = bench_key("softmax", pass, L);
      const WorkCount work = attention_work(w, work_pass);
      // Each row names its kernel (SEQBENCH_ATTENTION_FWD, SEQBENCH_ATTENTION_BWD_KERNEL), so one sweep
      // can compare them.
      const char* kernel = work_pass == WorkPass::forward ? attention_fwd_variant_name(attention_fwd_variant())
                                                          : attention_bwd_kernel_name(attention_bwd_kernel());
      const std::string what = std::string("softmax attention ") + pass + " (causal, " + kernel + ")";
      rows.push_back(timed_row(key, bench_key("softmax", anchor_pass, L), "softmax", what, shape, "bf16", L, timing,
                               work, work));
    };
    add("fwd", "fwd", fwd, WorkPass::forward);
    add("bwd", "bwd", bwd, WorkPass::backward);
    add("bwd_deterministic", "bwd", bwd_deterministic, WorkPass::backward);
  }
}

void softmax_decode(GpuBenchTimer& timer, std::vector<AnchorRow>& rows) {
  // The process's decode (softmax.decode.*) and, unless that already is it, the same tuning through
  // the shared-memory pipeline, the default before direct loads (softmax.decode_shared.*, against
  // the same anchor), so one run times the two side by side. Where the process leaves the direct
  // path's loads ahead and merge lanes to the plan, also the direct path as it was before staggered
  // loads and shared merge pieces (softmax.decode_drained.*: each step's loads drained before the
  // next, a lane a merge piece).
  const DecodeTuning process = decode_tuning();
  std::vector<std::pair<std::string, DecodeTuning>> paths{{"decode", process}};
  if (!process.shared_pipeline && !process.bulk_copy) {
    if (!process.direct_ahead && !process.merge_lanes && !process.direct_hint) {
      DecodeTuning drained = process;
      drained.direct_ahead = kDecodeTuningNoAhead;
      drained.merge_lanes = 1;
      paths.emplace_back("decode_drained", drained);
    }
    DecodeTuning shared = process;
    shared.shared_pipeline = 1;
    paths.emplace_back("decode_shared", shared);
  }
  for (int64_t batch : {16, 1}) {
    for (int64_t L : {4096, 16384, 65536}) {
      const AttentionShape cache{batch, L, kBenchHeads, kBenchHeadDim};
      const int64_t n = batch * L * kBenchHeads * kBenchHeadDim, nq = batch * kBenchHeads * kBenchHeadDim;
      auto q = random_array<bf16>(nq, 21), k = random_array<bf16>(n, 22), v = random_array<bf16>(n, 23);
      DeviceArray<bf16> out(nq);
      const std::string suffix = ".B" + std::to_string(batch) + ".L" + std::to_string(L);
      const WorkCount work = attention_work({batch, L, kBenchHeads, kBenchHeadDim, L, kBf16}, WorkPass::decode_step);
      for (const auto& [pass, tuning] : paths) {
        const DecodeTuningScope scope(tuning);
        DeviceArray<float> workspace(softmax_attention_decode_workspace_floats(cache, L));
        workspace.fill_bytes(0);  // the split counters start at zero and the kernel leaves them so
        const GpuTiming t = timer.time([&] {
          softmax_attention_decode_cuda(q.data(), k.data(), v.data(), L, out.data(), cache, workspace.data());
        });
        // The plan in the shape column: rows measured under different SEQBENCH_DECODE_* settings say which.
        const std::string plan = softmax_attention_decode_plan_text<bf16>(cache, L);
        rows.push_back(
            timed_row("softmax." + pass + suffix, "softmax.decode" + suffix, "softmax", "softmax attention decode step",
                      shape_text(batch, L, kBenchHeads, kBenchHeadDim) + " (" + plan + ")", "bf16", L, t, work, work));
      }
    }
  }
}

// Sinks and window of the softmax_window rows: StreamingLLM's 4 sinks, a window of 8 key tiles.
constexpr int64_t kBenchSinks = 4, kBenchWindow = 1024;

void softmax_window(GpuBenchTimer& timer, std::vector<AnchorRow>& rows) {
  for (int64_t L : bench_lengths()) {
    const AttentionShape s{kBenchTokens / L, L, kBenchHeads, kBenchHeadDim};
    const int64_t n = s.batch * s.seq_len * s.heads * s.head_dim;
    auto q = random_array<bf16>(n, 31), k = random_array<bf16>(n, 32), v = random_array<bf16>(n, 33);
    DeviceArray<bf16> out(n);
    DeviceArray<float> lse(s.batch * s.heads * s.seq_len);
    // Only the Hopper kernel has this key set in bf16 (SEQBENCH_ATTENTION_FWD=portable: no rows).
    if (!sink_window_attention_bf16_supported(s, q.data(), k.data(), v.data(), out.data())) return;
    const GpuTiming fwd = timer.time([&] {
      sink_window_attention_fwd_cuda(q.data(), k.data(), v.data(), out.data(), lse.data(), s, kBenchSinks,
                                     kBenchWindow);
    });
    // Query-key pairs of sinks + window keys per query, as the sliding-window mixer counts them
    // (attention_work's W L - W^2 / 2, W = sinks + window; plain causal once W >= L).
    const WorkCount work =
        attention_work({s.batch, L, s.heads, s.head_dim, kBenchSinks + kBenchWindow, kBf16}, WorkPass::forward);
    const std::string what = std::string("softmax attention fwd (") + std::to_string(kBenchSinks) + " sinks + " +
                             std::to_string(kBenchWindow) + "-key window, " +
                             attention_fwd_variant_name(attention_fwd_variant()) + ")";
    rows.push_back(timed_row(bench_key("softmax_window", "fwd", L), "", "softmax", what,
                             shape_text(s.batch, L, s.heads, s.head_dim), "bf16", L, fwd, work, work));
  }
}

// Three groups, so `--groups softmax_decode` measures the decode alone.
const GpuBenchGroup kRows("softmax", softmax_attention);
const GpuBenchGroup kDecodeRows("softmax_decode", softmax_decode);
const GpuBenchGroup kWindowRows("softmax_window", softmax_window);

}  // namespace
}  // namespace seqbench
