#include <catch2/catch.hpp>
#include <chrono>
#include <cmath>
#include <map>
#include <nlohmann/json.hpp>
#include <thread>
#include <utility>

#include "harness/machine_limits.h"
#include "harness/profile_spec.h"
#include "harness/profiler.h"
#include "harness/timer.h"
#include "harness/timing_stats.h"
#include "models/mixer_registry.h"
#include "models/sequence_model.h"
#include "ops/rng.h"
#include "tests/cli_harness.h"

using namespace seqbench;
using Catch::Matchers::Contains;

namespace {

RepetitionPolicy fast_policy() {
  return RepetitionPolicy{/*warmup=*/1, /*min_repetitions=*/5, /*max_repetitions=*/200, /*target_rel_noise=*/0.02,
                          /*budget_s=*/0.05};
}

std::map<std::string, Metric> by_name(const std::vector<Metric>& metrics) {
  std::map<std::string, Metric> out;
  for (const auto& m : metrics) {
    INFO("metric " << m.name << " appears twice");
    REQUIRE(out.count(m.name) == 0);
    out[m.name] = m;
  }
  return out;
}

}  // namespace

TEST_CASE("sample statistics give the median, mean, extremes and sample standard deviation") {
  const SampleStats odd = summarize_samples({3, 1, 2, 5, 4});
  CHECK(odd.n == 5);
  CHECK(odd.median == 3);
  CHECK(odd.mean == 3);
  CHECK(odd.min == 1);
  CHECK(odd.max == 5);
  CHECK(odd.stddev == Approx(std::sqrt(2.5)));
  CHECK(odd.relative_stddev == Approx(std::sqrt(2.5) / 3));
  // n = 5: the order-statistic interval spans the whole sample, half of (5 - 1) over the median.
  CHECK(odd.relative_ci95 == Approx(2.0 / 3));

  const SampleStats even = summarize_samples({4, 1, 3, 2});
  CHECK(even.median == 2.5);

  const SampleStats one = summarize_samples({7});
  CHECK(one.median == 7);
  CHECK(one.stddev == 0);
  CHECK(std::isinf(one.relative_ci95));

  CHECK_THROWS_AS(summarize_samples({}), std::invalid_argument);
}

TEST_CASE("the median's confidence interval comes from order statistics and ignores a far outlier") {
  std::vector<double> ranks;
  for (int i = 1; i <= 100; ++i) ranks.push_back(i);
  // Conover's ranks for n = 100: j = floor(50 - 9.8) = 40, k = ceil(1 + 50 + 9.8) = 61.
  CHECK(summarize_samples(ranks).relative_ci95 == Approx((61.0 - 40.0) / 2 / 50.5));

  std::vector<double> steady(30, 10.0);
  steady.back() = 1000.0;  // one preempted repetition
  const SampleStats s = summarize_samples(steady);
  CHECK(s.median == 10.0);
  CHECK(s.relative_ci95 == 0.0);
  CHECK(s.relative_stddev > 1.0);
}

TEST_CASE("identical repetitions stop at the minimum count, after the warm-up") {
  int calls = 0;
  RepetitionPolicy policy = fast_policy();
  policy.warmup = 2;
  const Measurement m = measure_repeated([&] { return ++calls, 1.5; }, policy);
  CHECK(m.samples.size() == 5);
  CHECK(calls == 7);
  CHECK(m.stop == StopReason::noise_target);
  CHECK(m.stats.median == 1.5);
}

TEST_CASE("timings with 0.5% noise meet a 2% target within a few repetitions") {
  const uint64_t seed = 12345;
  INFO("seed " << seed);
  Rng rng(seed);
  RepetitionPolicy policy = fast_policy();
  policy.budget_s = 10;  // must stop on noise, not on time
  const Measurement m = measure_repeated([&] { return 10.0 + 0.05 * rng.normal(); }, policy);
  CHECK(m.stop == StopReason::noise_target);
  CHECK(m.samples.size() <= 10);
  CHECK(m.stats.median == Approx(10.0).epsilon(0.01));
}

TEST_CASE("noisy timings run until the repetition cap or the time budget") {
  SECTION("the cap") {
    int calls = 0;
    RepetitionPolicy policy = fast_policy();
    policy.max_repetitions = 40;
    policy.budget_s = 100;
    const Measurement m = measure_repeated([&] { return ++calls % 2 ? 1.0 : 100.0; }, policy);
    CHECK(m.stop == StopReason::max_repetitions);
    CHECK(m.samples.size() == 40);
  }
  SECTION("the budget") {
    int calls = 0;
    RepetitionPolicy policy = fast_policy();
    policy.budget_s = 0.03;
    const Measurement m = measure_repeated(
        [&] {
          std::this_thread::sleep_for(std::chrono::milliseconds(2));
          return ++calls % 2 ? 1.0 : 100.0;
        },
        policy);
    CHECK(m.stop == StopReason::time_budget);
    CHECK(m.samples.size() >= 5);
    CHECK(m.samples.size() < 40);
  }
  SECTION("a zero budget still takes the minimum") {
    RepetitionPolicy policy = fast_policy();
    policy.budget_s = 0;
    int calls = 0;
    CHECK(measure_repeated([&] { return ++calls % 2 ? 1.0 : 100.0; }, policy).samples.size() == 5);
  }
}

TEST_CASE("a stored metric keeps the median as its value and every sample") {
  const Metric m = make_metric("prefill_ms@len64", {3, 9, 1, 4});
  CHECK(m.value == 3.5);
  CHECK(m.n == 4);
  CHECK(m.min == 1);
  CHECK(m.max == 9);
  CHECK(m.samples == std::vector<double>{3, 9, 1, 4});
}

TEST_CASE("repetition policies and profile objects with bad values are rejected, naming the key") {
  RepetitionPolicy bad = fast_policy();
  bad.min_repetitions = 0;
  CHECK_THROWS_WITH(validate_policy(bad), Contains("min_repetitions"));
  bad = fast_policy();
  bad.max_repetitions = 3;
  CHECK_THROWS_WITH(validate_policy(bad), Contains("max_repetitions"));

  CHECK_THROWS_WITH(parse_profile_spec({{"prefil_lengths", {64}}}), Contains("prefil_lengths") && Contains("known"));
  CHECK_THROWS_WITH(parse_profile_spec({{"prefill_lengths", {64, 0}}}), Contains("prefill_lengths"));
  CHECK_THROWS_WITH(parse_profile_spec({{"budget_s", -1}}), Contains("budget_s"));
  CHECK_THROWS_WITH(parse_profile_spec({{"train_step", 1}}), Contains("train_step"));
  CHECK_THROWS_AS(parse_profile_spec(nlohmann::json::array()), std::invalid_argument);

  const ProfileSpec spec = parse_profile_spec(
      {{"prefill_lengths", {64, 128}}, {"decode_context", 32}, {"train_step", true}, {"target_rel_noise", 0.05}});
  CHECK(spec.prefill_lengths == std::vector<int>{64, 128});
  CHECK(spec.decode_context == 32);
  CHECK(spec.train_step);
  CHECK(spec.repetitions.target_rel_noise == 0.05);
  CHECK(spec.enabled());
  CHECK_FALSE(ProfileSpec{}.enabled());
  CHECK(parse_profile_spec({{"clock", "cpu"}}).clock == "cpu");
  CHECK_THROWS_WITH(parse_profile_spec({{"clock", "sundial"}}), Contains("clock") && Contains("sundial"));
}

TEST_CASE("the process CPU clock counts work, not sleep, and times CPU work only") {
  auto cpu = make_timer(Device::cpu, "cpu");
  cpu->start();
  std::this_thread::sleep_for(std::chrono::milliseconds(30));
  CHECK(cpu->stop_ms() < 15);
  cpu->start();
  volatile double sink = 0;
  const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(20);
  while (std::chrono::steady_clock::now() < until) sink = sink + 1;
  CHECK(cpu->stop_ms() > 1);
  auto wall = make_timer(Device::cpu, "wall");
  wall->start();
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  CHECK(wall->stop_ms() >= 5);
  CHECK_THROWS_WITH(make_timer(Device::cuda, "cpu"), Contains("wall"));
  CHECK_THROWS_AS(make_timer(Device::cpu, "sundial"), std::invalid_argument);
}

TEST_CASE("profiling a tiny model of every backend gives every metric, positive, with its samples") {
  ProfileSpec spec;
  spec.prefill_lengths = {8, 13, 8};  // a repeated length is measured once
  spec.decode_context = 7;
  spec.decode_tokens = 3;
  spec.train_step = true;
  spec.train_batch = 2;
  spec.repetitions = fast_policy();
  for (const MixerInfo& backend : mixer_backends()) {
    // max_seq_len 8: the profiler raises it to the longest length it measures.
    ModelConfig config{/*vocab_size=*/64, /*d_model=*/16,    /*n_layers=*/1,
                       /*n_heads=*/2,     /*max_seq_len=*/8,
                       /*mlp_expand=*/2};
    config.backend = backend.name;
    try {
      SequenceModel probe(config);
    } catch (const std::exception& e) {
      WARN("backend " << backend.name << " needs parameters at d_model 16: " << e.what());
      continue;
    }
    INFO("backend " << backend.name);
    const auto metrics = by_name(profile_model(config, spec, nullptr, 3));
    for (const char* name : {"prefill_ms@len8", "prefill_ms@len13", "prefill_tokens_per_s@len13",
                             "peak_mem_bytes@prefill13", "state_bytes@len13", "kv_bytes@len13",
                             "decode_ms_per_token@ctx7", "decode_tokens_per_s@ctx7", "peak_mem_bytes@decode7",
                             "state_bytes@len7", "train_step_ms", "train_tokens_per_s", "peak_mem_bytes@train",
                             "prefill_tflops@len13", "prefill_gb_per_s@len13", "decode_tflops@ctx7",
                             "decode_gb_per_s@ctx7", "train_tflops", "train_gb_per_s",
                             "prefill_compute_fraction@len13", "prefill_bandwidth_fraction@len13",
                             "decode_compute_fraction@ctx7", "decode_bandwidth_fraction@ctx7",
                             "train_compute_fraction", "train_bandwidth_fraction"}) {
      INFO("metric " << name);
      REQUIRE(metrics.count(name) == 1);
      const Metric& m = metrics.at(name);
      CHECK(m.value > 0);
      CHECK(static_cast<int64_t>(m.samples.size()) == m.n);
      CHECK(m.min <= m.value);
      CHECK(m.value <= m.max);
    }
    // Each fraction is its rate over the limit measured once in this process, sample by sample.
    const MachineLimits limits = machine_limits(Device::cpu);
    for (const auto& [phase, suffix] : {std::pair<std::string, std::string>{"prefill", "@len13"},
                                         {"decode", "@ctx7"},
                                         {"train", ""}}) {
      INFO("phase " << phase);
      const Metric& compute = metrics.at(phase + "_compute_fraction" + suffix);
      const Metric& bandwidth = metrics.at(phase + "_bandwidth_fraction" + suffix);
      CHECK(compute.value == Approx(metrics.at(phase + "_tflops" + suffix).value / limits.tflops));
      CHECK(bandwidth.value == Approx(metrics.at(phase + "_gb_per_s" + suffix).value / limits.gb_per_s));
      CHECK(compute.unit == "fraction");
    }
    for (const char* timing : {"prefill_ms@len8", "decode_ms_per_token@ctx7", "train_step_ms"}) {
      INFO("timing " << timing);
      CHECK(metrics.at(timing).n >= 5);
      CHECK(metrics.at(timing).unit == "ms");
    }
    // Training holds gradients and AdamW's two moments besides the weights.
    CHECK(metrics.at("peak_mem_bytes@train").value > metrics.at("peak_mem_bytes@prefill8").value);
    if (backend.name == "softmax") {
      // The KV cache the allocator sees is exactly the formula's 2 * L * d_model floats per layer.
      CHECK(metrics.at("kv_bytes@len13").value == metrics.at("state_bytes@len13").value);
      CHECK(metrics.at("state_bytes@len13").value == 2 * 13 * 16 * 4);
    }
  }
}

TEST_CASE("a profile-only sweep stores cost metrics without training or scoring") {
  testing::TempDir dir;
  const std::string sweep = dir.write("p.json", R"({
    "name": "profile-only",
    "backends": ["softmax", {"name": "linear", "feature_map": "elu"}],
    "tasks": [{"name": "mqar", "vocab_size": 64, "seq_len": 16, "num_kv_pairs": 2, "num_train": 4, "num_test": 2}],
    "model": {"d_model": 16, "n_layers": 1, "mlp_expand": 0},
    "train": {"epochs": 0, "batch_size": 2},
    "profile": {"prefill_lengths": [16, 32], "decode_context": 16, "decode_tokens": 2, "train_step": true,
                "budget_s": 0.02}
  })");
  auto r = testing::run_seqbench("run --sweep " + sweep + " --db " + dir.file("r.db"));
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  r = testing::run_seqbench("report --format json --db " + dir.file("r.db"));
  REQUIRE(r.exit_code == 0);
  const auto doc = nlohmann::json::parse(r.output);
  REQUIRE(doc["cells"].size() == 2);
  for (const auto& cell : doc["cells"]) {
    const auto& metrics = cell["metrics"];
    CHECK(metrics.contains("prefill_ms@len32"));
    CHECK(metrics.contains("decode_ms_per_token@ctx16"));
    CHECK(metrics.contains("train_step_ms"));
    CHECK_FALSE(metrics.contains("accuracy"));
    CHECK(cell["params"]["profile"]["prefill_lengths"] == nlohmann::json({16, 32}));
  }

  std::string no_profile = R"({"backends": ["softmax"], "tasks": [{"name": "mqar", "vocab_size": 64, "seq_len": 16,
    "num_kv_pairs": 2}], "train": {"epochs": 0}})";
  r = testing::run_seqbench("run --dry-run --sweep " + dir.write("n.json", no_profile));
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.output, Contains("train.epochs") && Contains("profile"));
}

TEST_CASE("the machine's limits are measured once per device, positive and plausible for a CPU") {
  const MachineLimits first = machine_limits(Device::cpu);
  const MachineLimits again = machine_limits(Device::cpu);
  CHECK(first.tflops == again.tflops);
  CHECK(first.gb_per_s == again.gb_per_s);
  // A CPU core does between 0.1 and 10^4 GFLOP/s on a 384^3 product and copies 0.1-10^4 GB/s.
  CHECK(first.tflops > 1e-4);
  CHECK(first.tflops < 10);
  CHECK(first.gb_per_s > 0.1);
  CHECK(first.gb_per_s < 1e4);
  CHECK(fraction_of_limit(2.0, 4.0) == 0.5);
  CHECK(fraction_of_limit(2.0, 0.0) == 0.0);
}
