// The "mqar" task: Zoology's multi-query associative recall (see datasets/mqar_generator.h).
// Train and test are drawn from independent streams of the cell's seed; the test split may ask
// for a different number of kv pairs (Zoology trains and tests on different num_kv_pairs).
#pragma once
#include <nlohmann/json.hpp>

#include "datasets/mqar_generator.h"
#include "tasks/task.h"

namespace seqbench {

TaskDefinition mqar_task_definition();

// The generator parameters of the train split from resolved task params.
MqarParams mqar_params_from_json(const nlohmann::json& params);

}  // namespace seqbench
