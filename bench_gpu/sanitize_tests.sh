#!/usr/bin/env bash
# Runs the GPU test programs under compute-sanitizer, one process per test case, JOBS side by side:
#   bench_gpu/sanitize_tests.sh TOOL JOBS BIN_DIR OUT_DIR [SECONDS] [PROGRAM...]
# TOOL is memcheck, racecheck, synccheck or initcheck; PROGRAM defaults to every test_gpu_* in BIN_DIR.
# The instrumentation slows kernels by orders of magnitude, so one process per program leaves the long
# cases unfinished for many minutes; the cases named in bench_gpu/sanitizer_shards.txt ("program<TAB>case
# <TAB>n", SHARDS overrides) run as n processes, each a SEQBENCH_TEST_SHARD slice of the case's grid
# (tests/case_shard.h). CASES names a file of "program<TAB>case" lines: only those run. Every
# process stops SECONDS (default 3000) after the start. Writes OUT_DIR/TOOL.summary, one line a process:
# program, case, slice, rc, seconds, the assertions Catch2 counted, the sanitizer's last line; logs in
# OUT_DIR/TOOL/. Prints the lines of processes that did not finish clean, and exits 1 if there are any.
# Cases that make no CUDA call (shape checks before the GPU) count as clean: the sanitizer says
# "Target application terminated before first instrumented API call".
set -u
tool=${1:?memcheck|racecheck|synccheck|initcheck}; jobs=${2:?jobs}; bin=$(realpath "${3:?binary folder}")
out=${4:?output folder}; seconds=${5:-3000}; shift $(( $# < 5 ? $# : 5 ))
programs=("$@")
[ ${#programs[@]} -eq 0 ] && programs=($(cd "$bin" && ls test_gpu_*))
shards=${SHARDS:-$(dirname "$0")/sanitizer_shards.txt}
sanitizer=$(command -v compute-sanitizer || echo /usr/local/cuda/bin/compute-sanitizer)
mkdir -p "$out/$tool"
cases="$out/$tool.cases"; summary="$out/$tool.summary"
: >"$cases"; : >"$summary"
for p in "${programs[@]}"; do
  "$bin/$p" --list-test-names-only | sed '/^$/d' | while IFS= read -r name; do
    line=$(printf '%s\t%s' "$p" "$name")
    if [ -n "${CASES:-}" ] && ! grep -qxF "$line" "$CASES"; then continue; fi
    n=$(awk -F'\t' -v p="$p" -v c="$name" '$1 == p && $2 == c {print $3}' "$shards" 2>/dev/null)
    if [ -n "$n" ]; then
      for ((i = 0; i < n; i++)); do printf '%s\t%s/%s\n' "$line" $i "$n"; done
    else
      printf '%s\t\n' "$line"
    fi
  done >>"$cases"
done

end=$(( $(date +%s) + seconds ))
run_case() {  # number program case slice
  local n=$1 p=$2 name=$3 slice=$4 left log start rc
  left=$(( end - $(date +%s) ))
  if [ "$left" -lt 5 ]; then printf '%s\t%s\t%s\tnot started\n' "$p" "$name" "$slice" >>"$summary"; return; fi
  # Catch2 reads commas, brackets and stars in a test spec as syntax: escape them.
  local spec
  spec=$(printf '%s' "$name" | sed 's/\\/\\\\/g; s/,/\\,/g; s/\[/\\[/g; s/\]/\\]/g; s/\*/\\*/g')
  log="$out/$tool/$p.$n.log"; start=$(date +%s)
  # ~[memory]: the allocator test provokes an out-of-memory error on purpose.
  SEQBENCH_TEST_SHARD=$slice timeout "$left" "$sanitizer" --tool "$tool" --print-limit 30 "$bin/$p" "$spec" "~[memory]" \
    >"$log" 2>&1
  rc=$?
  printf '%s\t%s\t%s\trc=%s\t%ss\t%s\t%s\n' "$p" "$name" "$slice" $rc $(( $(date +%s) - start )) \
    "$(grep -oE '[0-9]+ assertions? in [0-9]+ test cases?|No test cases matched' "$log" | tail -1)" \
    "$(tail -1 "$log")" >>"$summary"
}
export -f run_case; export end out tool bin sanitizer summary
awk -F'\t' '{print NR "\t" $0}' "$cases" | xargs -d '\n' -P "$jobs" -I{} bash -c \
  'IFS=$'"'"'\t'"'"' read -r n p name slice <<< "$1"; run_case "$n" "$p" "$name" "$slice"' _ {}

clean='(ERROR SUMMARY: 0 errors|RACECHECK SUMMARY: 0 hazards|terminated before first instrumented API call)'
unclean=$(awk -F'\t' -v c="$clean" '$4 != "rc=0" || $7 !~ c' "$summary" | grep -vE "rc=255.*terminated before first")
echo "$tool: $(wc -l <"$cases") processes, $(( $(wc -l <"$cases") - $(printf '%s' "$unclean" | grep -c .) )) clean"
[ -z "$unclean" ] && exit 0
printf '%s\n' "$unclean"
exit 1
