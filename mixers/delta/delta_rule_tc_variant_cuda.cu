// The bf16 tensor-core delta rule's design variants (delta_rule_bf16.cuh): the process default from the
// environment, read once, so that one GPU run can sweep them; and their names for bench rows and test output.
// A .cu file because the contract header speaks CUDA types; built only with the CUDA backend.
#include <cstdlib>
#include <initializer_list>
#include <stdexcept>
#include <string>

#include "mixers/delta/delta_rule_bf16.cuh"
#include "mixers/delta/delta_rule_tc_internal.cuh"

namespace seqbench {
namespace {

// The variable's value among `allowed` (the first when unset or empty); anything else throws.
std::string env_choice(const char* name, std::initializer_list<const char*> allowed) {
  const char* env = std::getenv(name);
  const std::string value = env ? env : "";
  if (value.empty()) return *allowed.begin();
  std::string expected;
  for (const char* a : allowed) {
    if (value == a) return value;
    expected += (expected.empty() ? "" : " or ") + std::string(a);
  }
  throw std::invalid_argument(std::string(name) + "='" + value + "'; expected " + expected);
}

}  // namespace

DeltaRuleTcVariant delta_rule_tc_variant() {
  static const DeltaRuleTcVariant chosen = [] {
    DeltaRuleTcVariant v;
    v.fused_forward = env_choice("SEQBENCH_DELTA_FWD", {"split", "fused"}) == "fused";
    v.reverse_stages = std::stoi(env_choice("SEQBENCH_DELTA_BWD_SCAN_STAGES", {"1", "2"}));
    v.walk_columns = std::stoi(env_choice("SEQBENCH_DELTA_SCAN_COLUMNS", {"64", "32"}));
    v.blocked_solve = env_choice("SEQBENCH_DELTA_WY_SOLVE", {"blocked", "serial"}) == "blocked";
    v.reuse_forward = env_choice("SEQBENCH_DELTA_BWD", {"reuse", "recompute"}) == "reuse";
    return v;
  }();
  return chosen;
}

std::string delta_rule_tc_variant_name(const DeltaRuleTcVariant& v) {
  return std::string(v.fused_forward ? "fused" : "split") + " forward, reverse pass " +
         std::to_string(v.reverse_stages) + " stage(s), " + std::to_string(v.walk_columns) + " columns per walk, " +
         (v.blocked_solve ? "blocked" : "serial") + " solve, backward " +
         (v.reuse_forward ? "reuses the forward" : "recomputes");
}

namespace delta_tc {

void check_variant(const DeltaRuleTcVariant& v, const char* what) {
  if ((v.reverse_stages != 1 && v.reverse_stages != 2) || (v.walk_columns != 32 && v.walk_columns != 64))
    throw std::invalid_argument(std::string(what) + ": variant reverse_stages=" + std::to_string(v.reverse_stages) +
                                " walk_columns=" + std::to_string(v.walk_columns) +
                                "; expected reverse_stages 1 or 2 and walk_columns 32 or 64");
}

}  // namespace delta_tc
}  // namespace seqbench
