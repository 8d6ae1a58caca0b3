#!/usr/bin/env bash
# A sweep on a real Slurm cluster of one node: starts munged, slurmctld and slurmd on localhost
# (installing Debian's slurm-wlm and munge when missing), submits a small CPU sweep with
# `seqbench slurm --submit` as a job array plus a dependent merge job, and checks that the merged
# store holds exactly what the same sweep stores when run in one process. Everything it starts
# lives in a temporary directory and is stopped on exit.
#
#   bash ci/test-slurm.sh [path/to/seqbench]
#
# Exit 0: passed; 1: failed; 77: skipped (not root, or Slurm could not be installed or started),
# with the reason on stderr. ctest runs it as `slurm_job_array` and reports 77 as skipped.
set -euo pipefail
export PATH="$PATH:/usr/sbin:/sbin"  # the daemons live there
seqbench="$(realpath "${1:-build/seqbench}")"
skip() { echo "SKIPPED: $*" >&2; exit 77; }
fail() { echo "FAILED: $*" >&2; exit 1; }

[ -x "$seqbench" ] || fail "no seqbench binary at $seqbench"
[ "$(id -u)" = 0 ] || skip "the Slurm test starts slurmctld, slurmd and munged and needs root"

if ! command -v slurmctld >/dev/null || ! command -v slurmd >/dev/null || ! command -v sbatch >/dev/null ||
   ! command -v munged >/dev/null || ! command -v mungekey >/dev/null; then
  echo "installing slurm-wlm and munge ..." >&2
  export DEBIAN_FRONTEND=noninteractive
  # Bounded so that a machine without a network skips well inside ctest's 900 s limit.
  apt_options=(-y -qq -o DPkg::Lock::Timeout=60 -o Acquire::Retries=0 -o Acquire::http::Timeout=20)
  packages=(slurmctld slurmd slurm-client munge)
  timeout 240 apt-get install "${apt_options[@]}" --no-install-recommends "${packages[@]}" >/dev/null 2>&1 ||
    { timeout 120 apt-get update "${apt_options[@]}" >/dev/null 2>&1 &&
      timeout 240 apt-get install "${apt_options[@]}" --no-install-recommends "${packages[@]}" >/dev/null 2>&1; } ||
    skip "could not install slurmctld, slurmd, slurm-client and munge with apt-get"
fi

work="$(mktemp -d /tmp/seqbench-slurm-XXXXXX)"
chmod 755 "$work"
mkdir -p "$work/state" "$work/spool" "$work/job"
teardown() {
  local jobs
  jobs="$(squeue -h -o %A 2>/dev/null | tr '\n' ' ')" || true
  [ -n "${SLURM_CONF:-}" ] && [ -n "$jobs" ] && scancel $jobs 2>/dev/null || true
  for pidfile in "$work/slurmd.pid" "$work/slurmctld.pid" "$work/munged.pid"; do
    [ -f "$pidfile" ] && kill "$(cat "$pidfile")" 2>/dev/null || true
  done
  sleep 1
  rm -rf "$work"
}
trap teardown EXIT

# Two free TCP ports for slurmctld and slurmd (a port something answers on is taken).
port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
pick_port() {
  local port
  for _ in $(seq 50); do
    port=$((20000 + RANDOM % 20000))
    port_free "$port" && port_free "$((port + 1))" && { echo "$port"; return; }
  done
  skip "found no free TCP port pair for slurmctld and slurmd"
}
port="$(pick_port)"
node="$(hostname -s)"

# munge with its own key and socket, so a munged already on the machine is left alone.
mungekey --create --keyfile="$work/munge.key" 2>/dev/null || skip "mungekey could not create a key"
chmod 600 "$work/munge.key"
munged --force --socket="$work/munge.sock" --key-file="$work/munge.key" --pid-file="$work/munged.pid" \
  --log-file="$work/munged.log" --seed-file="$work/munged.seed" 2>"$work/munged.err" ||
  skip "munged did not start: $(cat "$work/munged.err")"

cat >"$work/slurm.conf" <<CONF
ClusterName=seqbench-test
SlurmctldHost=$node(127.0.0.1)
SlurmctldPort=$port
SlurmdPort=$((port + 1))
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$work/munge.sock
StateSaveLocation=$work/state
SlurmdSpoolDir=$work/spool
SlurmctldPidFile=$work/slurmctld.pid
SlurmdPidFile=$work/slurmd.pid
SlurmctldLogFile=$work/slurmctld.log
SlurmdLogFile=$work/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
ReturnToService=2
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
NodeName=$node NodeAddr=127.0.0.1 CPUs=$(nproc) State=UNKNOWN
PartitionName=test Nodes=$node Default=YES MaxTime=INFINITE State=UP
CONF
export SLURM_CONF="$work/slurm.conf"
slurmctld -f "$SLURM_CONF" 2>"$work/slurmctld.err" || skip "slurmctld did not start: $(cat "$work/slurmctld.err")"
slurmd -f "$SLURM_CONF" 2>"$work/slurmd.err" || skip "slurmd did not start: $(cat "$work/slurmd.err")"
for _ in $(seq 60); do
  state="$(sinfo -h -o %t 2>/dev/null || true)"
  [ "$state" = idle ] && break
  sleep 0.5
done
[ "$state" = idle ] || skip "the Slurm node did not become idle (state '$state'): $(tail -n 5 "$work/slurmd.log" 2>/dev/null)"

cat >"$work/sweep.json" <<'JSON'
{"name": "slurm-test", "seeds": [0, 1],
 "backends": ["softmax", "linear"],
 "tasks": [{"name": "mqar", "vocab_size": 64, "seq_len": [16, 24], "num_kv_pairs": 2, "num_train": 16, "num_test": 8}],
 "model": {"d_model": 16, "n_layers": 1, "mlp_expand": 0},
 "train": {"epochs": 1, "batch_size": 8}}
JSON
"$seqbench" run --sweep "$work/sweep.json" --threads 1 --db "$work/single.db" >/dev/null 2>"$work/single.log" ||
  fail "the single-process run failed: $(tail -n 5 "$work/single.log")"

start=$(date +%s)
submitted="$("$seqbench" slurm --sweep "$work/sweep.json" --array 3 --threads 1 --dir "$work/job" --submit)" ||
  fail "seqbench slurm --submit failed: $submitted"
echo "$submitted" >&2
merge_job="$(sed -n 's/.* merge job \([0-9]*\);.*/\1/p' <<<"$submitted")"
[ -n "$merge_job" ] || fail "no merge job id in: $submitted"
for _ in $(seq 240); do
  [ -z "$(squeue -h 2>/dev/null)" ] && break
  sleep 0.5
done
[ -z "$(squeue -h)" ] || fail "jobs still queued after 2 minutes: $(squeue)"
[ -f "$work/job/results.db" ] || fail "the merge job wrote no results.db: $(cat "$work/job/logs/"*.log 2>/dev/null)"
for i in 0 1 2; do [ -f "$work/job/shard-$i.db" ] || fail "array task $i wrote no shard file"; done
grep -q "status ok" "$work/job/logs/merge.log" || fail "merge did not end ok: $(cat "$work/job/logs/merge.log")"

# Every stored value but the timings, one line per cell and metric, in any order: the same on both sides.
scores() {
  "$seqbench" report --db "$1" --format csv | tail -n +2 | cut -d, -f3- |
    grep -v -E ',(train_seconds|train_tokens_per_s),' | sort
}
diff <(scores "$work/single.db") <(scores "$work/job/results.db") >"$work/diff.txt" ||
  fail "the merged store differs from the single-process run: $(head -n 20 "$work/diff.txt")"
cells="$(scores "$work/job/results.db" | grep -c ',accuracy,')"
[ "$cells" = 8 ] || fail "expected 8 scored cells in the merged store, found $cells"
echo "slurm test passed: 3 array tasks + merge job, 8 cells equal to one process, $(($(date +%s) - start)) s" >&2
