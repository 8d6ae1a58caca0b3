#include <catch2/catch.hpp>

#include "harness/suites.h"
#include "harness/sweep.h"
#include "harness/sweep_runner.h"
#include "ops/device_memory.h"

using namespace seqbench;
using nlohmann::json;

namespace {

json base_spec() {
  return json::parse(R"({
    "name": "t",
    "backends": ["softmax", {"name": "linear", "feature_map": ["identity", "elu"]}],
    "tasks": [{"name": "mqar", "seq_len": 32, "vocab_size": 128, "num_kv_pairs": [2, 4]}],
    "model": {"d_model": [16, 32], "n_layers": 2},
    "train": {"lr": [1e-3, 3e-3], "epochs": 1}
  })");
}

}  // namespace

TEST_CASE("list-valued fields expand into the full grid and lr stays a per-cell sweep") {
  Sweep sweep = expand_sweep(base_spec());
  // 3 backend variants x 2 kv settings x 2 model widths
  REQUIRE(sweep.cells.size() == 12);
  for (const auto& cell : sweep.cells) REQUIRE(cell.learning_rates == std::vector<double>{1e-3, 3e-3});
  int identity = 0;
  for (const auto& cell : sweep.cells) identity += cell.mixer_params.value("feature_map", "") == "identity";
  REQUIRE(identity == 4);
}

TEST_CASE("several seeds multiply the grid") {
  json spec = base_spec();
  spec["seeds"] = {0, 1, 2};
  REQUIRE(expand_sweep(spec).cells.size() == 36);
}

TEST_CASE("unknown backends, tasks and keys are rejected with their names") {
  json spec = base_spec();
  spec["backends"] = {"softmax", "transformerxl"};
  REQUIRE_THROWS_WITH(expand_sweep(spec), Catch::Contains("transformerxl") && Catch::Contains("softmax"));
  spec = base_spec();
  spec["tasks"] = json::array({{{"name", "wikitext"}}});
  REQUIRE_THROWS_WITH(expand_sweep(spec), Catch::Contains("wikitext") && Catch::Contains("mqar"));
  spec = base_spec();
  spec["model"]["d_modle"] = 8;
  REQUIRE_THROWS_WITH(expand_sweep(spec), Catch::Contains("d_modle"));
  spec = base_spec();
  spec["train"]["epochs"] = "ten";
  REQUIRE_THROWS_WITH(expand_sweep(spec), Catch::Contains("epochs"));
}

TEST_CASE("malformed JSON is reported with where it broke") {
  REQUIRE_THROWS_WITH(parse_sweep_text("{\"backends\": [\"softmax\",", "x.json"),
                      Catch::Contains("malformed") && Catch::Contains("x.json"));
}

TEST_CASE("impossible shapes are rejected before anything runs") {
  json spec = base_spec();
  spec["model"]["n_heads"] = 3;  // 16 and 32 are not divisible by 3
  REQUIRE_THROWS_WITH(validate_sweep(expand_sweep(spec)), Catch::Contains("n_heads=3"));
  spec = base_spec();
  spec["tasks"][0]["num_kv_pairs"] = 40;  // needs seq_len >= 160
  REQUIRE_THROWS_WITH(validate_sweep(expand_sweep(spec)), Catch::Contains("num_kv_pairs"));
  spec = base_spec();
  spec["backends"] = {"linear,softmax,softmax"};  // 3-layer pattern cannot tile 2 layers
  REQUIRE_THROWS_WITH(validate_sweep(expand_sweep(spec)), Catch::Contains("tile"));
}

TEST_CASE("every built-in suite expands and validates") {
  for (const auto& suite : builtin_suites()) {
    INFO(suite.name);
    Sweep sweep = expand_sweep(suite_spec(suite.name));
    REQUIRE(!sweep.cells.empty());
    // A GPU suite's shapes are checked on the CPU here when the build or machine has no GPU.
    for (CellSpec& cell : sweep.cells)
      if (cell.device == "cuda" && !device_available(Device::cuda)) cell.device = "cpu";
    REQUIRE_NOTHROW(validate_sweep(sweep));
  }
  REQUIRE_THROWS_WITH(suite_spec("nope"), Catch::Contains("smoke"));
}
