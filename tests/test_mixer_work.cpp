// Every mixer declares its work per call (Mixer::work, ops/work_count.h): hand-counted cases for
// the projections plus the mixing, and the same shape rules checked over the whole registry.
#include <catch2/catch.hpp>

#include "models/mixer_registry.h"
#include "tests/mixer_checks.h"

using namespace seqbench;
using namespace seqbench::mixer_checks;

TEST_CASE("softmax attention's work is its four projections plus causal attention") {
  // d_model 8, 2 heads of 4, B=1, L=4 (16 fp32 floats = 64 bytes per 4x4 tile).
  // Projections: the fused q/k/v weight [24, 8] and o's [8, 8] on 4 tokens: 2*4*24*8 + 2*4*8*8 =
  // 2048 FLOPs; q/k/v reads its 32 inputs once and 192 weights and writes 96 outputs, o reads 32 + 64
  // and writes 32: 448 floats.
  // Attention: 4*B*H*D*L^2/2 = 4*1*2*4*8 = 256 FLOPs; q, k, v read and o written: 4 x 32 floats.
  auto mixer = make_mixer(make_spec("softmax", 8, 2));
  const WorkCount f = mixer->work(1, 4, WorkPass::forward);
  CHECK(f.flops == 2048 + 256);
  CHECK(f.bytes == (448 + 4 * 32) * 4);
  CHECK(mixer->mixing_work(1, 4, WorkPass::forward).flops == 256);
  // Decode after 4 tokens: one token through the projections (2 x 8 x 8 each) and 4 cached keys.
  const WorkCount d = mixer->work(1, 4, WorkPass::decode_step);
  CHECK(d.flops == 4 * 128 + 4 * 1 * 2 * 4 * 4);
}

TEST_CASE("a sliding window counts only its window's keys") {
  // Window 2 over 16 tokens: 2*16 - 2 = 30 query-key pairs per head instead of 128.
  auto window = make_mixer(make_spec("sliding_window", 8, 2, {{"window", 2}}));
  auto full = make_mixer(make_spec("softmax", 8, 2));
  CHECK(window->mixing_work(1, 16, WorkPass::forward).flops == 4.0 * 2 * 4 * 30);
  CHECK(full->mixing_work(1, 16, WorkPass::forward).flops == 4.0 * 2 * 4 * 128);
  CHECK(window->mixing_work(1, 100, WorkPass::decode_step).flops == 4.0 * 2 * 2 * 4);
}

TEST_CASE("every registered backend declares work that grows with the batch and the length") {
  for (const MixerInfo& info : mixer_backends()) {
    SECTION(info.name) {
      auto mixer = make_mixer(make_spec(info.name, 16, 2));
      const WorkCount f = mixer->work(2, 64, WorkPass::forward), b = mixer->work(2, 64, WorkPass::backward);
      const WorkCount d = mixer->work(2, 64, WorkPass::decode_step);
      CHECK(f.flops > 0);
      CHECK(f.bytes > 0);
      CHECK(b.flops > f.flops);
      CHECK(b.bytes > f.bytes);
      CHECK(d.flops > 0);
      CHECK(d.flops < f.flops);
      CHECK(mixer->work(4, 64, WorkPass::forward).flops == Approx(2 * f.flops));
      CHECK(mixer->work(2, 128, WorkPass::forward).flops > f.flops);
      CHECK(mixer->mixing_work(2, 64, WorkPass::forward).flops < f.flops);  // projections on top
    }
  }
}
