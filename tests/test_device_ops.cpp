// The device-dispatching shared ops on the CPU: row ops and embedding gradients against plain
// loops, the host grouping of ids, IndexBuffer, and the clear errors a CPU-only build or a
// machine without a GPU gives when the GPU is asked for.
#include <catch2/catch.hpp>
#include <stdexcept>
#include <vector>

#include "harness/device_setup.h"
#include "ops/cuda/cuda_device.h"
#include "ops/embedding.h"
#include "ops/index_buffer.h"
#include "ops/matmul.h"
#include "ops/rng.h"
#include "ops/row_ops.h"
#include "tests/random_values.h"

using namespace seqbench;
using seqbench::testing::normal_values;

TEST_CASE("grouping ids lists each id's rows in ascending order") {
  const std::vector<int32_t> ids{3, 0, 3, 2, 0, 3};
  const HostRowGroups g = group_rows_by_id(ids.data(), 6, 5);
  REQUIRE(g.target == std::vector<int32_t>{0, 2, 3});
  REQUIRE(g.begin == std::vector<int32_t>{0, 2, 3, 6});
  REQUIRE(g.order == std::vector<int32_t>{1, 4, 3, 0, 2, 5});
  REQUIRE_THROWS_WITH(group_rows_by_id(ids.data(), 6, 3), "id 3 outside [0, 3)");
}

TEST_CASE("embedding gradients through groups equal a row-by-row scatter-add") {
  Rng rng(5);
  for (int64_t rows : {1, 2, 17, 64}) {
    const int64_t vocab = 7, width = 5;
    std::vector<int32_t> ids(rows);
    for (auto& id : ids) id = static_cast<int32_t>(rng.uniform_int(0, vocab));
    const std::vector<float> dout = normal_values(rows * width, rng);
    std::vector<float> want(vocab * width, 0.5f), got = want;
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t i = 0; i < width; ++i) want[ids[r] * width + i] += dout[r * width + i];
    kernels_for<EmbeddingKernels>(Device::cpu)
        .grad(dout.data(), group_rows_by_id(ids.data(), rows, vocab).view(), got.data(), width);
    REQUIRE(got == want);  // same additions in the same order: bit-identical
  }
}

TEST_CASE("position rows are added to every sequence and their gradient sums the batch") {
  Rng rng(6);
  const int64_t batch = 3, seq_len = 4, width = 3;
  const std::vector<float> pos = normal_values(seq_len * width, rng),
                           dout = normal_values(batch * seq_len * width, rng);
  std::vector<float> out(batch * seq_len * width, 1.0f), dpos(seq_len * width, 0.0f);
  kernels_for<EmbeddingKernels>(Device::cpu).add_position_rows(pos.data(), out.data(), batch, seq_len, width);
  kernels_for<EmbeddingKernels>(Device::cpu).position_grad(dout.data(), dpos.data(), batch, seq_len, width);
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t i = 0; i < seq_len * width; ++i) REQUIRE(out[b * seq_len * width + i] == 1.0f + pos[i]);
  for (int64_t i = 0; i < seq_len * width; ++i)
    REQUIRE(dpos[i] == Approx(dout[i] + dout[seq_len * width + i] + dout[2 * seq_len * width + i]));
}

TEST_CASE("bias rows, their gradient, strided row copies and sums of squares") {
  Rng rng(7);
  const int64_t rows = 5, width = 3;
  const std::vector<float> bias = normal_values(width, rng), dy = normal_values(rows * width, rng);
  std::vector<float> y(rows * width, 0.0f), dbias(width, 1.0f);
  kernels_for<RowOpKernels>(Device::cpu).add_bias_rows(bias.data(), y.data(), rows, width);
  kernels_for<RowOpKernels>(Device::cpu).bias_grad_rows(dy.data(), dbias.data(), rows, width);
  for (int64_t j = 0; j < width; ++j) {
    double column = 1.0;
    for (int64_t r = 0; r < rows; ++r) {
      REQUIRE(y[r * width + j] == bias[j]);
      column += dy[r * width + j];
    }
    REQUIRE(dbias[j] == Approx(column));
  }
  std::vector<float> wide(rows * 7, -1.0f);
  kernels_for<RowOpKernels>(Device::cpu).copy_rows(dy.data(), width, wide.data() + 2, 7, rows, width);
  for (int64_t r = 0; r < rows; ++r) {
    REQUIRE(wide[r * 7 + 1] == -1.0f);
    for (int64_t j = 0; j < width; ++j) REQUIRE(wide[r * 7 + 2 + j] == dy[r * width + j]);
    REQUIRE(wide[r * 7 + 5] == -1.0f);
  }
  const std::vector<float> v{1.0f, -2.0f, 3.0f};
  REQUIRE(kernels_for<RowOpKernels>(Device::cpu).sum_of_squares(v.data(), 3) == 14.0);
}

TEST_CASE("an index buffer round-trips and grows only when it must") {
  IndexBuffer buffer(Device::cpu);
  buffer.upload(std::vector<int32_t>{4, 5, 6});
  REQUIRE(buffer.download() == std::vector<int32_t>{4, 5, 6});
  const int32_t* first = buffer.data();
  buffer.upload(std::vector<int32_t>{7});
  REQUIRE(buffer.data() == first);
  REQUIRE(buffer.download() == std::vector<int32_t>{7});
  buffer.upload(std::vector<int32_t>{1, 2, 3});
  REQUIRE(buffer.download(1, 2) == std::vector<int32_t>{2, 3});
  REQUIRE(buffer.download(3, 0).empty());
  REQUIRE_THROWS_WITH(buffer.download(2, 2), Catch::Contains("values [2, 4) outside size 3"));
}

TEST_CASE("asking for the GPU where there is none is a clear error") {
  if (cuda_device_present()) {
    WARN("a GPU is present: the no-GPU errors are not exercised here");
    return;
  }
  REQUIRE_THROWS_WITH(prepare_device(Device::cuda), Catch::Contains("no usable CUDA device"));
  REQUIRE_NOTHROW(prepare_device(Device::cpu));
}
