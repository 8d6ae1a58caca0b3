#include "models/fused_projection.h"

#include <cmath>
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
  Rng unused(0);
  // Built on the host, its blocks redrawn below, then placed.
  layer_ = LinearLayer(name, in_features, total_width(parts), false, unused, 1.0f, Device::cpu);
  Tensor& w = layer_.weight().value;
  int offset = 0;
  for (const ProjectionPart& p : parts) {
    // The draws of LinearLayer(name, in, p.out_features, ..., Rng(p.seed)): row-major, scale 1/sqrt(in).
    Rng rng(p.seed);
    const float init_std = 1.0f / std::sqrt(static_cast<float>(in_features));
    for (int64_t i = 0; i < int64_t{p.out_features} * in_features; ++i)
      w[int64_t{offset} * in_features + i] = static_cast<float>(rng.normal()) * init_std;
    widths_.push_back(p.out_features);
    offsets_.push_back(offset);
    offset += p.out_features;
  }
  for (Param* p : layer_.params()) place_param(*p, device);
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
