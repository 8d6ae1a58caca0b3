// Predictions made outside seqbench, to score: JSONL, one line per example,
//   {"id": "test-3", "predictions": [...]}
// with the example's id (datasets/dataset_export.h) and seq_len argmax token ids (only the
// labelled positions are read by the scorer). Lines may come in any order; they are matched to
// the split's examples by id, and every example needs exactly one line.
#pragma once
#include <cstdint>
#include <iosfwd>
#include <string>
#include <vector>

namespace seqbench {

// [num_examples * seq_len] predictions in the split's example order. Throws
// std::invalid_argument naming `origin` and the line for a malformed line, a row that is not
// seq_len long, or an id given twice; and, listing a few of each by id, when examples of the
// split have no line (missing) or lines name ids the split does not have (extra).
std::vector<int32_t> read_predictions_by_id(std::istream& in, const std::string& split, int64_t num_examples,
                                            int64_t seq_len, const std::string& origin);

// One line per row of `predictions`, the i-th with the id "<split>-<i>".
void write_predictions_jsonl(const std::vector<int32_t>& predictions, int64_t seq_len, const std::string& split,
                             std::ostream& out);

}  // namespace seqbench
