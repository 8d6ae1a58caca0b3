// On-disk forms of a TokenDataset, for training or scoring outside seqbench (the predictions to
// score are datasets/predictions_jsonl.h). Writers and readers live together so each format
// round-trips.
//
// Every example has an id, "<split>-<index>" ("test-0", "valid-12", "len512-3"): predictions are
// matched to examples by it (datasets/predictions_jsonl.h), never by line order.
//
// JSONL: one line per example, {"id": "test-0", "inputs": [...], "labels": [...]} (labels -100
//   where unscored). The file does not carry vocab_size; read_dataset_jsonl leaves it 0 and
//   reads the examples in file order (an "id" is accepted and not checked).
// Binary ("SQBT"), every field little-endian:
//   offset  0  char[4]  magic "SQBT"
//           4  uint32   version (1)
//           8  uint64   num_examples
//          16  uint64   seq_len
//          24  uint32   vocab_size
//          28  uint32   reserved, 0
//          32  int32    inputs[num_examples * seq_len], example-major
//              int32    labels[num_examples * seq_len]
//   Example i of the file has the id "<split>-<i>".
#pragma once
#include <cstdint>
#include <iosfwd>
#include <string>

#include "datasets/token_dataset.h"

namespace seqbench {

constexpr uint32_t kTokenBinaryVersion = 1;

// "<split>-<index>": the id of example `index` of a split.
std::string example_id(const std::string& split, int64_t index);

void write_dataset_jsonl(const TokenDataset& data, const std::string& split, std::ostream& out);
void write_dataset_binary(const TokenDataset& data, std::ostream& out);

// Readers throw std::invalid_argument naming `origin` (a file name) and the line or byte offset
// of the first problem.
TokenDataset read_dataset_jsonl(std::istream& in, const std::string& origin);
TokenDataset read_dataset_binary(std::istream& in, const std::string& origin);

// `format` is "jsonl" or "bin"; throws std::invalid_argument for another format or an
// unwritable/unreadable path.
void write_dataset_file(const TokenDataset& data, const std::string& split, const std::string& path,
                        const std::string& format);
TokenDataset read_dataset_file(const std::string& path, const std::string& format);

}  // namespace seqbench
