#!/usr/bin/env bash
# The main job on the embedded default: install, build, run the `smoke` suite on the CPU into a
# SQLite file, then print its leaderboard.
set -euo pipefail
cd "$(dirname "$0")/.."
bash ci/install-deps.sh
build="${SEQBENCH_BUILD_DIR:-build}"
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DSEQBENCH_TESTS=OFF
cmake --build "$build" -j "$(nproc)" --target seqbench
"$build/seqbench" run --suite smoke --db "${SEQBENCH_DB:-seqbench.db}" "$@"
