#include <stdexcept>
#include <string>

#include "ops/embedding.h"
#include "ops/vector_ops.h"

namespace seqbench {

HostRowGroups group_rows_by_id(const int32_t* ids, int64_t rows, int64_t id_limit) {
  std::vector<int32_t> count(static_cast<size_t>(id_limit), 0);
  for (int64_t r = 0; r < rows; ++r) {
    if (ids[r] < 0 || ids[r] >= id_limit)
      throw std::invalid_argument("id " + std::to_string(ids[r]) + " outside [0, " + std::to_string(id_limit) + ")");
    ++count[ids[r]];
  }
  HostRowGroups g;
  std::vector<int32_t> slot(static_cast<size_t>(id_limit), -1);
  g.begin.push_back(0);
  for (int64_t id = 0; id < id_limit; ++id) {
    if (!count[id]) continue;
    slot[id] = g.begin.back();
    g.target.push_back(static_cast<int32_t>(id));
    g.begin.push_back(g.begin.back() + count[id]);
  }
  g.order.resize(static_cast<size_t>(rows));
  for (int64_t r = 0; r < rows; ++r) g.order[slot[ids[r]]++] = static_cast<int32_t>(r);
  return g;
}

void embedding_gather_cpu(const float* table, const int32_t* ids, float* out, int64_t rows, int64_t width) {
  for (int64_t r = 0; r < rows; ++r) {
    const float* src = table + static_cast<int64_t>(ids[r]) * width;
    for (int64_t i = 0; i < width; ++i) out[r * width + i] = src[i];
  }
}

void embedding_grad_cpu(const float* dout, const RowGroups& groups, float* dtable, int64_t width) {
  for (int64_t g = 0; g < groups.groups; ++g) {
    float* dst = dtable + static_cast<int64_t>(groups.target[g]) * width;
    for (int32_t s = groups.begin[g]; s < groups.begin[g + 1]; ++s)
      axpy_cpu(1.0f, dout + static_cast<int64_t>(groups.order[s]) * width, dst, width);
  }
}

void add_position_rows_cpu(const float* pos, float* out, int64_t batch, int64_t seq_len, int64_t width) {
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t t = 0; t < seq_len; ++t) axpy_cpu(1.0f, pos + t * width, out + (b * seq_len + t) * width, width);
}

void position_grad_cpu(const float* dout, float* dpos, int64_t batch, int64_t seq_len, int64_t width) {
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t t = 0; t < seq_len; ++t) axpy_cpu(1.0f, dout + (b * seq_len + t) * width, dpos + t * width, width);
}

template <>
EmbeddingKernels cpu_kernel_table<EmbeddingKernels>{
    {}, embedding_gather_cpu, embedding_grad_cpu, add_position_rows_cpu, position_grad_cpu};

}  // namespace seqbench
