// seqbench_gpu_bench's CPU side (bench_gpu/kernel_report.h, kernel_store.h): figures derived from
// rows and the same run's ceilings, ours / anchor, the printers, and the run it stores, which
// `seqbench compare` and `gate` read like any other.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "bench_gpu/kernel_store.h"
#include "reports/gate.h"
#include "reports/run_matching.h"
#include "tests/cli_harness.h"

using namespace seqbench;
using Catch::Matchers::Contains;

namespace {

AnchorRow row(const std::string& key, const std::string& anchor_key, std::vector<double> samples, WorkCount work) {
  AnchorRow r;
  r.key = key;
  r.anchor_key = anchor_key;
  r.family = key.substr(0, key.find('.'));
  r.what = key;
  r.shape = "B=1 L=4096";
  r.dtype = "bf16";
  r.seq_len = 4096;
  r.samples_ms = std::move(samples);
  r.work = work;
  r.anchor_work = work;
  return r;
}

// Ceilings of 100 TFLOP/s and 1000 GB/s at 1 ms, and a kernel at 2 ms doing 50 GFLOP and 0.5 GB.
std::vector<AnchorRow> sample_rows(double kernel_ms) {
  return {row("ceiling.gemm", "ceiling.gemm", {1.0, 1.0, 1.0}, {1e11, 0}),
          row("ceiling.copy", "ceiling.copy", {1.0, 1.1, 0.9}, {0, 1e9}),
          row("softmax.fwd.L4096", "softmax.fwd.L4096", {kernel_ms, kernel_ms * 1.01, kernel_ms * 0.99, kernel_ms},
              {5e10, 5e8}),
          row("linear.fwd.L4096", "linear.fwd.L4096", {1.0, 1.0, 1.0}, {1e9, 1e6})};
}

AnchorFile sample_anchors() {
  return parse_anchor_file(R"({"rows": [
    {"key": "ceiling.gemm", "impl": "torch-matmul", "ms": 0.8},
    {"key": "softmax.fwd.L4096", "impl": "torch-sdpa-flash2", "ms": 1.5},
    {"key": "softmax.fwd.L4096", "impl": "torch-sdpa-cudnn", "ms": 1.0, "samples_ms": [0.9, 1.0, 1.1]},
    {"key": "linear.fwd.L4096", "impl": "fla-chunk_linear_attn", "error": "No module named 'fla'"}]})");
}

}  // namespace

TEST_CASE("the limits are the best ceiling figures of the run, ours or the anchor's") {
  const DeviceLimits limits = measured_limits(sample_rows(2.0), sample_anchors());
  CHECK(limits.tflops == Approx(125));  // torch's 0.8 ms beats our 1 ms GEMM
  CHECK(limits.gb_per_s == Approx(1000));
  CHECK(measured_limits({}, {}).tflops == 0);
}

TEST_CASE("every row gets FLOP/s, GB/s, its fraction of the limits and ours / fastest anchor") {
  const auto rows = sample_rows(2.0);
  const AnchorFile anchors = sample_anchors();
  const DeviceLimits limits{100, 1000};
  const auto lines = report_lines(rows, anchors, limits);
  REQUIRE(lines.size() == 4);
  const ReportLine& softmax = lines[2];
  CHECK(softmax.ours.ms == Approx(2.0));
  CHECK(softmax.ours.tflops == Approx(25));
  CHECK(softmax.ours.gb_per_s == Approx(250));
  CHECK(softmax.ours.compute_fraction == Approx(0.25));
  CHECK(softmax.ours.bandwidth_fraction == Approx(0.25));
  REQUIRE(softmax.anchor);
  CHECK(softmax.anchor->impl == "torch-sdpa-cudnn");
  CHECK(softmax.theirs.tflops == Approx(50));
  CHECK(softmax.speed == Approx(0.5));
  CHECK(lines[3].anchor == nullptr);
  CHECK_THAT(lines[3].anchor_note, Contains("fla-chunk_linear_attn failed: No module named 'fla'"));
  // Without an anchor file no row has an anchor figure, and the table shows "-".
  const auto alone = report_lines(rows, {}, limits);
  CHECK(alone[2].anchor == nullptr);
  CHECK(alone[2].anchor_note == "no anchor file");
  CHECK_THAT(markdown_report(alone, limits), Contains("| - | - | - | - |"));
}

TEST_CASE("the printers show every row with its anchor and ratio") {
  const auto rows = sample_rows(2.0);
  const AnchorFile anchors = sample_anchors();
  const DeviceLimits limits{100, 1000};
  const auto lines = report_lines(rows, anchors, limits);
  const std::string md = markdown_report(lines, limits);
  CHECK_THAT(md, Contains("| softmax.fwd.L4096 | B=1 L=4096 | bf16 | 2.000 | 25.0 | 250 | 25% / 25% | "
                          "torch-sdpa-cudnn | 1.000 | 50.0 | 0.50x |"));
  CHECK_THAT(md, Contains("linear.fwd.L4096: fla-chunk_linear_attn failed"));
  const std::string csv = csv_report(lines);
  CHECK_THAT(csv, Contains("softmax.fwd.L4096,softmax.fwd.L4096,softmax,softmax.fwd.L4096,B=1 L=4096,bf16,2,25,250,"
                           "0.25,0.25,torch-sdpa-cudnn,1,50,500,0.5,"));
  const auto json = nlohmann::json::parse(json_report(lines, limits));
  CHECK(json["limits"]["tflops"] == 100);
  CHECK(json["rows"][2]["anchor"]["impl"] == "torch-sdpa-cudnn");
  CHECK(json["rows"][2]["speed_vs_anchor"].get<double>() == Approx(0.5));
  CHECK(json["rows"][3]["anchor_note"].get<std::string>().find("failed") != std::string::npos);
}

TEST_CASE("a bench run is stored as one run: our cells with rates and ratio, anchor cells beside them") {
  seqbench::testing::TempDir dir;
  const std::string db = dir.file("bench.db");
  const auto rows = sample_rows(2.0);
  const AnchorFile anchors = sample_anchors();
  const DeviceLimits limits = measured_limits(rows, anchors);
  int64_t run = 0;
  {
    ResultsStore store(db);
    run = store_kernel_run(store, RunInfo{}, report_lines(rows, anchors, limits), anchors, limits);
  }
  const LoadedRun loaded = load_run({db, run});
  CHECK(loaded.run.status == RunStatus::ok);
  // 4 of ours, 1 GEMM anchor, 2 softmax anchors and the failed linear one; no copy anchor.
  REQUIRE(loaded.cells.size() == 8);
  const LoadedCell& softmax = loaded.cells[3];
  CHECK(softmax.row.cell.backend == "softmax");
  CHECK(softmax.row.cell.task == "gpu_kernel");
  CHECK(softmax.row.cell.seq_len == 4096);
  CHECK(nlohmann::json::parse(softmax.row.cell.params_json)["key"] == "softmax.fwd.L4096");
  CHECK(softmax.label == "softmax.fwd.L4096");
  const Metric* ms = find_metric(softmax, "kernel_ms");
  REQUIRE(ms);
  CHECK(ms->samples.size() == 4);
  CHECK(ms->value == Approx(2.0));
  CHECK(find_metric(softmax, "kernel_tflops")->value == Approx(25));
  CHECK(find_metric(softmax, "kernel_compute_fraction")->value == Approx(0.2));  // of torch's 125 TFLOP/s
  CHECK(find_metric(softmax, "kernel_bandwidth_fraction")->value == Approx(0.25));
  CHECK(find_metric(softmax, "speed_vs_anchor")->value == Approx(0.5));
  const LoadedCell& cudnn = loaded.cells[5];
  CHECK(cudnn.row.cell.backend == "torch-sdpa-cudnn");
  CHECK(cudnn.row.cell.task == "gpu_anchor");
  CHECK(cudnn.label == "torch-sdpa-cudnn softmax.fwd.L4096");
  CHECK(find_metric(cudnn, "anchor_ms")->samples.size() == 3);
  CHECK(find_metric(cudnn, "anchor_tflops")->value == Approx(50));
  const LoadedCell& failed = loaded.cells[7];
  CHECK(failed.row.cell.status == "failed");
  CHECK_THAT(failed.row.cell.error, Contains("No module named 'fla'"));
}

TEST_CASE("gate fails a stored bench run whose kernel got slower, and ignores the anchors' changes") {
  seqbench::testing::TempDir dir;
  const std::string db = dir.file("bench.db");
  const AnchorFile anchors = sample_anchors();
  auto store_run = [&](double kernel_ms) {
    const auto rows = sample_rows(kernel_ms);
    const DeviceLimits limits = measured_limits(rows, anchors);
    ResultsStore store(db);
    return store_kernel_run(store, RunInfo{}, report_lines(rows, anchors, limits), anchors, limits);
  };
  const int64_t before = store_run(2.0), same = store_run(2.0), slower = store_run(3.0);
  GateOptions options;
  CHECK(gate_runs(load_run({db, before}), load_run({db, same}), options).passed());
  const GateResult result = gate_runs(load_run({db, before}), load_run({db, slower}), options);
  CHECK_FALSE(result.passed());
  for (const GateRow& r : result.rows) {
    INFO(r.cell << " " << r.metric);
    if (r.verdict == GateVerdict::regressed) CHECK(r.metric == "kernel_ms");
    if (r.metric.rfind("anchor_", 0) == 0) CHECK(r.verdict == GateVerdict::informational);
  }
}
