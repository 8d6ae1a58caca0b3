#!/usr/bin/env bash
# Runs the GPU checks and benchmarks from prebuilt binaries on a machine with a GPU (the tests, then every
# test case under compute-sanitizer memcheck and racecheck through sanitize_tests.sh, SANITIZER_JOBS
# processes side by side, each stopped SANITIZER_SECONDS after its tool started):
#   bench_gpu/run_gpu_checks.sh BIN_DIR OUT_DIR [SUITE]
# BIN_DIR holds the test_gpu_* programs, seqbench_gpu_bench, optionally seqbench and lib/ (runtime
# libraries to fall back on). With SUITE (e.g. zoology-mqar) and seqbench present, the suite is
# also run with --device cuda and timed. Logs go to OUT_DIR; a summary is printed last.
# The anchors (anchor_kernels.py, with the sources under ANCHORS_DIR, default .anchors/ at the
# repository root) are timed right before seqbench_gpu_bench, which reads them with --anchors and
# stores both as one run in OUT_DIR/gpu_bench.db. Without python3 and torch the bench runs alone.
set -u
bin=${1:?binary folder}
out=${2:?output folder}
suite=${3:-}
mkdir -p "$out"
export LD_LIBRARY_PATH="${LD_LIBRARY_PATH:-}:/usr/local/cuda/lib64:$(realpath "$bin")/lib"

nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm,clocks.mem,temperature.gpu,power.draw \
  --format=csv >"$out/device.txt" 2>&1
summary=()
for test in "$bin"/test_gpu_*; do
  name=$(basename "$test")
  ldd "$test" | grep -i "not found" >>"$out/device.txt"
  "$test" --durations yes >"$out/$name.log" 2>&1
  rc=$?
  summary+=("$name: test rc=$rc ($(tail -2 "$out/$name.log" | head -1))")
done
# Every test case under memcheck and racecheck, one process per case (the long ones sliced), side by side.
here=$(dirname "$0")
for tool in memcheck racecheck; do
  bash "$here/sanitize_tests.sh" "$tool" "${SANITIZER_JOBS:-12}" "$bin" "$out" "${SANITIZER_SECONDS:-3000}" \
    >"$out/$tool.log" 2>&1
  summary+=("$tool rc=$?: $(head -1 "$out/$tool.log")")
done
repo=$(realpath "$(dirname "$0")/..")
anchor_args=()
anchors_rc="not run (no python3 with torch)"
if python3 -c "import torch" >/dev/null 2>&1; then
  PYTHONPATH="${ANCHORS_DIR:-$repo/.anchors}:${PYTHONPATH:-}" \
    python3 "$repo/bench_gpu/anchor_kernels.py" --compile-jobs "${ANCHOR_COMPILE_JOBS:-8}" --out "$out/anchors.json" >"$out/anchors.log" 2>&1
  anchors_rc=$?
  [ -s "$out/anchors.json" ] && anchor_args=(--anchors "$out/anchors.json")
fi
"$bin/seqbench_gpu_bench" "${anchor_args[@]}" --db "$out/gpu_bench.db" --json "$out/bench.json" \
  --csv "$out/bench.csv" >"$out/bench.md" 2>&1
bench_rc=$?
if [ -n "$suite" ] && [ -x "$bin/seqbench" ]; then
  start=$(date +%s.%N)
  "$bin/seqbench" run --suite "$suite" --device cuda --db "$out/suite.db" >"$out/suite.md" 2>"$out/suite.log"
  suite_rc=$?
  echo "suite $suite on cuda: rc=$suite_rc, $(echo "$(date +%s.%N) - $start" | bc) s wall" >>"$out/suite.md"
fi

cat "$out/device.txt"
for test in "$bin"/test_gpu_*; do
  grep -E "FAILED|REQUIRE|CHECK\(|with expansion|seed=|^  [0-9.e-]+ <" "$out/$(basename "$test").log" | head -30
done
printf '%s\n' "${summary[@]}"
echo "== anchors rc=$anchors_rc ($(grep -c '"error"' "$out/anchors.log" 2>/dev/null || echo 0) rows with an error)"
echo "== bench rc=$bench_rc"; cat "$out/bench.md"
[ -n "$suite" ] && tail -40 "$out/suite.md"
exit 0
