// Built-in suites: named sweep specs shipped with the binary (`seqbench list` shows them).
#pragma once
#include <string>
#include <vector>

#include "harness/sweep.h"

namespace seqbench {

struct SuiteInfo {
  std::string name;
  std::string description;
  std::string spec_json;
};

const std::vector<SuiteInfo>& builtin_suites();
nlohmann::json suite_spec(const std::string& name);  // throws SweepError listing the known suites

}  // namespace seqbench
