// seqbench_gpu_bench: the ANCHORS.md shapes on this project's CUDA kernels. The two ceilings (device
// copy, cuBLAS bf16 GEMM) here, then every row group the mixer folders register
// (<name>_gpu_bench.cpp). Prints a Markdown table with FLOP/s, GB/s and the fraction of the
// ceilings beside every time; with --anchors, the anchors measured just before on the same machine
// (bench_gpu/anchor_kernels.py) and ours / anchor; with --db, stores everything as one run.
#include <cuda_bf16.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "bench_gpu/gpu_bench_group.h"
#include "bench_gpu/kernel_store.h"
#include "harness/environment.h"
#include "ops/cuda/cuda_device.h"
#include "ops/cuda/matmul_bf16.cuh"

using namespace seqbench;
using bf16 = __nv_bfloat16;

namespace {

struct BenchOptions {
  std::string anchors_path, db_path, json_path, csv_path;
  std::vector<std::string> groups;  // empty: every group
  std::vector<int64_t> lengths;     // empty: bench_lengths()'s default
};

// The measured limits every other row is read against: bytes copied (read + write) and a bf16 GEMM.
void ceilings(GpuBenchTimer& timer, std::vector<AnchorRow>& rows) {
  const int64_t bytes = int64_t{2} << 30;
  DeviceArray<char> src(bytes), dst(bytes);
  cudaCheck(cudaMemset(src.data(), 1, bytes));
  const GpuTiming copy =
      timer.time([&] { cudaCheck(cudaMemcpyAsync(dst.data(), src.data(), bytes, cudaMemcpyDeviceToDevice)); });
  const WorkCount copied{0, 2.0 * bytes};
  rows.push_back(timed_row("ceiling.copy", "ceiling.copy", "ceiling", "device-to-device copy (read + write)", "2 GiB",
                           "-", 0, copy, copied, copied));
  const int64_t n = 8192;
  auto a = random_array<bf16>(n * n, 1), b = random_array<bf16>(n * n, 2);
  DeviceArray<bf16> c(n * n);
  const GpuTiming gemm = timer.time([&] { matmul_cuda(a.data(), b.data(), c.data(), MatmulShape{n, n, n}); });
  const WorkCount product = matmul_work(n, n, n, 2, WorkPass::forward);
  rows.push_back(timed_row("ceiling.gemm", "ceiling.gemm", "ceiling", "bf16 GEMM (cuBLAS via matmul_cuda)", "8192^3",
                           "bf16", 0, gemm, product, product));
}

void write_text(const std::string& path, const std::string& text) {
  std::ofstream out(path);
  if (!out) throw std::invalid_argument("cannot write '" + path + "'");
  out << text;
}

std::string device_line(const CudaDeviceInfo& info) {
  char line[512];
  std::snprintf(line, sizeof line,
                "device: %s (sm_%d%d, %d SMs, %.1f GiB, L2 %.0f MiB), peak clocks SM %d MHz / memory %d MHz, bus %d "
                "bits; driver CUDA %d.%d, runtime %d.%d\n",
                info.name.c_str(), info.compute_major, info.compute_minor, info.multiprocessors,
                info.total_memory_bytes / double(1 << 30), info.l2_bytes / double(1 << 20), info.sm_clock_khz / 1000,
                info.memory_clock_khz / 1000, info.memory_bus_bits, info.driver_version / 1000,
                info.driver_version % 1000 / 10, info.runtime_version / 1000, info.runtime_version % 1000 / 10);
  return line;
}

int run_bench(const BenchOptions& options, const std::string& command_line) {
  // Inputs and outputs are checked before minutes of measuring: a bad anchor file or an unwritable
  // store fails now.
  const AnchorFile anchors = options.anchors_path.empty() ? AnchorFile{} : read_anchor_file(options.anchors_path);
  std::unique_ptr<ResultsStore> store;
  if (!options.db_path.empty()) store = std::make_unique<ResultsStore>(options.db_path);
  std::string known;
  for (const auto& group : gpu_bench_groups()) known += (known.empty() ? "" : ", ") + group.first;
  for (const std::string& g : options.groups)
    if (std::none_of(gpu_bench_groups().begin(), gpu_bench_groups().end(), [&](const auto& e) { return e.first == g; }))
      throw std::invalid_argument("--groups: no row group '" + g + "' (groups: " + known + "; ceilings always run)");
  if (!cuda_device_present()) {
    std::printf("no CUDA device: nothing to measure\n");
    return 0;
  }
  init_cuda_device(0);
  const CudaDeviceInfo info = cuda_device_info();
  GpuBenchTimer timer(static_cast<size_t>(std::max<int64_t>(4 * info.l2_bytes, 256 << 20)));
  std::vector<AnchorRow> rows;
  ceilings(timer, rows);
  for (const auto& [name, group] : gpu_bench_groups())
    if (options.groups.empty() || std::count(options.groups.begin(), options.groups.end(), name)) group(timer, rows);
  cudaCheck(cudaDeviceSynchronize());

  const DeviceLimits limits = measured_limits(rows, anchors);
  const std::vector<ReportLine> lines = report_lines(rows, anchors, limits);
  std::printf("\n%s\n%s", markdown_report(lines, limits).c_str(), device_line(info).c_str());
  std::printf("timing: CUDA events, 2 warm-up calls, median of 3-30 repetitions, L2 overwritten before each\n");
  if (!anchors.rows.empty())
    std::printf("anchors: %s, measured on %s, versions %s\n", options.anchors_path.c_str(), anchors.device.c_str(),
                anchors.versions.c_str());
  if (!options.json_path.empty()) write_text(options.json_path, json_report(lines, limits));
  if (!options.csv_path.empty()) write_text(options.csv_path, csv_report(lines));
  if (store) {
    RunInfo run = capture_run_info(command_line, "cuda", 0, "gpu_bench");
    nlohmann::json environment = nlohmann::json::parse(run.environment_json);
    environment["anchor_device"] = anchors.device;
    if (!anchors.versions.empty()) environment["anchor_versions"] = nlohmann::json::parse(anchors.versions);
    run.environment_json = environment.dump();
    run.cells_planned = 0;
    const int64_t id = store_kernel_run(*store, run, lines, anchors, limits);
    std::printf("stored as run %lld in %s\n", static_cast<long long>(id), options.db_path.c_str());
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"seqbench_gpu_bench: the ANCHORS.md shapes on seqbench's CUDA kernels, with FLOP/s, GB/s and the\n"
               "fraction of this run's measured ceilings beside every time, and the anchors timed just before on\n"
               "the same machine (bench_gpu/anchor_kernels.py) side by side.\n\n"
               "Example:\n"
               "  PYTHONPATH=.anchors python3 bench_gpu/anchor_kernels.py --out anchors.json\n"
               "  seqbench_gpu_bench --anchors anchors.json --db gpu_bench.db --json bench.json\n"};
  BenchOptions options;
  app.add_option("--anchors", options.anchors_path,
                 "the anchor file anchor_kernels.py wrote in this session; without it the anchor columns show '-'")
      ->check(CLI::ExistingFile);
  app.add_option("--db", options.db_path,
                 "also store the run in this results store (one cell per row and per anchor) for `seqbench compare` "
                 "and `seqbench gate`");
  app.add_option("--json", options.json_path, "also write every row, its figures and its anchor as JSON");
  app.add_option("--csv", options.csv_path, "also write every row as CSV");
  app.add_option("--groups", options.groups, "only these row groups (softmax, linear, gla, delta, ssm); ceilings always")
      ->delimiter(',');
  app.add_option("--lengths", options.lengths,
                 "only these training lengths (default 1024,4096,16384; each must divide the 65536 tokens of a row)")
      ->delimiter(',');
  CLI11_PARSE(app, argc, argv);
  std::string command_line;
  for (int i = 0; i < argc; ++i) command_line += (i ? " " : "") + std::string(argv[i]);
  try {
    if (!options.lengths.empty()) set_bench_lengths(options.lengths);
    return run_bench(options, command_line);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "seqbench_gpu_bench: %s\n", e.what());
    return 1;
  }
}
