// Masked attention over sink + window and block top-k key sets on the GPU against the CPU kernels on
// fresh seeded inputs at odd sizes, fp32, relative error 1e-4; the span buffer on the GPU. Built only
// with CUDA; each case skips itself (with a warning) on a machine without a GPU.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <stdexcept>
#include <string>
#include <vector>

#include "mixers/sliding_window/sink_window_spans.h"
#include "mixers/softmax/masked_attention.h"
#include "mixers/softmax/masked_attention_cases.h"
#include "mixers/softmax/span_buffer.h"
#include "mixers/sparse/block_topk_spans.h"
#include "ops/cuda/device_array.h"
#include "ops/device_memory.h"
#include "tests/gpu_kernel_checks.h"

using namespace seqbench;
using namespace seqbench::masked_cases;
using namespace seqbench::gpu_checks;

namespace {

constexpr double kTolerance = 1e-4;  // fp32 kernels differ from the CPU only in summation order

// head_dim 1, 7, 16, 33, 100 and 256 cover every register width (1, 2, 4, 8 floats per lane) with
// and without a ragged last slice; lengths cut the 32-key runs and 32-key tiles unevenly.
const std::vector<AttentionShape> kShapes = {
    {1, 1, 1, 1}, {2, 37, 3, 7}, {1, 67, 2, 16}, {2, 29, 1, 33}, {1, 41, 2, 100}, {1, 19, 1, 256},
};

SpanBuffer on_gpu(const std::vector<KeySpan>& spans) {
  SpanBuffer buffer(Device::cuda);
  buffer.upload(spans);
  return buffer;
}

// Forward and backward over one span table (host copy `spans`) on the GPU against the CPU
// kernels; both backward passes start from the CPU forward's lse.
void check_attention(const AttentionShape& s, const Inputs& in, const std::vector<KeySpan>& spans, int64_t width,
                     bool per_head) {
  const int64_t n = elements(s), rows = query_rows(s);
  const SpanTable host_keys{spans.data(), width, per_head};
  std::vector<float> out(n), lse(rows), dq(n), dk(n), dv(n);
  MaskedAttentionKernels::cpu().fwd(in.q.data(), in.k.data(), in.v.data(), out.data(), lse.data(), host_keys, s);
  MaskedAttentionKernels::cpu().bwd(in.q.data(), in.k.data(), in.v.data(), lse.data(), in.dout.data(), dq.data(), dk.data(),
                           dv.data(), host_keys, s);

  const SpanBuffer gpu_spans = on_gpu(spans);
  const SpanTable keys = gpu_spans.table(width, per_head);
  DeviceArray<float> q(in.q), k(in.k), v(in.v), dout(in.dout), cpu_lse(lse);
  auto gpu_out = poisoned<float>(n), gpu_lse = poisoned<float>(rows);
  MaskedAttentionKernels::cuda().fwd(q.data(), k.data(), v.data(), gpu_out.data(), gpu_lse.data(), keys, s);
  CHECK(relative_error(gpu_out.download(), out) < kTolerance);
  CHECK(relative_error(gpu_lse.download(), lse) < 1e-5);

  auto gpu_dq = poisoned<float>(n), gpu_dk = poisoned<float>(n), gpu_dv = poisoned<float>(n);
  MaskedAttentionKernels::cuda().bwd(q.data(), k.data(), v.data(), cpu_lse.data(), dout.data(), gpu_dq.data(), gpu_dk.data(),
                            gpu_dv.data(), keys, s);
  // A one-key window has dq = dk = 0 on the CPU exactly; the GPU's P is 1 within an ulp of the
  // CPU's lse, so there relative_error measures the (tiny) absolute residue.
  CHECK(relative_error(gpu_dq.download(), dq) < kTolerance);
  CHECK(relative_error(gpu_dk.download(), dk) < kTolerance);
  CHECK(relative_error(gpu_dv.download(), dv) < kTolerance);
}


}  // namespace

TEST_CASE("masked attention forward and backward on the GPU match the CPU kernels for sink and window patterns",
          "[gpu][masked]") {
  SKIP_WITHOUT_GPU();
  uint64_t seed = 1100;
  for (const AttentionShape& s : kShapes)
    for (int64_t sinks : {0, 2})
      for (int64_t window : {int64_t{1}, int64_t{3}, int64_t{16}, s.seq_len + 5}) {
        INFO(describe(s) << " sinks=" << sinks << " window=" << window << " seed=" << seed);
        check_attention(s, random_inputs(s, seed++), sink_window_table(s.seq_len, sinks, window), kSinkWindowSpans,
                        false);
      }
}

TEST_CASE("masked attention forward and backward on the GPU match the CPU kernels for per-head block top-k spans",
          "[gpu][masked]") {
  SKIP_WITHOUT_GPU();
  uint64_t seed = 1200;
  for (const AttentionShape& s : {AttentionShape{1, 1, 1, 16}, AttentionShape{2, 37, 3, 7},
                                  AttentionShape{1, 70, 2, 33}, AttentionShape{2, 45, 1, 64}})
    for (int64_t block_size : {4, 16})
      for (int64_t top_k : {1, 2}) {
        const BlockTopk sel{block_size, top_k};
        INFO(describe(s) << " block_size=" << block_size << " top_k=" << top_k << " seed=" << seed);
        const Inputs in = random_inputs(s, seed++);
        check_attention(s, in, block_topk_table(in.q, in.k, s, sel), sel.width(s.seq_len / block_size), true);
      }
}

TEST_CASE("masked attention backward on the GPU is bitwise reproducible", "[gpu][masked]") {
  SKIP_WITHOUT_GPU();
  const AttentionShape s{2, 53, 2, 33};
  const Inputs in = random_inputs(s, 1300);
  const int64_t n = elements(s);
  const SpanBuffer spans = on_gpu(sink_window_table(s.seq_len, 2, 16));
  const SpanTable keys = spans.table(kSinkWindowSpans, false);
  DeviceArray<float> q(in.q), k(in.k), v(in.v), dout(in.dout), out(n), lse(query_rows(s));
  MaskedAttentionKernels::cuda().fwd(q.data(), k.data(), v.data(), out.data(), lse.data(), keys, s);
  std::vector<std::vector<float> > runs;
  for (int run = 0; run < 2; ++run) {
    DeviceArray<float> dq(n), dk(n), dv(n);
    MaskedAttentionKernels::cuda().bwd(q.data(), k.data(), v.data(), lse.data(), dout.data(), dq.data(), dk.data(), dv.data(),
                              keys, s);
    std::vector<float> all = dq.download();
    for (const auto* g : {&dk, &dv}) {
      const auto part = g->download();
      all.insert(all.end(), part.begin(), part.end());
    }
    runs.push_back(all);
  }
  CHECK(runs[0] == runs[1]);
}

TEST_CASE("masked attention decode on the GPU matches the CPU kernel through the sink-window ring at every position",
          "[gpu][masked]") {
  SKIP_WITHOUT_GPU();
  uint64_t seed = 1400;
  // Full rings (slots = sinks + window) wrap several times; shorter rings are only valid while the
  // cache holds at most `slots` tokens.
  for (const SinkWindowRing ring : {SinkWindowRing{0, 1, 1}, SinkWindowRing{0, 3, 3}, SinkWindowRing{2, 3, 5},
                                    SinkWindowRing{2, 16, 18}, SinkWindowRing{2, 5, 4}, SinkWindowRing{0, 16, 9}})
    for (int64_t head_dim : {7, 33}) {
      const AttentionShape cache{2, ring.slots, 3, head_dim};
      const bool full = ring.slots == ring.sinks + ring.window;
      const int64_t positions = full ? 3 * ring.slots + 2 : ring.slots;
      Rng rng(seed);
      const int64_t nq = cache.batch * cache.heads * head_dim;
      const auto k = random_values(elements(cache), rng), v = random_values(elements(cache), rng);
      DeviceArray<float> k_d(k), v_d(v);
      SpanBuffer spans(Device::cuda);
      std::vector<KeySpan> host(kSinkWindowDecodeSpans);
      for (int64_t position = 0; position < positions; ++position) {
        INFO("sinks=" << ring.sinks << " window=" << ring.window << " slots=" << ring.slots << " D=" << head_dim
                      << " position=" << position << " seed=" << seed);
        const auto q = random_values(nq, rng);
        sink_window_decode_spans(position, ring, host.data());
        spans.upload(host);
        DeviceArray<float> q_d(q);
        auto out = poisoned<float>(nq);
        MaskedAttentionKernels::cuda().decode(q_d.data(), k_d.data(), v_d.data(), out.data(),
                                     spans.table(kSinkWindowDecodeSpans, false), cache);
        std::vector<float> want(nq);
        MaskedAttentionKernels::cpu().decode(q.data(), k.data(), v.data(), want.data(),
                                    SpanTable{host.data(), kSinkWindowDecodeSpans, false}, cache);
        CHECK(relative_error(out.download(), want) < kTolerance);
      }
      ++seed;
    }
}

TEST_CASE("a query row with a span outside the sequence gets NaN outputs on the GPU, the other rows are unharmed",
          "[gpu][masked]") {
  SKIP_WITHOUT_GPU();
  const AttentionShape s{1, 6, 1, 4};
  const Inputs in = random_inputs(s, 2000);
  auto spans = sink_window_table(s.seq_len, 0, 3);
  std::vector<float> want(elements(s)), want_lse(query_rows(s));
  MaskedAttentionKernels::cpu().fwd(in.q.data(), in.k.data(), in.v.data(), want.data(), want_lse.data(),
                           SpanTable{spans.data(), kSinkWindowSpans, false}, s);
  spans[2 * kSinkWindowSpans + 1] = KeySpan{1, 9};  // query 2 reaches past the 6 keys
  const SpanBuffer gpu_spans = on_gpu(spans);
  DeviceArray<float> q(in.q), k(in.k), v(in.v);
  auto out = poisoned<float>(elements(s)), lse = poisoned<float>(query_rows(s));
  MaskedAttentionKernels::cuda().fwd(q.data(), k.data(), v.data(), out.data(), lse.data(),
                            gpu_spans.table(kSinkWindowSpans, false), s);
  const auto got = out.download();
  for (int64_t t = 0; t < s.seq_len; ++t)
    for (int64_t d = 0; d < s.head_dim; ++d) {
      INFO("t=" << t << " d=" << d);
      const float x = got[t * s.head_dim + d];
      if (t == 2) {
        CHECK(std::isnan(x));
      } else {
        CHECK(std::fabs(x - want[t * s.head_dim + d]) < 1e-5);
      }
    }
}

TEST_CASE("a span buffer on the GPU uploads, downloads, reuses its storage and counts its bytes", "[gpu][masked]") {
  SKIP_WITHOUT_GPU();
  const int64_t before = memory_counters(Device::cuda).current_bytes;
  {
    SpanBuffer buffer(Device::cuda);
    const auto spans = sink_window_table(40, 2, 7);
    buffer.upload(spans);
    CHECK(buffer.device() == Device::cuda);
    CHECK(same_spans(buffer.download(), spans));
    CHECK(memory_counters(Device::cuda).current_bytes == before + static_cast<int64_t>(spans.size() * sizeof(KeySpan)));
    const KeySpan* storage = buffer.data();
    buffer.upload(sink_window_table(11, 0, 3));  // smaller: same storage
    CHECK(buffer.data() == storage);
    CHECK(same_spans(buffer.download(), sink_window_table(11, 0, 3)));
    buffer.resize(3 * spans.size());  // larger: new storage, the old released
    CHECK(memory_counters(Device::cuda).current_bytes ==
          before + static_cast<int64_t>(3 * spans.size() * sizeof(KeySpan)));
    buffer.resize(4, Device::cpu);  // moving to the host releases the GPU storage
    CHECK(buffer.device() == Device::cpu);
    CHECK(memory_counters(Device::cuda).current_bytes == before);
    buffer.resize(8, Device::cuda);
    SpanBuffer moved(std::move(buffer));
    CHECK(moved.size() == 8);
  }
  CHECK(memory_counters(Device::cuda).current_bytes == before);
}
