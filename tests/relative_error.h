// The norm-wise relative error ||got - want|| / ||want|| (in double) the kernel and precision tests
// compare with: infinity when the sizes differ or anything is NaN.
#pragma once
#include <cmath>
#include <limits>
#include <vector>

#include "ops/tensor.h"

namespace seqbench::testing {

inline double relative_error(const std::vector<float>& got, const std::vector<float>& want) {
  if (got.size() != want.size()) return std::numeric_limits<double>::infinity();
  double diff = 0.0, norm = 0.0;
  for (size_t i = 0; i < got.size(); ++i) {
    if (std::isnan(got[i]) || std::isnan(want[i])) return std::numeric_limits<double>::infinity();
    diff += (static_cast<double>(got[i]) - want[i]) * (static_cast<double>(got[i]) - want[i]);
    norm += static_cast<double>(want[i]) * want[i];
  }
  return norm == 0.0 ? std::sqrt(diff) : std::sqrt(diff / norm);
}

// The same for host tensors.
inline double relative_error(const Tensor& got, const Tensor& want) {
  return relative_error(std::vector<float>(got.data(), got.data() + got.numel()),
                        std::vector<float>(want.data(), want.data() + want.numel()));
}

}  // namespace seqbench::testing
