#!/usr/bin/env bash
# Installs dependencies, builds seqbench (CUDA code too when nvcc is present), runs the tests.
# GPU tests are labelled `gpu` and skip themselves on machines without a GPU.
set -euo pipefail
cd "$(dirname "$0")/.."
bash ci/install-deps.sh
build="${SEQBENCH_BUILD_DIR:-build}"
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release
cmake --build "$build" -j "$(nproc)"
ctest --test-dir "$build" --output-on-failure -j "$(nproc)" --timeout 900
