// A dense float tensor with a shape and a device. Storage is owned, copied deeply on copy, and
// allocated through the device's registered allocator so that peak memory can be accounted.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace seqbench {

enum class Device { cpu, cuda };
std::string device_name(Device device);
Device parse_device(const std::string& name);  // throws std::invalid_argument

using Shape = std::vector<int64_t>;
std::string shape_string(const Shape& shape);

class Tensor {
 public:
  Tensor() = default;
  explicit Tensor(Shape shape, Device device = Device::cpu);  // zero-filled
  Tensor(const Tensor& other);
  Tensor& operator=(const Tensor& other);
  Tensor(Tensor&&) noexcept = default;
  Tensor& operator=(Tensor&&) noexcept = default;

  const Shape& shape() const { return shape_; }
  int rank() const { return static_cast<int>(shape_.size()); }
  int64_t dim(int i) const;  // negative i counts from the back
  int64_t numel() const { return numel_; }
  size_t bytes() const { return static_cast<size_t>(numel_) * sizeof(float); }
  Device device() const { return device_; }
  bool empty() const { return numel_ == 0; }

  float* data() { return data_.get(); }
  const float* data() const { return data_.get(); }
  float& operator[](int64_t i) { return data_.get()[i]; }  // CPU tensors only
  float operator[](int64_t i) const { return data_.get()[i]; }

  void zero();
  // Reallocates (zero-filled) unless the shape already matches; keeps the device.
  void resize(const Shape& shape);
  // Reallocates (zero-filled) unless both the shape and the device already match: how a layer
  // makes its output live where its input lives.
  void resize(const Shape& shape, Device device);
  // Same storage size, new shape; throws if the element counts differ.
  void reshape(const Shape& shape);
  Tensor to(Device device) const;

 private:
  Shape shape_;
  int64_t numel_ = 0;
  Device device_ = Device::cpu;
  std::shared_ptr<float> data_;
};

int64_t shape_numel(const Shape& shape);

}  // namespace seqbench
