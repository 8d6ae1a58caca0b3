// seqbench_bench: Google Benchmark over the kernels and every mixer backend. Besides Google
// Benchmark's own flags it takes
//   --store FILE.db   also store the results as one run (one cell per benchmark; repetitions
//                     default to 5 so each metric has samples for `seqbench compare` / `gate`)
//   --threads N       CPU threads for the kernels (0 = all cores, at most 1024)
// The store is opened (and refused, exit 3) before any benchmark runs; bad flags exit 2.
#include <benchmark/benchmark.h>

#include <cstring>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "bench/benchmark_catalog.h"
#include "bench/store_reporter.h"
#include "harness/cli_values.h"
#include "ops/parallel.h"

namespace {

bool starts_with(const char* s, const char* prefix) { return std::strncmp(s, prefix, std::strlen(prefix)) == 0; }

const char* kUsage =
    "seqbench_bench: micro-benchmarks of the kernels and every mixer backend (Google Benchmark).\n"
    "\n"
    "seqbench flags:\n"
    "  --store FILE.db   also store the results as one run in a seqbench results store, one cell per\n"
    "                    benchmark (5 repetitions unless --benchmark_repetitions says otherwise), for\n"
    "                    `seqbench compare` and `seqbench gate`; checked before anything runs\n"
    "  --threads N       CPU threads for the kernels: 0 (all cores, the default) to 1024\n"
    "\n"
    "Example:\n"
    "  seqbench_bench --benchmark_filter=softmax --threads 1 --store bench.db\n"
    "\n"
    "Google Benchmark flags:\n";

struct BenchFlags {
  std::string store_path, command_line;
  int threads = 0;
  bool repetitions_given = false, help = false;
  std::vector<char*> passed_on;  // argv[0] and Google Benchmark's flags
};

// Takes --store and --threads (as "--flag value" or "--flag=value") out of argv; throws
// std::invalid_argument naming a bad or missing value.
BenchFlags parse_flags(int argc, char** argv) {
  BenchFlags f;
  f.passed_on.push_back(argv[0]);
  for (int i = 0; i < argc; ++i) f.command_line += (i ? " " : "") + std::string(argv[i]);
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    std::string value;
    const bool store = arg == "--store" || starts_with(argv[i], "--store=");
    const bool threads = arg == "--threads" || starts_with(argv[i], "--threads=");
    if (store || threads) {
      const auto eq = arg.find('=');
      if (eq != std::string::npos) {
        value = arg.substr(eq + 1);
      } else if (i + 1 < argc) {
        value = argv[++i];
      } else {
        throw std::invalid_argument(arg + " needs a value");
      }
      if (store && value.empty()) throw std::invalid_argument("--store needs a file name");
      if (store) f.store_path = value;
      if (threads) {
        try {
          f.threads = seqbench::parse_thread_count(value);
        } catch (const std::invalid_argument& e) {
          throw std::invalid_argument("--threads: " + std::string(e.what()));
        }
      }
      continue;
    }
    f.help |= arg == "--help" || arg == "-h";
    f.repetitions_given |= starts_with(argv[i], "--benchmark_repetitions");
    f.passed_on.push_back(argv[i]);
  }
  return f;
}

}  // namespace

int main(int argc, char** argv) {
  BenchFlags f;
  try {
    f = parse_flags(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "seqbench_bench: error: " << e.what() << " (see --help)\n";
    return 2;
  }
  if (f.help) std::cout << kUsage;  // Google Benchmark then prints its own flags and exits
  std::unique_ptr<seqbench::bench::StoreReporter> reporter;
  try {
    if (!f.store_path.empty() && !f.help) reporter = std::make_unique<seqbench::bench::StoreReporter>(f.store_path, f.command_line);
  } catch (const seqbench::StoreError& e) {
    std::cerr << "seqbench_bench: results store error: " << e.what() << "\n";
    return 3;
  }
  std::string default_repetitions = "--benchmark_repetitions=5";
  if (reporter && !f.repetitions_given) f.passed_on.push_back(default_repetitions.data());
  int count = static_cast<int>(f.passed_on.size());
  benchmark::Initialize(&count, f.passed_on.data());
  if (benchmark::ReportUnrecognizedArguments(count, f.passed_on.data())) return 2;
  seqbench::set_num_threads(f.threads);
  seqbench::bench::register_kernel_benchmarks();
  seqbench::bench::register_mixer_benchmarks();

  if (!reporter) {
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
  }
  try {
    const size_t ran = benchmark::RunSpecifiedBenchmarks(reporter.get());
    benchmark::Shutdown();
    if (ran == 0) {
      std::cerr << "seqbench_bench: no benchmark ran, nothing stored in " << f.store_path << "\n";
      return 2;
    }
    const int64_t run = reporter->finish();
    std::cerr << "seqbench_bench: stored run " << run << " (" << reporter->cells() << " benchmarks) in "
              << f.store_path << "\n";
  } catch (const seqbench::StoreError& e) {
    std::cerr << "seqbench_bench: results store error: " << e.what() << "\n";
    return 3;
  }
  return 0;
}
