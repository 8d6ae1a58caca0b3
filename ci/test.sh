#!/usr/bin/env bash
# Installs dependencies, builds seqbench (CUDA code too when nvcc is present), runs the tests.
# GPU tests are labelled `gpu` and skip themselves on machines without a GPU.
set -euo pipefail
cd "$(dirname "$0")/.."
bash ci/install-deps.sh
build="${SEQBENCH_BUILD_DIR:-build}"
# The tests run on the machine that builds them: device code for sm_90a alone, which halves the CUDA
# compile against the default build's sm_90a plus portable PTX (SEQBENCH_CUDA_ARCHITECTURES overrides).
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DCMAKE_CUDA_ARCHITECTURES="${SEQBENCH_CUDA_ARCHITECTURES:-90a-real}"
cmake --build "$build" -j "$(nproc)"
ctest --test-dir "$build" --output-on-failure -j "$(nproc)" --timeout 900
