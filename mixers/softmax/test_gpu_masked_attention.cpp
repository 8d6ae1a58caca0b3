// Masked attention (sink + window and block top-k key sets) and block top-k selection on the GPU
// against the CPU kernels on fresh seeded inputs at odd sizes, fp32, relative error 1e-4; the
// dispatchers on Device::cpu and the span buffer's host side run in every build, the GPU cases
// skip themselves (with a warning) on machines without a GPU and in builds without CUDA.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <stdexcept>
#include <string>
#include <vector>

#include "mixers/sparse/block_topk_spans_ops.h"
#include "mixers/softmax/masked_attention_ops.h"
#include "mixers/sliding_window/sink_window_spans.h"
#include "mixers/softmax/span_buffer.h"
#include "ops/rng.h"
#include "mixers/softmax/masked_attention_cases.h"

using namespace seqbench;
using namespace seqbench::masked_cases;

TEST_CASE("the masked attention dispatchers on the CPU give exactly the CPU kernels' results", "[masked][dispatch]") {
  const AttentionShape s{2, 23, 3, 7};
  Rng rng(7);
  const int64_t n = elements(s);
  const auto q = random_values(n, rng), k = random_values(n, rng), v = random_values(n, rng);
  const auto dout = random_values(n, rng);
  const auto spans = sink_window_table(s.seq_len, 2, 5);
  const SpanTable keys{spans.data(), kSinkWindowSpans, false};
  std::vector<float> out(n), lse(query_rows(s)), want_out(n), want_lse(query_rows(s));
  masked_attention_fwd(Device::cpu, q.data(), k.data(), v.data(), out.data(), lse.data(), keys, s);
  masked_attention_fwd_cpu(q.data(), k.data(), v.data(), want_out.data(), want_lse.data(), keys, s);
  CHECK(out == want_out);
  CHECK(lse == want_lse);

  std::vector<float> dq(n), dk(n), dv(n), want_dq(n), want_dk(n), want_dv(n);
  masked_attention_bwd(Device::cpu, q.data(), k.data(), v.data(), lse.data(), dout.data(), dq.data(), dk.data(),
                       dv.data(), keys, s);
  masked_attention_bwd_cpu(q.data(), k.data(), v.data(), lse.data(), dout.data(), want_dq.data(), want_dk.data(),
                           want_dv.data(), keys, s);
  CHECK(dq == want_dq);
  CHECK(dk == want_dk);
  CHECK(dv == want_dv);

  // The keys as a decode cache of 23 slots; the last query's spans.
  const AttentionShape cache{s.batch, s.seq_len, s.heads, s.head_dim};
  const SpanTable last_row{spans.data() + (s.seq_len - 1) * kSinkWindowSpans, kSinkWindowSpans, false};
  std::vector<float> out_t(s.batch * s.heads * s.head_dim), want_t(out_t.size());
  masked_attention_decode(Device::cpu, q.data(), k.data(), v.data(), out_t.data(), last_row, cache);
  masked_attention_decode_cpu(q.data(), k.data(), v.data(), want_t.data(), last_row, cache);
  CHECK(out_t == want_t);
}

TEST_CASE("the block top-k dispatchers on the CPU give exactly the CPU selection", "[masked][dispatch]") {
  const AttentionShape s{2, 37, 2, 5};
  const BlockTopk sel{4, 2};
  Rng rng(8);
  const auto q = random_values(elements(s), rng), k = random_values(elements(s), rng);
  const int64_t blocks = s.seq_len / sel.block_size;
  std::vector<float> means(s.batch * blocks * s.heads * s.head_dim), want_means(means.size());
  block_key_means(Device::cpu, k.data(), s, sel.block_size, 0, blocks, means.data(), blocks);
  block_key_means_cpu(k.data(), s, sel.block_size, 0, blocks, want_means.data(), blocks);
  CHECK(means == want_means);

  std::vector<KeySpan> spans(query_rows(s) * sel.width(blocks));
  block_topk_sequence_spans(Device::cpu, q.data(), means.data(), s, sel, spans.data());
  CHECK(same_spans(spans, block_topk_table(q, k, s, sel)));

  const int64_t position = 30;
  std::vector<KeySpan> step(s.batch * s.heads * sel.width(position / sel.block_size)), want_step(step.size());
  block_topk_decode_spans(Device::cpu, q.data(), means.data(), blocks, position, s, sel, step.data());
  block_topk_decode_spans(q.data(), means.data(), blocks, position, s, sel, want_step.data());
  CHECK(same_spans(step, want_step));
}

TEST_CASE("a span buffer on the CPU holds uploaded spans and views them as a table of rows", "[masked][span_buffer]") {
  SpanBuffer buffer;
  CHECK(buffer.device() == Device::cpu);
  CHECK(buffer.size() == 0);
  CHECK(buffer.data() == nullptr);
  const auto spans = sink_window_table(9, 1, 3);
  buffer.upload(spans);
  CHECK(buffer.size() == static_cast<int64_t>(spans.size()));
  CHECK(same_spans(buffer.download(), spans));
  const SpanTable table = buffer.table(kSinkWindowSpans, false);
  CHECK(table.spans == buffer.data());
  CHECK(table.width == kSinkWindowSpans);
  CHECK_FALSE(table.per_head);
  CHECK(table.row(0, 4, 9)[1].begin == spans[4 * kSinkWindowSpans + 1].begin);
  CHECK_THROWS_AS(buffer.table(0, false), std::invalid_argument);
  CHECK_THROWS_AS(buffer.table(4, false), std::invalid_argument);  // 18 spans are not rows of 4
  CHECK_THROWS_AS(buffer.resize(-1), std::invalid_argument);

  buffer.resize(5);
  CHECK(buffer.size() == 5);
  SpanBuffer moved(std::move(buffer));
  CHECK(moved.size() == 5);
  CHECK(buffer.size() == 0);
  buffer.upload(std::vector<KeySpan>{});
  CHECK(buffer.data() == nullptr);
}

#ifndef SEQBENCH_WITH_CUDA
TEST_CASE("GPU masked attention is skipped in a build without CUDA", "[gpu][masked]") {
  WARN("no CUDA device: skipped (this build has no CUDA backend)");
}

TEST_CASE("asking a CPU-only build for masked attention on the GPU names the missing backend", "[masked][dispatch]") {
  const AttentionShape s{1, 1, 1, 1};
  const KeySpan span{0, 1};
  const SpanTable keys{&span, 1, false};
  float x = 1.0f, out = 0.0f, lse = 0.0f;
  CHECK_THROWS_WITH(masked_attention_fwd(Device::cuda, &x, &x, &x, &out, &lse, keys, s),
                    Catch::Contains("masked_attention_fwd") && Catch::Contains("no CUDA backend"));
  KeySpan written;
  CHECK_THROWS_WITH(block_topk_decode_spans(Device::cuda, &x, &x, 0, 0, s, BlockTopk{}, &written),
                    Catch::Contains("block_topk_decode_spans"));
  SpanBuffer gpu(Device::cuda);
  CHECK_THROWS(gpu.upload(&span, 1));
}
#else
#include "ops/cuda/device_array.h"
#include "ops/device_memory.h"
#include "mixers/sparse/block_topk_spans_cuda.cuh"
#include "mixers/softmax/masked_attention_cuda.cuh"
#include "tests/gpu_kernel_checks.h"

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
  masked_attention_fwd_cpu(in.q.data(), in.k.data(), in.v.data(), out.data(), lse.data(), host_keys, s);
  masked_attention_bwd_cpu(in.q.data(), in.k.data(), in.v.data(), lse.data(), in.dout.data(), dq.data(), dk.data(),
                           dv.data(), host_keys, s);

  const SpanBuffer gpu_spans = on_gpu(spans);
  const SpanTable keys = gpu_spans.table(width, per_head);
  DeviceArray<float> q(in.q), k(in.k), v(in.v), dout(in.dout), cpu_lse(lse);
  auto gpu_out = poisoned<float>(n), gpu_lse = poisoned<float>(rows);
  masked_attention_fwd_cuda(q.data(), k.data(), v.data(), gpu_out.data(), gpu_lse.data(), keys, s);
  CHECK(relative_error(gpu_out.download(), out) < kTolerance);
  CHECK(relative_error(gpu_lse.download(), lse) < 1e-5);

  auto gpu_dq = poisoned<float>(n), gpu_dk = poisoned<float>(n), gpu_dv = poisoned<float>(n);
  masked_attention_bwd_cuda(q.data(), k.data(), v.data(), cpu_lse.data(), dout.data(), gpu_dq.data(), gpu_dk.data(),
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
  masked_attention_fwd_cuda(q.data(), k.data(), v.data(), out.data(), lse.data(), keys, s);
  std::vector<std::vector<float> > runs;
  for (int run = 0; run < 2; ++run) {
    DeviceArray<float> dq(n), dk(n), dv(n);
    masked_attention_bwd_cuda(q.data(), k.data(), v.data(), lse.data(), dout.data(), dq.data(), dk.data(), dv.data(),
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
        masked_attention_decode_cuda(q_d.data(), k_d.data(), v_d.data(), out.data(),
                                     spans.table(kSinkWindowDecodeSpans, false), cache);
        std::vector<float> want(nq);
        masked_attention_decode_cpu(q.data(), k.data(), v.data(), want.data(),
                                    SpanTable{host.data(), kSinkWindowDecodeSpans, false}, cache);
        CHECK(relative_error(out.download(), want) < kTolerance);
      }
      ++seed;
    }
}

TEST_CASE("block means and sequence selection on the GPU equal the CPU's exactly, ties included", "[gpu][masked]") {
  SKIP_WITHOUT_GPU();
  uint64_t seed = 1500;
  for (const AttentionShape& s : {AttentionShape{1, 1, 1, 1}, AttentionShape{2, 37, 3, 7}, AttentionShape{1, 70, 2, 33},
                                  AttentionShape{2, 64, 1, 16}, AttentionShape{1, 45, 2, 256}})
    for (int64_t block_size : {4, 16})
      for (int64_t top_k : {1, 2}) {
        const BlockTopk sel{block_size, top_k};
        INFO(describe(s) << " block_size=" << block_size << " top_k=" << top_k << " seed=" << seed);
        // Dyadic draws give exact scores and many exact ties (ties go to the earlier block).
        const Inputs in = random_inputs(s, seed++, true);
        const int64_t blocks = s.seq_len / block_size, width = sel.width(blocks);
        std::vector<float> means(s.batch * blocks * s.heads * s.head_dim);
        block_key_means_cpu(in.k.data(), s, block_size, 0, blocks, means.data(), blocks);
        DeviceArray<float> q(in.q), k(in.k), gpu_means(std::max<int64_t>(1, means.size()));
        block_key_means_cuda(k.data(), s, block_size, 0, blocks, gpu_means.data(), blocks);
        std::vector<float> got_means = gpu_means.download();
        got_means.resize(means.size());
        CHECK(got_means == means);

        SpanBuffer spans(Device::cuda);
        spans.resize(query_rows(s) * width);
        block_topk_sequence_spans_cuda(q.data(), gpu_means.data(), s, sel, spans.data());
        CHECK(same_spans(spans.download(), block_topk_table(in.q, in.k, s, sel)));
      }
}

TEST_CASE("block means on the GPU match the CPU's bitwise for a range of blocks inside a larger cache",
          "[gpu][masked]") {
  SKIP_WITHOUT_GPU();
  const AttentionShape cache{2, 53, 3, 33};  // 13 blocks of 4, means for blocks [5, 11) into 20 rows
  Rng rng(1600);
  const auto k = random_values(elements(cache), rng);
  const int64_t mean_rows = 20, count = cache.batch * mean_rows * cache.heads * cache.head_dim;
  std::vector<float> want(count, -1.0f);
  block_key_means_cpu(k.data(), cache, 4, 5, 11, want.data(), mean_rows);
  DeviceArray<float> k_d(k), means(std::vector<float>(count, -1.0f));
  block_key_means_cuda(k_d.data(), cache, 4, 5, 11, means.data(), mean_rows);
  CHECK(means.download() == want);  // rows outside [5, 11) untouched on both sides
  CHECK_THROWS_AS(block_key_means_cuda(k_d.data(), cache, 4, 0, 14, means.data(), mean_rows), std::invalid_argument);
}

TEST_CASE("sequence selection on the GPU with normal inputs differs from the CPU's only between near-equal blocks",
          "[gpu][masked]") {
  SKIP_WITHOUT_GPU();
  const AttentionShape s{2, 131, 3, 33};
  uint64_t seed = 1700;
  for (int64_t block_size : {4, 5, 16})
    for (int64_t top_k : {1, 2, 3}) {
      const BlockTopk sel{block_size, top_k};
      INFO("block_size=" << block_size << " top_k=" << top_k << " seed=" << seed);
      const Inputs in = random_inputs(s, seed++);
      const int64_t blocks = s.seq_len / block_size, width = sel.width(blocks);
      std::vector<float> means(s.batch * blocks * s.heads * s.head_dim);
      block_key_means_cpu(in.k.data(), s, block_size, 0, blocks, means.data(), blocks);
      const auto want = block_topk_table(in.q, in.k, s, sel);
      DeviceArray<float> q(in.q), means_d(means);
      SpanBuffer spans(Device::cuda);
      spans.resize(query_rows(s) * width);
      block_topk_sequence_spans_cuda(q.data(), means_d.data(), s, sel, spans.data());
      const auto got = spans.download();
      REQUIRE(got.size() == want.size());
      for (int64_t r = 0; r < query_rows(s); ++r) {
        const int64_t bh = r / s.seq_len, t = r % s.seq_len, b = bh / s.heads, h = bh % s.heads;
        const KeySpan* g = got.data() + r * width;
        const KeySpan* w = want.data() + r * width;
        // Scores in double of the chosen blocks, best first: equal up to rounding.
        auto scores = [&](const KeySpan* row) {
          std::vector<double> out;
          for (int64_t blk : selected_blocks(row, width, block_size)) {
            double dot = 0.0;
            for (int64_t d = 0; d < s.head_dim; ++d)
              dot += static_cast<double>(in.q[((b * s.seq_len + t) * s.heads + h) * s.head_dim + d]) *
                     means[((b * blocks + blk) * s.heads + h) * s.head_dim + d];
            out.push_back(dot);
          }
          std::sort(out.rbegin(), out.rend());
          return out;
        };
        const auto got_scores = scores(g), want_scores = scores(w);
        REQUIRE(got_scores.size() == want_scores.size());
        for (size_t i = 0; i < got_scores.size(); ++i)
          CHECK(std::fabs(got_scores[i] - want_scores[i]) <= 1e-5 * (1.0 + std::fabs(want_scores[i])));
        for (int64_t i = static_cast<int64_t>(got_scores.size()); i < width; ++i)  // own block, then padding
          CHECK((g[i].begin == w[i].begin && g[i].end == w[i].end));
      }
    }
}

TEST_CASE("block top-k decode on the GPU selects the CPU's blocks and attends as the CPU does at every position",
          "[gpu][masked]") {
  SKIP_WITHOUT_GPU();
  uint64_t seed = 1800;
  for (int64_t head_dim : {7, 16})
    for (int64_t block_size : {4, 16})
      for (int64_t top_k : {1, 2}) {
        const BlockTopk sel{block_size, top_k};
        const AttentionShape cache{2, 45, 3, head_dim};  // every token cached: slots are token indices
        const int64_t mean_rows = cache.seq_len / block_size, nq = cache.batch * cache.heads * head_dim;
        Rng rng(seed++);
        const auto k = random_values(elements(cache), rng, true), v = random_values(elements(cache), rng);
        std::vector<float> means(std::max<int64_t>(1, cache.batch * mean_rows * cache.heads * head_dim));
        block_key_means_cpu(k.data(), cache, block_size, 0, mean_rows, means.data(), mean_rows);
        DeviceArray<float> k_d(k), v_d(v), means_d(means);
        SpanBuffer spans(Device::cuda);
        for (int64_t position = 0; position < cache.seq_len; ++position) {
          INFO("D=" << head_dim << " block_size=" << block_size << " top_k=" << top_k << " position=" << position
                    << " seed=" << seed - 1);
          const auto q = random_values(nq, rng, true);
          const int64_t width = sel.width(position / block_size);
          std::vector<KeySpan> want_spans(cache.batch * cache.heads * width);
          block_topk_decode_spans(q.data(), means.data(), mean_rows, position, cache, sel, want_spans.data());
          DeviceArray<float> q_d(q);
          spans.resize(cache.batch * cache.heads * width);
          block_topk_decode_spans(Device::cuda, q_d.data(), means_d.data(), mean_rows, position, cache, sel,
                                  spans.data());
          CHECK(same_spans(spans.download(), want_spans));

          auto out = poisoned<float>(nq);
          masked_attention_decode(Device::cuda, q_d.data(), k_d.data(), v_d.data(), out.data(),
                                  spans.table(width, true), cache);
          std::vector<float> want(nq);
          masked_attention_decode_cpu(q.data(), k.data(), v.data(), want.data(),
                                      SpanTable{want_spans.data(), width, true}, cache);
          CHECK(relative_error(out.download(), want) < kTolerance);
        }
      }
}

TEST_CASE("the GPU training path of block top-k (means, selection, attention) matches the CPU path", "[gpu][masked]") {
  SKIP_WITHOUT_GPU();
  const AttentionShape s{2, 77, 2, 16};
  const BlockTopk sel{16, 2};
  const Inputs in = random_inputs(s, 1900, true);
  const int64_t n = elements(s), blocks = s.seq_len / sel.block_size, width = sel.width(blocks);
  const auto host_spans = block_topk_table(in.q, in.k, s, sel);
  std::vector<float> out(n), lse(query_rows(s));
  masked_attention_fwd_cpu(in.q.data(), in.k.data(), in.v.data(), out.data(), lse.data(),
                           SpanTable{host_spans.data(), width, true}, s);

  // What a mixer does on the GPU each forward: means, spans into a device span buffer, attention.
  DeviceArray<float> q(in.q), k(in.k), v(in.v), means(s.batch * blocks * s.heads * s.head_dim);
  block_key_means(Device::cuda, k.data(), s, sel.block_size, 0, blocks, means.data(), blocks);
  SpanBuffer spans(Device::cuda);
  spans.resize(query_rows(s) * width);
  block_topk_sequence_spans(Device::cuda, q.data(), means.data(), s, sel, spans.data());
  auto gpu_out = poisoned<float>(n), gpu_lse = poisoned<float>(query_rows(s));
  masked_attention_fwd(Device::cuda, q.data(), k.data(), v.data(), gpu_out.data(), gpu_lse.data(),
                       spans.table(width, true), s);
  CHECK(relative_error(gpu_out.download(), out) < kTolerance);
  CHECK(relative_error(gpu_lse.download(), lse) < 1e-5);
}

TEST_CASE("a query row with a span outside the sequence gets NaN outputs on the GPU, the other rows are unharmed",
          "[gpu][masked]") {
  SKIP_WITHOUT_GPU();
  const AttentionShape s{1, 6, 1, 4};
  const Inputs in = random_inputs(s, 2000);
  auto spans = sink_window_table(s.seq_len, 0, 3);
  std::vector<float> want(elements(s)), want_lse(query_rows(s));
  masked_attention_fwd_cpu(in.q.data(), in.k.data(), in.v.data(), want.data(), want_lse.data(),
                           SpanTable{spans.data(), kSinkWindowSpans, false}, s);
  spans[2 * kSinkWindowSpans + 1] = KeySpan{1, 9};  // query 2 reaches past the 6 keys
  const SpanBuffer gpu_spans = on_gpu(spans);
  DeviceArray<float> q(in.q), k(in.k), v(in.v);
  auto out = poisoned<float>(elements(s)), lse = poisoned<float>(query_rows(s));
  masked_attention_fwd_cuda(q.data(), k.data(), v.data(), out.data(), lse.data(),
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
#endif
