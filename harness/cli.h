// The `seqbench` command line: a thin layer over the harness, tasks, models and reports.
// Exit codes: 0 success, 1 a cell or run failed, 2 bad input (unknown names, malformed JSON,
// impossible shapes, bad flags), 3 results-store error, 130 interrupted.
#pragma once

namespace seqbench {

enum ExitCode { kExitOk = 0, kExitRunFailed = 1, kExitBadInput = 2, kExitStoreError = 3, kExitInterrupted = 130 };

int run_cli(int argc, char** argv);

}  // namespace seqbench
