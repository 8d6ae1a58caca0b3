// What a result was measured on: recorded with every run so numbers can be compared honestly.
#pragma once
#include <nlohmann/json.hpp>
#include <string>

#include "harness/results_store.h"

namespace seqbench {

// Fills host, git sha, device and an environment JSON (compiler, flags, CPU model, threads).
RunInfo capture_run_info(const std::string& command_line, const std::string& device, uint64_t seed,
                         const std::string& suite);
std::string cpu_model_name();
std::string current_git_sha();

}  // namespace seqbench
