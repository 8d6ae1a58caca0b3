#include "harness/environment.h"

#include <sys/utsname.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <fstream>
#include <thread>

#include "harness/build_defines.h"
#include "harness/device_setup.h"
#include "ops/parallel.h"

namespace seqbench {
namespace {

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ' || s.back() == '\r')) s.pop_back();
  while (!s.empty() && s.front() == ' ') s.erase(s.begin());
  return s;
}

std::string command_output(const std::string& command) {
  std::array<char, 256> buffer{};
  std::string out;
  FILE* pipe = popen(command.c_str(), "r");
  if (!pipe) return "";
  while (fgets(buffer.data(), buffer.size(), pipe)) out += buffer.data();
  pclose(pipe);
  return trim(out);
}

// The OpenMP specification date the compiler implements (e.g. 201511 = 4.5); 0 without OpenMP.
long openmp_version() {
#ifdef _OPENMP
  return _OPENMP;
#else
  return 0;
#endif
}

}  // namespace

std::string cpu_model_name() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("model name", 0) == 0) return trim(line.substr(line.find(':') + 1));
  return "unknown";
}

std::string current_git_sha() {
  // The source tree's HEAD at run time; "unknown" outside a git checkout.
  std::string sha = command_output("git -C '" SEQBENCH_SOURCE_DIR_STRING "' rev-parse HEAD 2>/dev/null");
  if (sha.empty()) return "unknown";
  if (!command_output("git -C '" SEQBENCH_SOURCE_DIR_STRING "' status --porcelain --untracked-files=no 2>/dev/null")
           .empty())
    sha += "-dirty";
  return sha;
}

RunInfo capture_run_info(const std::string& command_line, const std::string& device, uint64_t seed,
                         const std::string& suite) {
  RunInfo info;
  std::array<char, 256> host{};
  gethostname(host.data(), host.size() - 1);
  info.host = host.data();
  info.git_sha = current_git_sha();
  info.command_line = command_line;
  info.device = device;
  info.seed = seed;
  info.suite = suite;
  describe_device(parse_device(device), info);
#if defined(__clang__)
  const std::string compiler = std::string("clang++ ") + __clang_version__;
#elif defined(__GNUC__)
  const std::string compiler = std::string("g++ ") + __VERSION__;
#else
  const std::string compiler = "unknown";
#endif
  struct utsname system {};
  const std::string os =
      uname(&system) == 0 ? std::string(system.sysname) + " " + system.release + " " + system.machine : "";
  // GPU fields stay empty on CPU runs (and are filled by the CUDA backend's device query), so
  // every run's environment has the same keys.
  nlohmann::json env{{"compiler", compiler},
                     {"os", os},
                     {"openmp", openmp_version()},
                     {"gpu", device == "cpu" ? "" : info.device},
                     {"gpu_driver", info.driver},
                     {"cuda_version", info.cuda_version},
                     {"clocks", info.clocks},
                     {"build_type", SEQBENCH_BUILD_TYPE},
                     {"flags", SEQBENCH_BUILD_FLAGS},
                     {"cpu_model", cpu_model_name()},
                     {"hardware_threads", std::thread::hardware_concurrency()},
                     {"threads", num_threads()}};
  info.environment_json = env.dump();
  return info;
}

}  // namespace seqbench
