// The mixer registry: names, the unknown-backend message, and every registered backend run
// through the generic conformance checks of tests/mixer_checks.h at its default params, so a
// new backend is checked here the moment its registry line exists.
#include <algorithm>
#include <catch2/catch.hpp>
#include <string>
#include <utility>
#include <vector>

#include "models/mixer_registry.h"
#include "tests/mixer_checks.h"

using namespace seqbench;
using namespace seqbench::mixer_checks;

TEST_CASE("the registry lists softmax and linear with descriptions", "[registry]") {
  const auto& backends = mixer_backends();
  REQUIRE(backends.size() >= 2);
  CHECK(backends[0].name == "softmax");
  CHECK(backends[1].name == "linear");
  for (const MixerInfo& info : backends) {
    INFO(info.name);
    CHECK(!info.description.empty());
    CHECK(info.factory);
    CHECK(is_mixer_backend(info.name));
  }
  CHECK_FALSE(is_mixer_backend("Softmax"));
  CHECK_FALSE(is_mixer_backend(""));
}

TEST_CASE("an unknown backend is refused with the list of known ones", "[registry]") {
  std::string known;
  for (const MixerInfo& info : mixer_backends()) known += (known.empty() ? "" : ", ") + info.name;
  CHECK_THROWS_AS(make_mixer(make_spec("transformer", 12, 3)), std::invalid_argument);
  CHECK_THROWS_WITH(make_mixer(make_spec("transformer", 12, 3)),
                    "unknown mixer backend 'transformer'; known backends: " + known);
  CHECK_THROWS_WITH(make_mixer(make_spec("x", 12, 3)),
                    Catch::Matchers::StartsWith("unknown mixer backend 'x'; known backends: softmax, linear"));
}

TEST_CASE("make_mixer builds the backend the spec names", "[registry]") {
  for (const MixerInfo& info : mixer_backends()) {
    const MixerSpec spec = make_spec(info.name, 16, 2);
    auto mixer = make_mixer(spec);
    REQUIRE(mixer);
    CHECK(mixer->spec().kind == info.name);
    CHECK(mixer->spec().d_model == 16);
    CHECK(mixer->spec().n_heads == 2);
    CHECK_FALSE(mixer->params().empty());
  }
}

TEST_CASE("every registered backend passes the conformance checks at its defaults", "[registry][conformance]") {
  for (const MixerInfo& info : mixer_backends()) {
    SECTION(info.name) {
      const MixerSpec spec = make_spec(info.name, 16, 2, nlohmann::json::object(), 3);
      check_mixer_gradients(spec, 2, 9, 71);
      check_forward_matches_decode(spec, 2, 9, 72);
      check_cache_snapshot_continues_identically(spec, 2, 7, 4, 75);
      check_thread_count_independence(spec, 3, 40, 73);
      check_backward_accumulates(spec, 2, 5, 74);
      check_initialisation_is_seeded(spec);
      check_rejects_bad_inputs(spec);
      check_rejects_bad_specs(spec);
      auto mixer = make_mixer(spec);
      CHECK(mixer->state_bytes(1) > 0);
      CHECK(mixer->state_bytes(128) >= mixer->state_bytes(64));
    }
  }
}

TEST_CASE("every backend with a chunk_size refuses one that is not a positive integer, naming it", "[registry]") {
  int chunked = 0;
  for (const MixerInfo& info : mixer_backends()) {
    const bool has_chunk_size = std::any_of(info.params.begin(), info.params.end(), [](const MixerParamInfo& p) {
      return std::string(p.name) == "chunk_size";
    });
    if (!has_chunk_size) continue;
    INFO(info.name);
    ++chunked;
    CHECK_THROWS_WITH(make_mixer(make_spec(info.name, 16, 2, {{"chunk_size", "big"}})),
                      Catch::Matchers::Contains("chunk_size") && Catch::Matchers::Contains("integer"));
    CHECK_THROWS_WITH(make_mixer(make_spec(info.name, 16, 2, {{"chunk_size", 0}})),
                      Catch::Matchers::Contains("chunk_size"));
    CHECK_THROWS_AS(make_mixer(make_spec(info.name, 16, 2, {{"chunk_size", -3}})), std::invalid_argument);
  }
  CHECK(chunked >= 4);  // linear, delta, gla, ssm
}

TEST_CASE("every backend refuses an empty decode cache and one made for another batch, naming both batches",
          "[registry]") {
  for (const MixerInfo& info : mixer_backends())
    for (const char* wrapped : {"", "short_conv"}) {
      nlohmann::json params = nlohmann::json::object();
      if (*wrapped) params[wrapped] = 3;
      const MixerSpec spec = make_spec(info.name, 16, 2, params);
      INFO(describe(spec));
      auto mixer = make_mixer(spec);
      CHECK_THROWS_WITH(mixer->make_cache(0, 8), Catch::Contains("cache needs batch >= 1"));
      auto cache = mixer->make_cache(2, 8);
      Rng rng(5);
      Tensor y;
      CHECK_THROWS_WITH(mixer->forward(random_tensor({3, 4, 16}, rng), y, cache.get()),
                        Catch::Contains("mixer '" + info.name + "'") && Catch::Contains("forward got batch 3"));
      CHECK_THROWS_WITH(mixer->step(random_tensor({1, 16}, rng), y, *cache),
                        Catch::Contains("mixer '" + info.name + "': decode input has batch 1, cache was made for 2"));
    }
}

TEST_CASE("a snapshot of every kind of decode cache continues bit for bit, variants and wrappers included",
          "[registry][conformance]") {
  for (const auto& [kind, params] : std::vector<std::pair<const char*, nlohmann::json>>{
           {"linear", {{"short_conv", 3}}},
           {"sparse", {{"pattern", "block_topk"}, {"block_size", 3}, {"top_k", 1}}},
           {"sliding_window", {{"window", 3}}},
           {"gla", {{"decay", "scalar"}}},
           {"delta", {{"gated", true}}},
           {"ssm", {{"d_state", 4}, {"head_dim", 4}}}}) {
    check_cache_snapshot_continues_identically(make_spec(kind, 16, 2, params, 3), 2, 8, 5, 76);
  }
}
