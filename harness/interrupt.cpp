#include "harness/interrupt.h"

#include <csignal>
#include <cstdlib>
#include <unistd.h>

namespace seqbench {
namespace {

volatile std::sig_atomic_t g_signals = 0;

extern "C" void on_signal(int signal) {
  if (++g_signals > 1) _exit(128 + signal);
}

}  // namespace

void install_interrupt_handlers() {
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
}

bool interrupt_requested() { return g_signals > 0; }

void throw_if_interrupted() {
  if (interrupt_requested()) throw RunInterrupted();
}

}  // namespace seqbench
