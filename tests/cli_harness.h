// Runs the seqbench binary as a user would and captures its exit code and output.
#pragma once
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

namespace seqbench::testing {

struct CliResult {
  int exit_code = -1;
  std::string output;  // stdout and stderr together
};

// Runs binary with args through the shell, stdout and stderr together.
inline CliResult run_seqbench_binary(const std::string& binary, const std::string& args) {
  const std::string command = binary + " " + args + " 2>&1";
  CliResult result;
  FILE* pipe = popen(command.c_str(), "r");
  if (!pipe) return result;
  std::array<char, 4096> buffer{};
  size_t n;
  while ((n = fread(buffer.data(), 1, buffer.size(), pipe)) > 0) result.output.append(buffer.data(), n);
  const int status = pclose(pipe);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

// The build's seqbench; where the build tree is not there (test binaries copied to a GPU machine
// beside seqbench), the seqbench next to this test program.
inline std::string seqbench_binary() {
  if (std::filesystem::exists(SEQBENCH_BINARY)) return SEQBENCH_BINARY;
  return (std::filesystem::read_symlink("/proc/self/exe").parent_path() / "seqbench").string();
}

inline CliResult run_seqbench(const std::string& args) { return run_seqbench_binary(seqbench_binary(), args); }

// A fresh directory under /tmp, removed when the object goes away.
struct TempDir {
  std::string path;
  TempDir() {
    char pattern[] = "/tmp/seqbench-test-XXXXXX";
    path = mkdtemp(pattern);
  }
  ~TempDir() { std::system(("rm -rf '" + path + "'").c_str()); }
  std::string file(const std::string& name) const { return path + "/" + name; }
  std::string write(const std::string& name, const std::string& text) const {
    std::ofstream(file(name)) << text;
    return file(name);
  }
};

// The file's bytes, exactly ("" when it cannot be read).
inline std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

}  // namespace seqbench::testing
