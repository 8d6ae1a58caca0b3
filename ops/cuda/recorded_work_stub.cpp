// Builds without CUDA: recorded work is simply run.
#ifndef SEQBENCH_WITH_CUDA
#include "ops/cuda/recorded_work.h"

namespace seqbench {

struct RecordedWork::State {};

RecordedWork::RecordedWork(Device) : state_(std::make_unique<State>()) {}
RecordedWork::~RecordedWork() = default;
RecordedWork::RecordedWork(RecordedWork&&) noexcept = default;
RecordedWork& RecordedWork::operator=(RecordedWork&&) noexcept = default;
void RecordedWork::run(const std::function<void()>& work) { work(); }
void RecordedWork::forget() {}
void RecordedWork::set_enabled(bool) {}
bool RecordedWork::replaying() const { return false; }

}  // namespace seqbench
#endif
