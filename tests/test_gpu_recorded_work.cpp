// RecordedWork (ops/cuda/recorded_work.h): device work run as it is once, then recorded as a CUDA
// graph and replayed, gives what running it as it is gives; work whose blocks do not settle is never
// replayed over memory it freed. Built only with CUDA; each case skips itself without a GPU.
#include <catch2/catch.hpp>
#include <vector>

#include "harness/device_setup.h"
#include "ops/cuda/recorded_work.h"
#include "ops/device_memory.h"
#include "ops/row_ops.h"
#include "ops/tensor.h"
#include "tests/gpu_kernel_checks.h"

using namespace seqbench;

namespace {

constexpr int64_t kSize = 1000;  // not a multiple of any block size

Tensor filled(float value) {
  Tensor host({kSize});
  for (int64_t i = 0; i < kSize; ++i) host.data()[i] = value + static_cast<float>(i % 7);
  return host.to(Device::cuda);
}

std::vector<float> values(const Tensor& t) {
  const Tensor host = t.to(Device::cpu);
  return std::vector<float>(host.data(), host.data() + host.numel());
}

std::vector<float> expected_sum(float value, int runs) {
  std::vector<float> out(kSize);
  for (int64_t i = 0; i < kSize; ++i) out[i] = runs * (value + static_cast<float>(i % 7));
  return out;
}

}  // namespace

TEST_CASE("recorded work replays what it recorded, with a scratch block it allocates and frees", "[gpu][graphs]") {
  SKIP_WITHOUT_GPU();
  prepare_device(Device::cuda);
  const RowOpKernels& rows = kernels_for<RowOpKernels>(Device::cuda);
  const Tensor source = filled(2.0f);
  Tensor sum({kSize}, Device::cuda);
  RecordedWork work(Device::cuda);
  const int64_t bytes_before = memory_counters(Device::cuda).current_bytes;
  for (int run = 1; run <= 6; ++run) {
    work.run([&] {
      Tensor scratch({kSize}, Device::cuda);  // allocated and freed inside the work every time
      rows.axpy(1.0f, source.data(), scratch.data(), kSize);
      rows.axpy(1.0f, scratch.data(), sum.data(), kSize);
    });
    // Run 1 runs it as it is, run 2 records and launches, runs 3.. launch the record.
    CHECK(work.replaying() == (run >= 2));
  }
  CHECK(values(sum) == expected_sum(2.0f, 6));
  CHECK(memory_counters(Device::cuda).current_bytes == bytes_before);

  // forget(): the next run runs as it is, the one after records again.
  work.forget();
  CHECK_FALSE(work.replaying());
  work.run([&] { rows.axpy(1.0f, source.data(), sum.data(), kSize); });
  CHECK_FALSE(work.replaying());
  work.set_enabled(false);
  for (int run = 0; run < 3; ++run) {
    work.run([&] { rows.axpy(1.0f, source.data(), sum.data(), kSize); });
    CHECK_FALSE(work.replaying());
  }
  CHECK(values(sum) == expected_sum(2.0f, 10));
}

TEST_CASE("work that drops a block allocated before it is never replayed over the freed block", "[gpu][graphs]") {
  SKIP_WITHOUT_GPU();
  prepare_device(Device::cuda);
  const RowOpKernels& rows = kernels_for<RowOpKernels>(Device::cuda);
  Tensor kept = filled(3.0f);
  Tensor sum({kSize}, Device::cuda);
  RecordedWork work(Device::cuda);
  for (int run = 1; run <= 8; ++run) {
    work.run([&] {
      rows.axpy(1.0f, kept.data(), sum.data(), kSize);
      // A new block replaces the one read above, which was allocated before this run.
      Tensor next({kSize}, Device::cuda);
      rows.axpy(1.0f, kept.data(), next.data(), kSize);
      kept = std::move(next);
    });
    CHECK_FALSE(work.replaying());
  }
  CHECK(values(sum) == expected_sum(3.0f, 8));
  CHECK(values(kept) == expected_sum(3.0f, 1));
}

TEST_CASE("work that copies from host memory is not recorded and runs as it is", "[gpu][graphs]") {
  SKIP_WITHOUT_GPU();
  prepare_device(Device::cuda);
  const RowOpKernels& rows = kernels_for<RowOpKernels>(Device::cuda);
  Tensor staged({kSize}, Device::cuda), sum({kSize}, Device::cuda);
  RecordedWork work(Device::cuda);
  for (int run = 1; run <= 4; ++run) {
    // Host values that die with the run: a record replaying this copy would read freed memory.
    const Tensor host = filled(static_cast<float>(run)).to(Device::cpu);
    work.run([&] {
      device_copy(staged.data(), Device::cuda, host.data(), Device::cpu, host.bytes());
      rows.axpy(1.0f, staged.data(), sum.data(), kSize);
    });
    CHECK_FALSE(work.replaying());
  }
  std::vector<float> expected(kSize);
  for (int64_t i = 0; i < kSize; ++i) expected[i] = 10.0f + 4.0f * static_cast<float>(i % 7);
  CHECK(values(sum) == expected);
}
