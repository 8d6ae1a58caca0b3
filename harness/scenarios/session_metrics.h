// A session run's figures as stored metrics (reports/metric_catalog.cpp): one row per turn (the
// store's turn column, from 1) and the session aggregate at turn 0, the mean over the turns.
#pragma once
#include <vector>

#include "harness/results_store.h"
#include "harness/scenarios/scenario_spec.h"
#include "harness/scenarios/session_runner.h"

namespace seqbench {

std::vector<Metric> session_metrics(const SessionRunResult& run, SessionMode mode);

}  // namespace seqbench
