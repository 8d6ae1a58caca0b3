#include "harness/scaleout/worker_launch.h"

#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <stdexcept>

#include "harness/scaleout/worker_process.h"

namespace seqbench {
namespace {

// In the forked child, before exec: only async-signal-safe calls.
[[noreturn]] void become_worker(int channel_fd, pid_t parent, const WorkerSlot& slot, char* const argv[]) {
  // Its own session, as a shard started by hand or by Slurm would have: Ctrl-C at the terminal
  // reaches only the parent (which forwards it once), and where the kernel shares CPU time between
  // sessions (autogroup), N workers get what N separately started shards get, not one share split N ways.
  setsid();
  prctl(PR_SET_PDEATHSIG, SIGTERM);
  if (getppid() != parent) _exit(1);  // the parent died before prctl took effect
  if (channel_fd == kWorkerChannelFd) {
    fcntl(channel_fd, F_SETFD, 0);  // dup2 onto itself would leave close-on-exec set
  } else if (dup2(channel_fd, kWorkerChannelFd) < 0) {
    _exit(127);
  }
  if (!slot.gpu.empty()) setenv("CUDA_VISIBLE_DEVICES", slot.gpu.c_str(), 1);
  execv("/proc/self/exe", argv);
  _exit(127);
}

}  // namespace

LaunchedWorker launch_worker(const WorkerSlot& slot, const std::vector<std::string>& args) {
  int fds[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0)
    throw std::runtime_error(std::string("cannot create a channel for worker ") + std::to_string(slot.number) +
                             ": " + std::strerror(errno));
  std::vector<char*> argv;
  static char program[] = "seqbench";
  argv.push_back(program);
  for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);

  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid == 0) become_worker(fds[1], parent, slot, argv.data());
  close(fds[1]);
  if (pid < 0) {
    close(fds[0]);
    throw std::runtime_error("cannot start worker " + std::to_string(slot.number) + ": " + std::strerror(errno));
  }
  LaunchedWorker worker;
  worker.pid = pid;
  worker.channel = WorkerChannel(fds[0]);
  return worker;
}

std::string wait_for_worker(pid_t pid, bool& clean_exit) {
  int status = 0;
  pid_t got;
  while ((got = waitpid(pid, &status, 0)) < 0 && errno == EINTR) {
  }
  clean_exit = false;
  if (got != pid) return "could not be waited for (" + std::string(std::strerror(errno)) + ")";
  if (WIFSIGNALED(status)) {
    const int signal = WTERMSIG(status);
    const char* name = strsignal(signal);
    return "was killed by signal " + std::to_string(signal) + (name ? std::string(" (") + name + ")" : "");
  }
  const int code = WEXITSTATUS(status);
  clean_exit = code == 0;
  return "exited with code " + std::to_string(code);
}

}  // namespace seqbench
