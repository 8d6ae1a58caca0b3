#include <unistd.h>

#include <cstdlib>

#include "harness/cli.h"

int main(int argc, char** argv) {
  // The CPU kernels run many short parallel regions per training step; with OpenMP's default
  // passive waiting, threads sleep between them and wake-up latency halves throughput on small
  // models. libgomp reads its wait policy once at load time, so the process re-executes itself
  // with an active policy unless the user chose one.
  if (!std::getenv("OMP_WAIT_POLICY")) {
    setenv("OMP_WAIT_POLICY", "active", 1);
    execv("/proc/self/exe", argv);  // returns only on failure: then carry on as we are
  }
  return seqbench::run_cli(argc, argv);
}
