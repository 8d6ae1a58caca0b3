#include "harness/scaleout/slurm_script.h"

#include <cctype>
#include <sstream>

namespace seqbench {
namespace {

std::string quoted_args(const std::vector<std::string>& args) {
  std::string out;
  for (const std::string& a : args) out += " " + shell_quoted(a);
  return out;
}

// The #SBATCH lines both jobs share.
void common_header(std::ostringstream& out, const SlurmJob& job) {
  out << "#SBATCH --chdir=" << job.directory << "\n";
  if (!job.partition.empty()) out << "#SBATCH --partition=" << job.partition << "\n";
  for (const std::string& option : job.sbatch_options) out << "#SBATCH " << option << "\n";
}

// A job name sbatch takes as it is: the sweep's name with anything unusual made a dash.
std::string job_name(const SlurmJob& job) {
  std::string name = "seqbench-" + job.sweep_name;
  for (char& c : name)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.') c = '-';
  return name;
}

}  // namespace

std::string shell_quoted(const std::string& text) {
  const bool plain = !text.empty() && text.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                                             "0123456789_./:=@%+,-") == std::string::npos;
  if (plain) return text;
  std::string out = "'";
  for (char c : text) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

std::string slurm_array_script(const SlurmJob& job) {
  std::ostringstream out;
  out << "#!/bin/bash\n"
      << "# seqbench sweep '" << job.sweep_name << "' (" << job.cells << " cells) as a Slurm job array of " << job.array
      << " shards, written by `seqbench slurm`.\n"
      << "# Task i runs the cells of shard i/" << job.array
      << " into shard-i.db; merge.sbatch combines the shard files once every task has ended.\n"
      << "#SBATCH --job-name=" << job_name(job) << "\n"
      << "#SBATCH --array=0-" << job.array - 1 << "\n"
      << "#SBATCH --ntasks=1\n"
      << "#SBATCH --output=" << job.directory << "/logs/shard-%a.log\n";
  common_header(out, job);
  if (job.gpus_per_task > 0) out << "#SBATCH --gpus-per-task=" << job.gpus_per_task << "\n";
  if (job.cpus_per_task > 0) out << "#SBATCH --cpus-per-task=" << job.cpus_per_task << "\n";
  if (!job.time.empty()) out << "#SBATCH --time=" << job.time << "\n";
  out << "set -euo pipefail\n"
      << "shard=\"$SLURM_ARRAY_TASK_ID\"\n"
      << "# A requeued task starts its shard afresh, so every shard file holds one run of its cells.\n"
      << "rm -f \"shard-$shard.db\" \"shard-$shard.db-wal\" \"shard-$shard.db-shm\"\n"
      << "exec " << shell_quoted(job.binary) << " run" << quoted_args(job.sweep_args) << " --shard \"$shard/"
      << job.array << "\" --db \"shard-$shard.db\"\n";
  return out.str();
}

std::string slurm_merge_script(const SlurmJob& job) {
  std::ostringstream out;
  out << "#!/bin/bash\n"
      << "# Merges the shard files of seqbench sweep '" << job.sweep_name << "' into " << job.merged_db
      << "; submitted by `seqbench slurm --submit` to start after the job array (afterany).\n"
      << "#SBATCH --job-name=" << job_name(job) << "-merge\n"
      << "#SBATCH --ntasks=1\n"
      << "#SBATCH --output=" << job.directory << "/logs/merge.log\n";
  common_header(out, job);
  out << "set -euo pipefail\n"
      << "shards=()\n"
      << "for shard in $(seq 0 " << job.array - 1 << "); do\n"
      << "  if [ -f \"shard-$shard.db\" ]; then shards+=(\"shard-$shard.db\"); else echo \"shard $shard left no file "
         "(see logs/shard-$shard.log)\" >&2; fi\n"
      << "done\n"
      << "# Cells a shard did not store show in the report as missing from the planned cells.\n"
      << shell_quoted(job.binary) << " merge " << shell_quoted(job.merged_db) << " \"${shards[@]}\"\n"
      << shell_quoted(job.binary) << " report --db " << shell_quoted(job.merged_db) << "\n";
  return out.str();
}

}  // namespace seqbench
