#include "models/fused_projection.h"

#include <algorithm>
#include <stdexcept>

#include "ops/row_ops.h"

namespace seqbench {
namespace {

int total_width(const std::vector<ProjectionPart>& parts) {
  int total = 0;
  for (const ProjectionPart& p : parts) total += p.out_features;
  return total;
}

}  // namespace

FusedProjection::FusedProjection(std::string name, int in_features, const std::vector<ProjectionPart>& parts,
                                 Device device) {
  if (parts.empty()) throw std::invalid_argument("fused projection '" + name + "' needs at least one part");
  // Each block drawn as a LinearLayer of its seed would draw it (sizes checked there), then stacked.
  std::vector<Tensor> blocks;
  for (const ProjectionPart& p : parts) {
    Rng rng(p.seed);
    blocks.push_back(initial_linear_weight(name, in_features, p.out_features, rng));
  }
  Tensor stacked({total_width(parts), in_features});
  int offset = 0;
  for (size_t i = 0; i < parts.size(); ++i) {
    std::copy(blocks[i].data(), blocks[i].data() + blocks[i].numel(), stacked.data() + int64_t{offset} * in_features);
    widths_.push_back(parts[i].out_features);
    offsets_.push_back(offset);
    offset += parts[i].out_features;
  }
  layer_ = LinearLayer(name, stacked, false, device);
}

void FusedProjection::check_count(size_t count) const {
  if (count != widths_.size())
    throw std::logic_error("fused projection: " + std::to_string(count) + " tensors for " +
                           std::to_string(widths_.size()) + " parts");
}

void FusedProjection::split(const Tensor& stacked, const std::vector<Tensor*>& outputs) const {
  const int total = offsets_.back() + widths_.back();
  const int64_t rows = stacked.numel() / total;
  for (size_t i = 0; i < outputs.size(); ++i) {
    outputs[i]->resize(with_last_dim(stacked.shape(), widths_[i]), stacked.device());
    kernels_for<RowOpKernels>(stacked.device())
        .copy_rows(stacked.data() + offsets_[i], total, outputs[i]->data(), widths_[i], rows, widths_[i]);
  }
}

void FusedProjection::forward(const Tensor& x, const std::vector<Tensor*>& outputs) {
  check_count(outputs.size());
  layer_.forward(x, stacked_);
  split(stacked_, outputs);
}

void FusedProjection::apply(const Tensor& x, const std::vector<Tensor*>& outputs) const {
  check_count(outputs.size());
  layer_.apply(x, stacked_);
  split(stacked_, outputs);
}

void FusedProjection::backward(const std::vector<const Tensor*>& grads, Tensor& dx) {
  check_count(grads.size());
  const int total = offsets_.back() + widths_.back();
  const int64_t rows = grads[0]->numel() / widths_[0];
  stacked_.resize(with_last_dim(grads[0]->shape(), total), grads[0]->device());
  for (size_t i = 0; i < grads.size(); ++i) {
    if (grads[i]->numel() != rows * widths_[i])
      throw std::invalid_argument("fused projection: gradient " + std::to_string(i) + " has shape " +
                                  shape_string(grads[i]->shape()) + ", expected " + std::to_string(rows) + " rows of " +
                                  std::to_string(widths_[i]));
    kernels_for<RowOpKernels>(stacked_.device())
        .copy_rows(grads[i]->data(), widths_[i], stacked_.data() + offsets_[i], total, rows, widths_[i]);
  }
  layer_.backward(stacked_, dx);
}

}  // namespace seqbench
