// Starting a worker process and reading how it ended. A worker is this same seqbench binary
// re-executed with `--worker-of RUN`; it gets one end of a socket pair as file descriptor 3, its
// own session (Ctrl-C reaches the parent, which forwards it once) and a SIGTERM should the parent
// die, so no worker outlives its run.
#pragma once
#include <sys/types.h>

#include <string>
#include <vector>

#include "harness/scaleout/worker_channel.h"
#include "harness/scaleout/worker_devices.h"

namespace seqbench {

struct LaunchedWorker {
  pid_t pid = -1;
  WorkerChannel channel;
};

// args: the command line after the program name. Throws std::runtime_error when the process
// cannot be started.
LaunchedWorker launch_worker(const WorkerSlot& slot, const std::vector<std::string>& args);

// Waits for the worker to end; "exited with code 3", "was killed by signal 9 (Killed)".
std::string wait_for_worker(pid_t pid, bool& clean_exit);

}  // namespace seqbench
