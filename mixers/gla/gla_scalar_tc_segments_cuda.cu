// Start states of the fused forward's segments: X_{z+1} = e^{B_z} X_z + Y_z over the sub-segments z, Y_z the
// state the forward scan reaches from zero over z, B_z the sum of its chunks' total decays; X_0 = 0. Checked
// against gla_fwd_cpu in test_gpu_gla.cpp and test_gpu_ssd_bf16.cpp, whose small batch * heads take segments.
#include <cuda_bf16.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <stdexcept>
#include <string>

#include "mixers/gla/gla_scalar_bf16.cuh"
#include "mixers/gla/gla_scalar_tc_internal.cuh"
#include "ops/cuda/cuda_check.h"
#include "ops/cuda/once_per_device.cuh"

namespace seqbench {
namespace gla_tc {
namespace {

// Blocks per SM the launch bounds and shared memory allow at Dk = 128 (the fused walk 2, the scan 4); at Dk = 64
// more may fit, so the plan errs towards fewer segments there.
constexpr int kFusedBlocksPerSm = 2, kScanBlocksPerSm = 4;
constexpr int kMaxSubSegments = 1024;  // the cross scan's decays live in shared memory
constexpr int kCrossThreads = 256;     // each takes 4 state entries
// Auto leaves shorter sequences to the single walk: the scan and the cross scan cost about two chunks' time.
constexpr int kMinSegmentedChunks = 8;

// 0: auto; 1: the single walk; n > 1: n segments (at most the chunks and what the workspace holds).
int env_segments() {
  static const int chosen = [] {
    const char* env = std::getenv("SEQBENCH_GLA_SCALAR_FWD_SEGMENTS");
    const std::string value = env ? env : "";
    if (value.empty() || value == "auto") return 0;
    if (value == "off") return 1;
    char* tail = nullptr;
    const long n = std::strtol(value.c_str(), &tail, 10);
    if (*tail != '\0' || n < 1 || n > kMaxSubSegments)
      throw std::invalid_argument("SEQBENCH_GLA_SCALAR_FWD_SEGMENTS='" + value + "'; expected auto, off or 1.." +
                                  std::to_string(kMaxSubSegments));
    return static_cast<int>(n);
  }();
  return chosen;
}

int multiprocessors() {
  return once_per_device<int>("gla_scalar_fwd_cuda", [](int device) {
    int sms = 0;
    cudaCheck(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device));
    return sms;
  });
}

int ceil_div(int64_t a, int64_t b) { return static_cast<int>((a + b - 1) / b); }

// Block (head, 1024 state entries). Each thread carries its 4 entries across the sub-segments in order, in place:
// Y_z is read before X_{z+1} overwrites it, and only the entries at segment ends are written.
__global__ void __launch_bounds__(kCrossThreads)
    segment_cross_scan_kernel(float* __restrict__ states, const float* __restrict__ b, FusedSegments seg, int entries,
                              ChunkGrid d) {
  __shared__ float decay[kMaxSubSegments];  // e^{B_z}
  const int bh = blockIdx.x, n = seg.states();
  for (int z = threadIdx.x; z < n; z += kCrossThreads) {
    float total = 0.0f;
    for (int c = seg.sub_first(z); b && c < seg.sub_end(z, d.NC); ++c)
      total += b[(static_cast<int64_t>(bh) * d.NC + c) * kChunk + kChunk - 1];
    decay[z] = __expf(total);
  }
  __syncthreads();
  const int i = blockIdx.y * kCrossThreads + threadIdx.x;
  if (4 * i >= entries) return;
  float4* x = reinterpret_cast<float4*>(states + static_cast<int64_t>(bh) * n * entries) + i;
  const int64_t step = entries / 4;
  float4 run = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
  for (int z = 0; z < n; ++z) {
    const float4 y = x[z * step];
    const float e = decay[z];
    run = make_float4(e * run.x + y.x, e * run.y + y.y, e * run.z + y.z, e * run.w + y.w);
    if ((z + 1) % seg.subs == 0) x[z * step] = run;  // the start state of segment (z + 1) / subs
  }
}

}  // namespace

FusedSegments plan_fused_segments(const ChunkGrid& d, int dk, int dv, bool allowed, int64_t state_floats) {
  FusedSegments one;
  one.chunks = one.sub_chunks = d.NC;
  const int wanted = env_segments();
  if (!allowed || wanted == 1 || d.NC < 2 || d.BH < 1 || (!wanted && d.NC < kMinSegmentedChunks)) return one;
  const int64_t walks = static_cast<int64_t>(d.BH) * (dv / 64), sms = multiprocessors();
  // Auto: as many segments as fill one round of the walk's block slots; a second, partial round would cost a
  // whole segment's time again.
  int64_t count = wanted ? wanted : kFusedBlocksPerSm * sms / walks;
  const int64_t fit = std::min<int64_t>(state_floats / (static_cast<int64_t>(d.BH) * dk * dv), kMaxSubSegments);
  count = std::min({count, static_cast<int64_t>(d.NC), fit + 1, INT32_MAX / walks});  // the grid's x stays an int
  if (count < 2) return one;
  FusedSegments seg;
  seg.chunks = ceil_div(d.NC, count);
  seg.count = ceil_div(d.NC, seg.chunks);
  if (seg.count < 2) return one;
  // Sub-segments: enough scan blocks for one round of theirs (the scan is the short pass), as far as they fit.
  int64_t subs = std::max<int64_t>(1, kScanBlocksPerSm * sms / (walks * (seg.count - 1)));
  subs = std::min({subs, static_cast<int64_t>(seg.chunks), fit / (seg.count - 1)});
  seg.sub_chunks = ceil_div(seg.chunks, subs);
  seg.subs = ceil_div(seg.chunks, seg.sub_chunks);
  return seg;
}

FusedSegments fused_segment_start_states(const bf16* k, const bf16* v, const float* b, const float* value_scale,
                                         float* states, int64_t state_floats, bool allowed, int dk, int dv,
                                         const ChunkGrid& d, cudaStream_t stream) {
  const FusedSegments seg = plan_fused_segments(d, dk, dv, allowed, state_floats);
  if (seg.count < 2) return seg;
  launch_sub_segment_scan(k, v, b, value_scale, states, seg, dk, dv, d, stream);
  const int entries = dk * dv;
  const dim3 grid(static_cast<unsigned>(d.BH), static_cast<unsigned>(ceil_div(entries / 4, kCrossThreads)));
  segment_cross_scan_kernel<<<grid, kCrossThreads, 0, stream>>>(states, b, seg, entries, d);
  cudaCheckLaunch();
  return seg;
}

}  // namespace gla_tc

int gla_scalar_fwd_segments(const GlaShape& s) {
  using namespace gla_tc;
  if (!gla_scalar_tc_unsupported(s, GlaOptions{64, 1.0f}).empty()) return 1;
  const ChunkGrid d = chunk_grid(s);
  if (d.BH == 0 || d.L == 0) return 1;
  return plan_fused_segments(d, static_cast<int>(s.key_dim), static_cast<int>(s.value_dim), true, state_share_floats(s))
      .count;
}

}  // namespace seqbench
