// The ANCHORS.md shapes on this project's CUDA kernels: bf16 causal softmax attention (fwd, bwd)
// at B*L = 65536 tokens, H = 16, D = 128; decode against KV caches; chunked linear attention at
// L = 4096; the gated, delta-rule and SSD scans (fp32); and the two ceilings (device copy, cuBLAS bf16 GEMM). Prints a
// Markdown table with the anchors beside each figure, then device, clocks and versions.
#include <cuda_bf16.h>

#include <cstdio>
#include <string>
#include <vector>

#include "bench_gpu/anchor_row.h"
#include "bench_gpu/gpu_bench_timer.h"
#include "bench_gpu/gpu_random_fill.h"
#include "bench_gpu/recurrent_mixer_rows.h"
#include "mixers/linear/linear_attention_bf16.cuh"
#include "mixers/softmax/softmax_attention_bf16.cuh"
#include "ops/cuda/cuda_device.h"
#include "ops/cuda/device_array.h"
#include "ops/cuda/matmul_bf16.cuh"

using namespace seqbench;
using bf16 = __nv_bfloat16;

namespace {

void print_table(const std::vector<AnchorRow>& rows) {
  std::printf("\n| kernel | shape | time (ms) | ours | anchor | ours / anchor speed |\n|---|---|---|---|---|---|\n");
  for (const AnchorRow& r : rows) {
    std::printf("| %s | %s | %.3f | %.1f %s | ", r.what.c_str(), r.shape.c_str(), r.ms, r.figure, r.unit.c_str());
    if (r.anchor > 0) {
      const double speed = r.higher_is_better ? r.figure / r.anchor : r.anchor / r.figure;
      std::printf("%.1f %s | %.2fx |\n", r.anchor, r.unit.c_str(), speed);
    } else {
      std::printf("- | - |\n");
    }
  }
}

void ceilings(GpuBenchTimer& timer, std::vector<AnchorRow>& rows) {
  const int64_t bytes = int64_t{2} << 30;
  DeviceArray<char> src(bytes), dst(bytes);
  cudaCheck(cudaMemset(src.data(), 1, bytes));
  const GpuTiming copy =
      timer.time([&] { cudaCheck(cudaMemcpyAsync(dst.data(), src.data(), bytes, cudaMemcpyDeviceToDevice)); });
  rows.push_back({"device-to-device copy (read + write)", "2 GiB", copy.median_ms, 2.0 * bytes / copy.median_ms / 1e6,
                  "GB/s", 2990, true});
  const int64_t n = 8192;
  auto a = random_array<bf16>(n * n, 1), b = random_array<bf16>(n * n, 2);
  DeviceArray<bf16> c(n * n);
  const GpuTiming gemm = timer.time([&] { matmul_cuda(a.data(), b.data(), c.data(), MatmulShape{n, n, n}); });
  rows.push_back({"bf16 GEMM (cuBLAS via matmul_cuda)", "8192^3", gemm.median_ms,
                  2.0 * n * n * n / gemm.median_ms / 1e9, "TFLOP/s", 741, true});
}

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

void softmax_decode(GpuBenchTimer& timer, std::vector<AnchorRow>& rows) {
  const struct {
    int64_t L;
    double us;
  } anchors[] = {{4096, 214}, {65536, 3340}};
  for (const auto& anchor : anchors) {
    const AttentionShape cache{16, anchor.L, 16, 128};
    const int64_t n = cache.batch * cache.seq_len * cache.heads * cache.head_dim, nq = 16 * 16 * 128;
    auto q = random_array<bf16>(nq, 21), k = random_array<bf16>(n, 22), v = random_array<bf16>(n, 23);
    DeviceArray<bf16> out(nq);
    DeviceArray<float> workspace(softmax_attention_decode_workspace_floats(cache, anchor.L));
    const GpuTiming t = timer.time([&] {
      softmax_attention_decode_cuda(q.data(), k.data(), v.data(), anchor.L, out.data(), cache, workspace.data());
    });
    const double bytes = 2.0 * n * sizeof(bf16);  // the K and V caches, as the anchors count
    rows.push_back({"softmax attention decode (bf16)", shape_text(16, anchor.L, 16, 128), t.median_ms,
                    bytes / t.median_ms / 1e6, "GB/s", bytes / anchor.us / 1e3, true});
  }
}

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

}  // namespace

int main() {
  try {
    if (!cuda_device_present()) {
      std::printf("no CUDA device: nothing to measure\n");
      return 0;
    }
    init_cuda_device(0);
    const CudaDeviceInfo info = cuda_device_info();
    GpuBenchTimer timer(static_cast<size_t>(std::max<int64_t>(4 * info.l2_bytes, 256 << 20)));
    std::vector<AnchorRow> rows;
    ceilings(timer, rows);
    softmax_attention(timer, rows);
    softmax_decode(timer, rows);
    linear_attention(timer, rows);
    recurrent_mixer_rows(timer, rows);
    cudaCheck(cudaDeviceSynchronize());
    print_table(rows);
    std::printf(
        "\ndevice: %s (sm_%d%d, %d SMs, %.1f GiB, L2 %.0f MiB), peak clocks SM %d MHz / memory %d MHz, "
        "bus %d bits; driver CUDA %d.%d, runtime %d.%d\n",
        info.name.c_str(), info.compute_major, info.compute_minor, info.multiprocessors,
        info.total_memory_bytes / double(1 << 30), info.l2_bytes / double(1 << 20), info.sm_clock_khz / 1000,
        info.memory_clock_khz / 1000, info.memory_bus_bits, info.driver_version / 1000, info.driver_version % 1000 / 10,
        info.runtime_version / 1000, info.runtime_version % 1000 / 10);
    std::printf("timing: CUDA events, 2 warm-up calls, median of 3-30 repetitions, L2 overwritten before each\n");
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "seqbench_gpu_bench: %s\n", e.what());
    return 1;
  }
}
