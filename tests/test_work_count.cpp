// FLOP and byte counts of ops/work_count.h, checked against small cases counted by hand.
#include <catch2/catch.hpp>

#include "ops/work_count.h"
#include "tests/invalid_argument_message.h"

using namespace seqbench;
using Catch::Matchers::Contains;

TEST_CASE("a matmul counts 2mnk FLOPs forward, twice that backward, and each operand's bytes once") {
  // m=2, n=3, k=5, fp32: x 10, w 15, y 6 elements.
  const WorkCount f = matmul_work(2, 3, 5, 4, WorkPass::forward);
  CHECK(f.flops == 60);
  CHECK(f.bytes == (10 + 15 + 6) * 4);
  const WorkCount b = matmul_work(2, 3, 5, 4, WorkPass::backward);
  CHECK(b.flops == 120);
  CHECK(b.bytes == (2 * 10 + 2 * 15 + 6) * 4);  // reads x, w, dy; writes dx, dw
}

TEST_CASE("full causal attention counts FlashAttention's 4*B*H*L^2*D/2, backward 2.5x") {
  // B=2, L=4, H=3, D=8, bf16: 4*2*3*16*8/2 = 1536 FLOPs; q, k, v, o are 2*4*3*8 = 192 elements each.
  const AttentionWorkShape s{2, 4, 3, 8, 1 << 30, 2};
  const WorkCount f = attention_work(s, WorkPass::forward);
  CHECK(f.flops == 1536);
  CHECK(f.bytes == 4 * 192 * 2);
  const WorkCount b = attention_work(s, WorkPass::backward);
  CHECK(b.flops == 2.5 * 1536);
  CHECK(b.bytes == 8 * 192 * 2);  // q k v o dO read, dq dk dv written
}

TEST_CASE("a window shorter than the sequence counts W*L - W^2/2 query-key pairs") {
  // L=10, W=4: 40 - 8 = 32 pairs; B=H=1, D=2: 4 * 2 * 32 = 256 FLOPs.
  const WorkCount f = attention_work({1, 10, 1, 2, 4, 4}, WorkPass::forward);
  CHECK(f.flops == 256);
  // A window at least as long as the sequence is full causal attention: L^2/2 = 50 pairs.
  CHECK(attention_work({1, 10, 1, 2, 10, 4}, WorkPass::forward).flops == 4 * 2 * 50);
}

TEST_CASE("an attention decode step reads the cached keys and values of its window") {
  // B=2, context 5, H=1, D=4, fp32: 4*2*5*4 = 160 FLOPs; K and V 2*5*4 per sequence plus q and o.
  const WorkCount d = attention_work({2, 5, 1, 4, 1 << 30, 4}, WorkPass::decode_step);
  CHECK(d.flops == 160);
  CHECK(d.bytes == 2 * (2 * 5 * 4 + 2 * 4) * 4);
  CHECK(attention_work({2, 5, 1, 4, 3, 4}, WorkPass::decode_step).flops == 4 * 2 * 3 * 4);
}

TEST_CASE("a chunked scan counts intra-chunk 2C(K+V) and inter-chunk 4KV per token and head") {
  // B=1, L=8, H=2, K=3, V=5, chunk 4, scalar gate, fp32.
  // Per token and head: 2*4*8 + 4*15 = 124; 8 tokens * 2 heads = 1984 FLOPs.
  // Per token: q, k 2*2*3 = 12, v 2*5 = 10, gates 2, o 10 -> 34 floats.
  const ScanWorkShape s{1, 8, 2, 3, 5, 4, 1, 2, false, 4, 4};
  const WorkCount f = chunked_scan_work(s, WorkPass::forward);
  CHECK(f.flops == 1984);
  CHECK(f.bytes == 8 * 34 * 4);
  const WorkCount b = chunked_scan_work(s, WorkPass::backward);
  CHECK(b.flops == 2.5 * 1984);
  CHECK(b.bytes == 8 * (2 * 24 + 10) * 4);  // inputs and dO read, a gradient per input written
}

TEST_CASE("the delta rule adds its WY terms and beta, and a chunk never exceeds the sequence") {
  // B=1, L=2, H=1, K=V=2, chunk 64 -> capped at 2. Linear part: 2*2*4 + 4*4 = 32; WY: 2*2*2 + 2*2*4
  // + 2*4 = 32; 2 tokens -> 128 FLOPs. Per token: q k 4, v 2, beta 1, o 2 = 9 floats.
  const ScanWorkShape s{1, 2, 1, 2, 2, 64, 0, 1, true, 4, 4};
  const WorkCount f = chunked_scan_work(s, WorkPass::forward);
  CHECK(f.flops == 128);
  CHECK(f.bytes == 2 * 9 * 4);
}

TEST_CASE("a recurrent decode step reads and writes the whole state") {
  // B=3, H=2, K=4, V=2: state 48 elements (fp32), 4*48 FLOPs; per sequence q k 16, v 4, o 4 (bf16).
  const ScanWorkShape s{3, 1000, 2, 4, 2, 64, 0, 2, false, 2, 4};
  const WorkCount d = chunked_scan_work(s, WorkPass::decode_step);
  CHECK(d.flops == 4 * 48);
  CHECK(d.bytes == 2 * 48 * 4 + 3 * 24 * 2);
  // SSD's B and C are shared by the heads: one q/k pair per token instead of one per head.
  const ScanWorkShape ssd{3, 1000, 2, 4, 2, 64, 1, 1, false, 2, 4};
  CHECK(chunked_scan_work(ssd, WorkPass::decode_step).bytes == 2 * 48 * 4 + 3 * (8 + 4 + 2 + 4) * 2);
}

TEST_CASE("work counts refuse a chunk or window below one, naming it") {
  CHECK_THAT(error_of([] { chunked_scan_work({1, 8, 1, 2, 2, 0, 0, 1, false, 4, 4}, WorkPass::forward); }),
             Contains("chunk must be >= 1, got 0"));
  CHECK_THAT(error_of([] { attention_work({1, 8, 1, 2, 0, 4}, WorkPass::forward); }),
             Contains("keys_per_query must be >= 1, got 0"));
}
