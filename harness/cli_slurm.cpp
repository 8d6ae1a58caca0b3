#include <array>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>
#include <stdexcept>

#include "harness/cli.h"
#include "harness/cli_commands.h"
#include "harness/cli_values.h"
#include "harness/output_file.h"
#include "harness/scaleout/slurm_script.h"
#include "harness/suites.h"

namespace seqbench {
namespace {

struct SlurmFlags {
  std::string suite, sweep_file, device, directory, db = "results.db", binary, partition, time;
  std::optional<uint64_t> seed;
  int threads = 0, array = 0, gpus_per_task = 0, cpus_per_task = 0;
  std::vector<std::string> sbatch_options;
  bool submit = false, force = false;
};

std::string absolute(const std::string& path) { return std::filesystem::absolute(path).lexically_normal().string(); }

// The job id sbatch --parsable prints ("1234" or "1234;cluster"); throws with sbatch's own words.
std::string submit(const std::string& sbatch_args) {
  const std::string command = "sbatch --parsable " + sbatch_args + " 2>&1";
  FILE* pipe = popen(command.c_str(), "r");
  if (!pipe) throw std::runtime_error("cannot run sbatch");
  std::string output;
  std::array<char, 512> buffer{};
  while (fgets(buffer.data(), buffer.size(), pipe)) output += buffer.data();
  const int status = pclose(pipe);
  while (!output.empty() && (output.back() == '\n' || output.back() == '\r')) output.pop_back();
  if (status != 0 || output.empty() || output.find_first_not_of("0123456789;") == 0)
    throw std::runtime_error("`" + command.substr(0, command.size() - 5) + "` failed" +
                             (output.empty() ? " (is this a Slurm login node? sbatch must be on PATH)" : ": " + output));
  return output.substr(0, output.find(';'));
}

SlurmJob job_from(const SlurmFlags& f) {
  if (f.suite.empty() == f.sweep_file.empty())
    throw SweepError("give exactly one of --suite NAME or --sweep FILE.json (see `seqbench list suites`)");
  nlohmann::json spec = f.suite.empty() ? read_sweep_file(f.sweep_file) : suite_spec(f.suite);
  SlurmJob job;
  if (!f.suite.empty()) job.sweep_args = {"--suite", f.suite};
  if (!f.sweep_file.empty()) job.sweep_args = {"--sweep", absolute(f.sweep_file)};  // tasks run in --dir
  if (f.seed) {
    job.sweep_args.insert(job.sweep_args.end(), {"--seed", std::to_string(*f.seed)});
    spec.erase("seed");
    spec["seeds"] = {*f.seed};
  }
  const std::string device = !f.device.empty() ? f.device : f.gpus_per_task > 0 ? "cuda" : "";
  if (!device.empty()) job.sweep_args.insert(job.sweep_args.end(), {"--device", device}), spec["device"] = device;
  if (f.threads > 0) job.sweep_args.insert(job.sweep_args.end(), {"--threads", std::to_string(f.threads)});
  const Sweep sweep = expand_sweep(spec);  // bad input stops here, before any file is written
  job.sweep_name = sweep.name;
  job.cells = sweep.cells.size();
  job.array = f.array;
  job.directory = absolute(f.directory.empty() ? "seqbench-" + sweep.name : f.directory);
  if (job.directory.find_first_of(" \t\n'\"") != std::string::npos)
    throw std::invalid_argument("--dir " + job.directory + ": #SBATCH lines cannot hold spaces or quotes; choose a "
                                "directory without them");
  job.merged_db = f.db;
  job.binary = f.binary.empty() ? std::filesystem::read_symlink("/proc/self/exe").string() : absolute(f.binary);
  job.partition = f.partition;
  job.time = f.time;
  job.gpus_per_task = f.gpus_per_task;
  job.cpus_per_task = f.cpus_per_task;
  job.sbatch_options = f.sbatch_options;
  return job;
}

int slurm_command(const SlurmFlags& f) {
  const SlurmJob job = job_from(f);
  if (static_cast<size_t>(job.array) > job.cells)
    std::cerr << "note: " << job.array << " shards for " << job.cells << " cells: some shards will have no cells\n";
  std::filesystem::create_directories(job.directory + "/logs");
  const std::string array_script = job.directory + "/array.sbatch", merge_script = job.directory + "/merge.sbatch";
  write_text_output(slurm_array_script(job), array_script, f.force, "--dir");
  write_text_output(slurm_merge_script(job), merge_script, f.force, "--dir");
  std::cout << "wrote " << array_script << " (" << job.array << " array tasks, " << job.cells << " cells) and "
            << merge_script << "\n";
  if (!f.submit) {
    std::cout << "submit with:\n  jobid=$(sbatch --parsable " << shell_quoted(array_script)
              << ") && sbatch --dependency=afterany:${jobid%%;*} " << shell_quoted(merge_script) << "\n";
    return kExitOk;
  }
  const std::string array_job = submit(shell_quoted(array_script));
  const std::string merge_job = submit("--dependency=afterany:" + array_job + " " + shell_quoted(merge_script));
  std::cout << "submitted job array " << array_job << " and merge job " << merge_job << "; results in "
            << job.directory << "/" << job.merged_db << " once job " << merge_job << " has finished\n";
  return kExitOk;
}

}  // namespace

CommandHandler register_slurm_command(CLI::App& app, CLI::App*& subcommand) {
  auto f = std::make_shared<SlurmFlags>();
  subcommand = add_command(
      app, "slurm",
      "Write (and with --submit submit) a Slurm job array that runs a sweep in N shards, then merges them",
      "Example:\n  seqbench slurm --suite zoology-mqar --array 16 --partition gpu --gpus-per-task 1 --time 02:00:00 "
      "--submit\n\nTask i of the array runs `seqbench run --shard i/N --db shard-i.db` in --dir; a merge job that "
      "depends on the array writes the merged store there.");
  subcommand->add_option("--suite", f->suite, "Built-in suite name (see `seqbench list suites`)");
  subcommand->add_option("--sweep", f->sweep_file, "Sweep spec JSON file (lists are grid axes)");
  subcommand->add_option("--array", f->array, "Number of shards, one array task each (1..10000)")
      ->required()
      ->check(as_validator([](const std::string& s) { parse_integer_in(s, 1, 10000); }, "1..10000"));
  subcommand->add_option("--dir", f->directory,
                         "Directory for the scripts, shard files, logs and merged store (default seqbench-SWEEP)");
  subcommand->add_option("--db", f->db, "Merged results store, relative to --dir")->capture_default_str();
  subcommand->add_option("--seed", f->seed, "Seed (overrides the sweep's)")
      ->check(as_validator([](const std::string& s) { parse_seed(s); }, "0..2^64-1"));
  subcommand->add_option("--device", f->device, "cpu or cuda (default cuda with --gpus-per-task, else the sweep's)");
  subcommand->add_option("--threads", f->threads, "CPU threads per task (0 = all the task's cores)")
      ->check(as_validator([](const std::string& s) { parse_thread_count(s); }, "0.." + std::to_string(kMaxThreads)));
  subcommand->add_option("--partition", f->partition, "Slurm partition (default: the cluster's)");
  subcommand->add_option("--gpus-per-task", f->gpus_per_task, "GPUs per array task")
      ->check(as_validator([](const std::string& s) { parse_integer_in(s, 0, 64); }, "0..64"));
  subcommand->add_option("--cpus-per-task", f->cpus_per_task, "CPUs per array task")
      ->check(as_validator([](const std::string& s) { parse_integer_in(s, 0, 4096); }, "0..4096"));
  subcommand->add_option("--time", f->time, "Time limit per array task, as sbatch takes it (02:00:00)");
  subcommand->add_option("--sbatch-option", f->sbatch_options, "Another #SBATCH line, such as an account or a QOS (repeatable)");
  subcommand->add_option("--binary", f->binary, "seqbench on the compute nodes (default: this binary's path)");
  subcommand->add_flag("--submit", f->submit, "Submit the array and the merge job with sbatch");
  subcommand->add_flag("--force", f->force, "Overwrite scripts already in --dir");
  return [f](const std::string&) { return slurm_command(*f); };
}

}  // namespace seqbench
