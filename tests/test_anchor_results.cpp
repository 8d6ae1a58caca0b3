// The anchor file bench_gpu/anchor_kernels.py writes (bench_gpu/anchor_results.h): parsing, the
// errors a malformed file gets, and the lookup that pairs our rows with anchors by key.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <fstream>
#include <string>

#include "bench_gpu/anchor_results.h"
#include "tests/invalid_argument_message.h"

using namespace seqbench;
using Catch::Matchers::Contains;

namespace {

const char* kFile = R"({"device": "NVIDIA H200", "versions": {"torch": "2.11"}, "rows": [
  {"key": "softmax.fwd.L4096", "impl": "torch-sdpa-flash2", "ms": 2.0, "samples_ms": [1.9, 2.0, 2.2]},
  {"key": "softmax.fwd.L4096", "impl": "torch-sdpa-cudnn", "ms": 1.2},
  {"key": "gla_scalar.bwd.L4096", "impl": "fla-chunk_simple_gla", "error": "triton: out of resources"},
  {"key": "ssd.fwd.L4096", "impl": "mamba_ssm-mamba_chunk_scan_combined", "ms": 1.18}]})";

std::string one_row(const std::string& row) { return std::string(R"({"rows": [)") + row + "]}"; }

}  // namespace

TEST_CASE("an anchor file's rows keep their key, implementation, median and repetitions") {
  const AnchorFile f = parse_anchor_file(kFile);
  CHECK(f.device == "NVIDIA H200");
  CHECK_THAT(f.versions, Contains("2.11"));
  REQUIRE(f.rows.size() == 4);
  CHECK(f.rows[0].key == "softmax.fwd.L4096");
  CHECK(f.rows[0].impl == "torch-sdpa-flash2");
  CHECK(f.rows[0].samples_ms == std::vector<double>{1.9, 2.0, 2.2});
  CHECK(f.rows[1].samples_ms == std::vector<double>{1.2});  // no repetitions listed: the median alone
  CHECK(f.rows[2].error == "triton: out of resources");
  CHECK(f.rows[2].ms == 0);
}

TEST_CASE("the fastest anchor that ran is the one a row is compared with") {
  const AnchorFile f = parse_anchor_file(kFile);
  const AnchorResult* best = fastest_anchor(f, "softmax.fwd.L4096");
  REQUIRE(best);
  CHECK(best->impl == "torch-sdpa-cudnn");
  CHECK(anchors_for(f, "softmax.fwd.L4096").size() == 2);
  // An anchor that failed is listed but never compared with; a key nobody measured has nothing.
  CHECK(anchors_for(f, "gla_scalar.bwd.L4096").size() == 1);
  CHECK(fastest_anchor(f, "gla_scalar.bwd.L4096") == nullptr);
  CHECK(fastest_anchor(f, "softmax.fwd.L1024") == nullptr);
  CHECK(fastest_anchor(f, "") == nullptr);
}

TEST_CASE("a malformed anchor file is refused with the row and field named") {
  CHECK_THAT(error_of([] { parse_anchor_file("not json"); }), Contains("not JSON"));
  CHECK_THAT(error_of([] { parse_anchor_file(R"({"rows": 3})"); }), Contains("\"rows\" array"));
  CHECK_THAT(error_of([] { parse_anchor_file(one_row(R"({"impl": "x", "ms": 1})")); }),
             Contains("anchor row 0: \"key\" must be a non-empty string"));
  CHECK_THAT(error_of([] { parse_anchor_file(one_row(R"({"key": "k", "ms": 1})")); }),
             Contains("anchor row 0 ('k'): \"impl\""));
  CHECK_THAT(error_of([] { parse_anchor_file(one_row(R"({"key": "k", "impl": "x", "ms": -1})")); }),
             Contains("must be a positive number of milliseconds, got -1"));
  CHECK_THAT(error_of([] { parse_anchor_file(one_row(R"({"key": "k", "impl": "x"})")); }),
             Contains("exactly one of \"ms\" and \"error\""));
  CHECK_THAT(error_of([] { parse_anchor_file(one_row(R"({"key": "k", "impl": "x", "ms": 1, "error": "e"})")); }),
             Contains("exactly one of \"ms\" and \"error\""));
  CHECK_THAT(error_of([] { parse_anchor_file(one_row(R"({"key": "k", "impl": "x", "ms": 1, "samples_ms": []})")); }),
             Contains("\"samples_ms\" must be a non-empty array"));
  CHECK_THAT(error_of([] {
               parse_anchor_file(R"({"rows": [{"key": "k", "impl": "x", "ms": 1}, {"key": "k", "impl": "x", "ms": 2}]})");
             }),
             Contains("impl 'x' appears twice"));
}

TEST_CASE("reading an anchor file names the path when it is missing or malformed") {
  CHECK_THAT(error_of([] { read_anchor_file("/nonexistent/anchors.json"); }),
             Contains("cannot read anchor file '/nonexistent/anchors.json'"));
  const std::string path = "/tmp/seqbench-test-anchors-" + std::to_string(::getpid()) + ".json";
  std::ofstream(path) << R"({"rows": [{"key": "k"}]})";
  CHECK_THAT(error_of([&] { read_anchor_file(path); }), Contains(path + ": anchor row 0"));
  std::ofstream(path) << kFile;
  CHECK(read_anchor_file(path).rows.size() == 4);
  std::remove(path.c_str());
}
