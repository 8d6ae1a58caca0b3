// seqbench_bench: Google Benchmark over the kernels and every mixer backend. Besides Google
// Benchmark's own flags it takes
//   --store FILE.db   also store the results as one run (one cell per benchmark; repetitions
//                     default to 5 so each metric has samples for `seqbench compare` / `gate`)
//   --threads N       CPU threads for the kernels (0 = all cores)
#include <benchmark/benchmark.h>

#include <cstring>
#include <iostream>
#include <string>
#include <vector>

#include "bench/benchmark_catalog.h"
#include "bench/store_reporter.h"
#include "ops/parallel.h"

namespace {

bool starts_with(const char* s, const char* prefix) { return std::strncmp(s, prefix, std::strlen(prefix)) == 0; }

}  // namespace

int main(int argc, char** argv) {
  std::string store_path, command_line;
  int threads = 0;
  bool repetitions_given = false;
  std::vector<char*> args{argv[0]};
  for (int i = 0; i < argc; ++i) command_line += (i ? " " : "") + std::string(argv[i]);
  try {
    for (int i = 1; i < argc; ++i) {
      const std::string arg = argv[i];
      if ((arg == "--store" || arg == "--threads") && i + 1 == argc) throw std::invalid_argument(arg + " needs a value");
      if (arg == "--store") {
        store_path = argv[++i];
      } else if (starts_with(argv[i], "--store=")) {
        store_path = arg.substr(8);
      } else if (arg == "--threads") {
        threads = std::stoi(argv[++i]);
      } else if (starts_with(argv[i], "--threads=")) {
        threads = std::stoi(arg.substr(10));
      } else {
        repetitions_given |= starts_with(argv[i], "--benchmark_repetitions");
        args.push_back(argv[i]);
      }
    }
  } catch (const std::exception& e) {
    std::cerr << "seqbench_bench: bad arguments: " << e.what() << "\n";
    return 2;
  }
  std::string default_repetitions = "--benchmark_repetitions=5";
  if (!store_path.empty() && !repetitions_given) args.push_back(default_repetitions.data());
  int count = static_cast<int>(args.size());
  benchmark::Initialize(&count, args.data());
  if (benchmark::ReportUnrecognizedArguments(count, args.data())) return 2;
  seqbench::set_num_threads(threads);
  seqbench::bench::register_kernel_benchmarks();
  seqbench::bench::register_mixer_benchmarks();

  if (store_path.empty()) {
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
  }
  try {
    seqbench::bench::StoreReporter reporter(store_path, command_line);
    benchmark::RunSpecifiedBenchmarks(&reporter);
    const int64_t run = reporter.finish();
    std::cerr << "seqbench_bench: stored run " << run << " (" << reporter.cells() << " benchmarks) in " << store_path
              << "\n";
  } catch (const seqbench::StoreError& e) {
    std::cerr << "seqbench_bench: results store error: " << e.what() << "\n";
    return 3;
  }
  benchmark::Shutdown();
  return 0;
}
