// `seqbench slurm`: the job-array and merge scripts it writes, checked line by line and then run
// by bash the way Slurm runs them (each array task with its SLURM_ARRAY_TASK_ID, then the merge),
// which must store what one process stores. ci/test-slurm.sh submits them to a real Slurm.
#include <catch2/catch.hpp>

#include <filesystem>
#include <string>

#include "tests/cli_harness.h"
#include "tests/scaleout_fixtures.h"
#include "tests/seqbench_process.h"

using namespace seqbench;
using namespace seqbench::testing;
using Catch::Matchers::Contains;

TEST_CASE("seqbench slurm writes a job array of N shard runs and a merge job") {
  TempDir dir;
  const std::string sweep = dir.write("s.json", kEightCellSweep), job = dir.file("job");
  const auto r = run_seqbench("slurm --sweep " + sweep + " --array 3 --dir " + job +
                              " --partition gpu --gpus-per-task 1 --time 01:30:00 --sbatch-option=--account=lab");
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.output, Contains("3 array tasks, 8 cells") && Contains("--dependency=afterany:"));
  const std::string array = read_file(job + "/array.sbatch"), merge = read_file(job + "/merge.sbatch");
  CHECK_THAT(array, Contains("#SBATCH --array=0-2\n") && Contains("#SBATCH --partition=gpu\n") &&
                        Contains("#SBATCH --gpus-per-task=1\n") && Contains("#SBATCH --time=01:30:00\n") &&
                        Contains("#SBATCH --account=lab\n") && Contains("#SBATCH --chdir=" + job + "\n") &&
                        Contains("#SBATCH --job-name=seqbench-eight\n"));
  CHECK_THAT(array, Contains(" run --sweep " + sweep + " --device cuda --shard \"$shard/3\" --db \"shard-$shard.db\""));
  CHECK_THAT(array, Contains("shard=\"$SLURM_ARRAY_TASK_ID\""));
  CHECK_THAT(merge, Contains(" merge results.db \"${shards[@]}\"") && Contains("for shard in $(seq 0 2)") &&
                        Contains("#SBATCH --partition=gpu\n") && !Contains("--gpus-per-task"));
  CHECK(std::filesystem::is_directory(job + "/logs"));

  const auto again = run_seqbench("slurm --sweep " + sweep + " --array 3 --dir " + job);
  CHECK(again.exit_code == 2);  // scripts already there: --force to overwrite
  CHECK_THAT(again.output, Contains("--force"));
}

TEST_CASE("the job array's tasks and the merge job, run as Slurm runs them, store what one process stores") {
  TempDir dir;
  const std::string sweep = dir.write("s.json", kEightCellSweep), job = dir.file("job");
  REQUIRE(run_seqbench("run --sweep " + sweep + " --threads 1 --db " + dir.file("single.db")).exit_code == 0);
  REQUIRE(run_seqbench("slurm --sweep " + sweep + " --array 3 --threads 1 --dir " + job).exit_code == 0);
  for (int task = 0; task < 3; ++task) {
    const std::string log = "logs/shard-" + std::to_string(task) + ".log";
    const int status = std::system(
        ("cd '" + job + "' && SLURM_ARRAY_TASK_ID=" + std::to_string(task) + " bash array.sbatch > " + log + " 2>&1")
            .c_str());
    INFO(read_file(job + "/" + log));
    REQUIRE(status == 0);
  }
  const int status = std::system(("cd '" + job + "' && bash merge.sbatch > logs/merge.log 2>&1").c_str());
  INFO(read_file(job + "/logs/merge.log"));
  REQUIRE(status == 0);
  CHECK_THAT(read_file(job + "/logs/merge.log"), Contains("8 of 8 planned cells stored, status ok"));
  check_same_results(cells_by_identity(dir.file("single.db")), cells_by_identity(job + "/results.db"));
}

TEST_CASE("seqbench slurm refuses a bad sweep or array size before writing anything") {
  TempDir dir;
  const std::string job = dir.file("job");
  const std::string bad = dir.write("bad.json", R"({"name": "x", "backends": ["nope"], "tasks": [{"name": "mqar"}]})");
  auto r = run_seqbench("slurm --sweep " + bad + " --array 2 --dir " + job);
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.output, Contains("nope"));
  CHECK_FALSE(std::filesystem::exists(job));
  for (const char* array : {"0", "10001", "x"}) {
    r = run_seqbench("slurm --suite smoke --array " + std::string(array) + " --dir " + job);
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.output, Contains("--array"));
  }
  CHECK_FALSE(std::filesystem::exists(job));
}
