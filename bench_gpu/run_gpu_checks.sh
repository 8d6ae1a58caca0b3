#!/usr/bin/env bash
# Runs the GPU checks and benchmarks from prebuilt binaries on a machine with a GPU:
#   bench_gpu/run_gpu_checks.sh BIN_DIR OUT_DIR
# BIN_DIR holds test_gpu_kernels, seqbench_gpu_bench and optionally lib/ (runtime libraries to
# fall back on). Logs go to OUT_DIR; a summary is printed last.
set -u
bin=${1:?binary folder}
out=${2:?output folder}
mkdir -p "$out"
export LD_LIBRARY_PATH="${LD_LIBRARY_PATH:-}:/usr/local/cuda/lib64:$(realpath "$bin")/lib"
sanitizer=$(command -v compute-sanitizer || echo /usr/local/cuda/bin/compute-sanitizer)

nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm,clocks.mem,temperature.gpu,power.draw \
  --format=csv >"$out/device.txt" 2>&1
ldd "$bin/test_gpu_kernels" | grep -i "not found" >>"$out/device.txt"

"$bin/test_gpu_kernels" --durations yes >"$out/test.log" 2>&1
test_rc=$?
"$bin/seqbench_gpu_bench" >"$out/bench.md" 2>&1
bench_rc=$?
# The allocator test provokes an out-of-memory error on purpose; memcheck would report it.
timeout 300 "$sanitizer" --tool memcheck --leak-check no "$bin/test_gpu_kernels" "~[memory]" >"$out/memcheck.log" 2>&1
memcheck_rc=$?
timeout 300 "$sanitizer" --tool racecheck "$bin/test_gpu_kernels" "[softmax],[linear]" >"$out/racecheck.log" 2>&1
racecheck_rc=$?

cat "$out/device.txt"
grep -E "FAILED|REQUIRE|CHECK\(|with expansion|seed=|^  [0-9.e-]+ <" "$out/test.log" | head -60
echo "== test rc=$test_rc"; tail -4 "$out/test.log"
echo "== memcheck rc=$memcheck_rc"; tail -3 "$out/memcheck.log"
echo "== racecheck rc=$racecheck_rc"; tail -3 "$out/racecheck.log"
echo "== bench rc=$bench_rc"; cat "$out/bench.md"
