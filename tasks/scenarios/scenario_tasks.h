// The SCBench-style scenario tasks (datasets/scenarios/scenario_generators.h) as tasks: every
// split is a list of sessions, trained and scored one-pass in the flat session layout (each turn
// in distribution: the model is trained on the multi-query format it is evaluated in), and the
// session runner (harness/scenarios/) replays the test sessions turn by turn. Parameters every
// scenario task takes besides its own: num_turns (5), num_train, num_valid, num_test (about 100
// sessions per cell).
#pragma once
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "datasets/scenarios/session.h"

namespace seqbench {

bool is_scenario_task(const std::string& task);

enum class SessionSplit { train, valid, test };

// The sessions of one split of a scenario task, from its resolved parameters and seed: exactly the
// sessions the task's TokenDataset of that split holds, in the same order. Throws
// std::invalid_argument for a task that is not a scenario task or for bad parameters.
std::vector<Session> scenario_sessions(const std::string& task, const nlohmann::json& resolved_params, uint64_t seed,
                                       SessionSplit split);

}  // namespace seqbench
