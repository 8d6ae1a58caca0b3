// On-disk forms of a TokenDataset, for training or scoring outside seqbench, and of model
// predictions to score. Writers and readers live together so each format round-trips.
//
// JSONL: one line per example, {"inputs": [...], "labels": [...]} (labels -100 where unscored).
//   The file does not carry vocab_size; read_dataset_jsonl leaves it 0.
// Binary ("SQBT"), every field little-endian:
//   offset  0  char[4]  magic "SQBT"
//           4  uint32   version (1)
//           8  uint64   num_examples
//          16  uint64   seq_len
//          24  uint32   vocab_size
//          28  uint32   reserved, 0
//          32  int32    inputs[num_examples * seq_len], example-major
//              int32    labels[num_examples * seq_len]
// Predictions JSONL: one line per example, {"predictions": [...]} with seq_len argmax token ids
//   (only the labelled positions are read by the scorer).
#pragma once
#include <cstdint>
#include <iosfwd>
#include <string>
#include <vector>

#include "datasets/token_dataset.h"

namespace seqbench {

constexpr uint32_t kTokenBinaryVersion = 1;

void write_dataset_jsonl(const TokenDataset& data, std::ostream& out);
void write_dataset_binary(const TokenDataset& data, std::ostream& out);

// Readers throw std::invalid_argument naming `origin` (a file name) and the line or byte offset
// of the first problem.
TokenDataset read_dataset_jsonl(std::istream& in, const std::string& origin);
TokenDataset read_dataset_binary(std::istream& in, const std::string& origin);

// `format` is "jsonl" or "bin"; throws std::invalid_argument for another format or an
// unwritable/unreadable path.
void write_dataset_file(const TokenDataset& data, const std::string& path, const std::string& format);
TokenDataset read_dataset_file(const std::string& path, const std::string& format);

// [num_examples * seq_len] predictions; the file must hold exactly num_examples lines of
// seq_len ids each.
std::vector<int32_t> read_predictions_jsonl(std::istream& in, int64_t num_examples, int64_t seq_len,
                                            const std::string& origin);
void write_predictions_jsonl(const std::vector<int32_t>& predictions, int64_t seq_len, std::ostream& out);

}  // namespace seqbench
