#include "datasets/dataset_export.h"

#include <cstring>
#include <fstream>
#include <istream>
#include <nlohmann/json.hpp>
#include <ostream>
#include <stdexcept>
#include <type_traits>

#include "datasets/json_lines.h"

namespace seqbench {
namespace {

constexpr char kMagic[4] = {'S', 'Q', 'B', 'T'};
constexpr size_t kHeaderBytes = 32;

[[noreturn]] void fail(const std::string& origin, const std::string& message) {
  throw std::invalid_argument(origin + ": " + message);
}

void write_array(std::ostream& out, const int32_t* values, int64_t count) {
  out << '[';
  for (int64_t i = 0; i < count; ++i) out << (i ? "," : "") << values[i];
  out << ']';
}

// Bytes are assembled by shifts so the file is little-endian whatever the host's byte order.
template <class T>
void put_le(std::ostream& out, T value) {
  using U = std::make_unsigned_t<T>;
  const auto u = static_cast<U>(value);
  char bytes[sizeof(T)];
  for (size_t i = 0; i < sizeof(T); ++i) bytes[i] = static_cast<char>((u >> (8 * i)) & 0xFF);
  out.write(bytes, sizeof(T));
}

template <class T>
T get_le(const unsigned char* bytes) {
  using U = std::make_unsigned_t<T>;
  U u = 0;
  for (size_t i = 0; i < sizeof(T); ++i) u |= static_cast<U>(bytes[i]) << (8 * i);
  return static_cast<T>(u);
}

}  // namespace

std::string example_id(const std::string& split, int64_t index) { return split + "-" + std::to_string(index); }

void write_dataset_jsonl(const TokenDataset& data, const std::string& split, std::ostream& out) {
  for (int64_t i = 0; i < data.num_examples; ++i) {
    out << "{\"id\":" << nlohmann::json(example_id(split, i)).dump() << ",\"inputs\":";
    write_array(out, data.input_row(i), data.seq_len);
    out << ",\"labels\":";
    write_array(out, data.label_row(i), data.seq_len);
    out << "}\n";
  }
}

void write_dataset_binary(const TokenDataset& data, std::ostream& out) {
  out.write(kMagic, sizeof(kMagic));
  put_le<uint32_t>(out, kTokenBinaryVersion);
  put_le<uint64_t>(out, static_cast<uint64_t>(data.num_examples));
  put_le<uint64_t>(out, static_cast<uint64_t>(data.seq_len));
  put_le<uint32_t>(out, static_cast<uint32_t>(data.vocab_size));
  put_le<uint32_t>(out, 0);
  for (int32_t v : data.inputs) put_le<int32_t>(out, v);
  for (int32_t v : data.labels) put_le<int32_t>(out, v);
}

TokenDataset read_dataset_jsonl(std::istream& in, const std::string& origin) {
  TokenDataset data;
  for_each_json_line(in, origin, [&](const nlohmann::json& object, const std::string& where) {
    const std::vector<int32_t> inputs = int_array_field(object, "inputs", where);
    const std::vector<int32_t> labels = int_array_field(object, "labels", where);
    if (inputs.size() != labels.size())
      throw std::invalid_argument(where + ": " + std::to_string(inputs.size()) + " inputs but " +
                                  std::to_string(labels.size()) + " labels");
    if (data.num_examples == 0) data.seq_len = static_cast<int64_t>(inputs.size());
    if (static_cast<int64_t>(inputs.size()) != data.seq_len)
      throw std::invalid_argument(where + ": example of length " + std::to_string(inputs.size()) +
                                  ", expected " + std::to_string(data.seq_len) + " like the first");
    data.inputs.insert(data.inputs.end(), inputs.begin(), inputs.end());
    data.labels.insert(data.labels.end(), labels.begin(), labels.end());
    ++data.num_examples;
  });
  return data;
}

TokenDataset read_dataset_binary(std::istream& in, const std::string& origin) {
  unsigned char header[kHeaderBytes];
  in.read(reinterpret_cast<char*>(header), kHeaderBytes);
  if (in.gcount() != static_cast<std::streamsize>(kHeaderBytes))
    fail(origin, "file ends inside the " + std::to_string(kHeaderBytes) + "-byte header");
  if (std::memcmp(header, kMagic, sizeof(kMagic)) != 0) fail(origin, "not a seqbench token file (magic is not \"SQBT\")");
  const auto version = get_le<uint32_t>(header + 4);
  if (version != kTokenBinaryVersion)
    fail(origin, "token file version " + std::to_string(version) + ", this seqbench reads version " +
                     std::to_string(kTokenBinaryVersion));
  const auto num_examples = get_le<uint64_t>(header + 8);
  const auto seq_len = get_le<uint64_t>(header + 16);
  // Sizes beyond 2^40 tokens are a corrupt header, not a dataset.
  if (num_examples > (uint64_t{1} << 40) || seq_len > (uint64_t{1} << 40) ||
      (seq_len > 0 && num_examples > (uint64_t{1} << 40) / seq_len))
    fail(origin, "header claims " + std::to_string(num_examples) + " examples of length " + std::to_string(seq_len));
  TokenDataset data;
  data.num_examples = static_cast<int64_t>(num_examples);
  data.seq_len = static_cast<int64_t>(seq_len);
  data.vocab_size = static_cast<int32_t>(get_le<uint32_t>(header + 24));
  const size_t count = static_cast<size_t>(num_examples * seq_len);
  for (std::vector<int32_t>* values : {&data.inputs, &data.labels}) {
    std::vector<unsigned char> bytes(count * 4);
    in.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
    if (in.gcount() != static_cast<std::streamsize>(bytes.size()))
      fail(origin, "file is truncated: expected " + std::to_string(kHeaderBytes + 2 * count * 4) + " bytes");
    values->resize(count);
    for (size_t i = 0; i < count; ++i) (*values)[i] = get_le<int32_t>(bytes.data() + 4 * i);
  }
  return data;
}

void write_dataset_file(const TokenDataset& data, const std::string& split, const std::string& path,
                        const std::string& format) {
  if (format != "jsonl" && format != "bin")
    throw std::invalid_argument("unknown dataset format '" + format + "' (expected jsonl or bin)");
  std::ofstream out(path, std::ios::binary);
  if (!out) throw std::invalid_argument("cannot write dataset file '" + path + "'");
  if (format == "jsonl") write_dataset_jsonl(data, split, out);
  else write_dataset_binary(data, out);
  out.flush();
  if (!out) throw std::invalid_argument("failed writing dataset file '" + path + "'");
}

TokenDataset read_dataset_file(const std::string& path, const std::string& format) {
  if (format != "jsonl" && format != "bin")
    throw std::invalid_argument("unknown dataset format '" + format + "' (expected jsonl or bin)");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::invalid_argument("cannot read dataset file '" + path + "'");
  return format == "jsonl" ? read_dataset_jsonl(in, path) : read_dataset_binary(in, path);
}

}  // namespace seqbench
