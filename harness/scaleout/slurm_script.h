// The two sbatch scripts of a sweep on a Slurm cluster: a job array whose task i runs shard i of N
// into its own file (`seqbench run --shard i/N --db shard-i.db`), and a merge job, submitted to
// start after the whole array (afterany: shards that failed a cell still count), that combines the
// shard files into one results store. Slurm does the scheduling; seqbench only writes the scripts.
#pragma once
#include <string>
#include <vector>

namespace seqbench {

struct SlurmJob {
  std::string binary;                 // absolute path of seqbench on the compute nodes
  std::vector<std::string> sweep_args;  // --suite NAME or --sweep /abs/file.json, --seed, --device, --threads
  std::string sweep_name;
  size_t cells = 0;
  int array = 1;                      // N shards, array tasks 0..N-1
  std::string directory;              // absolute: shard files, logs and the merged store live here
  std::string merged_db = "results.db";  // relative to directory, or absolute
  std::string partition, time;        // empty: the cluster's defaults
  int gpus_per_task = 0;
  int cpus_per_task = 0;
  std::vector<std::string> sbatch_options;  // extra "#SBATCH" lines, e.g. "--account=abc"
};

std::string slurm_array_script(const SlurmJob& job);
std::string slurm_merge_script(const SlurmJob& job);

// Quoted for a POSIX shell when it needs to be: 'text', with embedded single quotes escaped.
std::string shell_quoted(const std::string& text);

}  // namespace seqbench
