// `run --devices 0`: one worker process on the GPU gives the cells a plain `--device cuda` run
// gives, for a sweep whose own device is the CPU (the worker must expand the sweep the parent did);
// so do three workers sharing the GPU (`--workers-per-gpu 3`).
#include <catch2/catch.hpp>

#include <fstream>

#include "harness/scaleout/worker_devices.h"
#include "tests/cli_harness.h"
#include "tests/gpu_kernel_checks.h"
#include "tests/scaleout_fixtures.h"

using namespace seqbench;
using namespace seqbench::testing;

TEST_CASE("a --devices 0 run of a CPU sweep stores the cells a plain --device cuda run stores") {
  SKIP_WITHOUT_GPU();
  TempDir dir;
  const std::string sweep = dir.path + "/eight.json";
  std::ofstream(sweep) << kEightCellSweep;
  const auto plain = run_seqbench("run --sweep " + sweep + " --device cuda --db " + dir.path + "/plain.db");
  INFO(plain.output);
  REQUIRE(plain.exit_code == 0);
  const auto workers = run_seqbench("run --sweep " + sweep + " --devices 0 --db " + dir.path + "/workers.db");
  INFO(workers.output);
  REQUIRE(workers.exit_code == 0);
  check_same_results(cells_by_identity(dir.path + "/plain.db"), cells_by_identity(dir.path + "/workers.db"));
  const auto shared =
      run_seqbench("run --sweep " + sweep + " --devices 0 --workers-per-gpu 3 --db " + dir.path + "/shared.db");
  INFO(shared.output);
  REQUIRE(shared.exit_code == 0);
  CHECK_THAT(shared.output, Catch::Contains("3 workers"));
  if (!mps_daemon_running()) CHECK_THAT(shared.output, Catch::Contains("no MPS daemon is running"));
  check_same_results(cells_by_identity(dir.path + "/plain.db"), cells_by_identity(dir.path + "/shared.db"));
}
