// `seqbench dataset export`: one split of a task instance written for use outside seqbench. Two
// files: the data (JSONL or SQBT binary, datasets/dataset_export.h; every example has the id
// "<split>-<index>") and, beside it, "<data file>.meta.json" describing it:
//   {"format": "seqbench-split", "version": 1,
//    "task": "passkey", "params": {...every parameter, resolved}, "seed": 0, "split": "test",
//    "data_file": "passkey.jsonl", "data_format": "jsonl",
//    "num_examples": 1000, "seq_len": 256, "vocab_size": 554,
//    "ids": "test-0 .. test-999",
//    "labels": "...what a label at position t means...",
//    "vocabulary": {...}}          // what the token ids mean (tasks/token_vocabulary.h)
// task, params, seed and split are what `seqbench score` needs to regenerate the split; the
// predictions then name their examples by id (datasets/predictions_jsonl.h).
#pragma once
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "tasks/task.h"

namespace seqbench {

std::string split_description_path(const std::string& data_path);  // data_path + ".meta.json"

nlohmann::json split_description(const TaskInstance& instance, const std::string& split, const TokenDataset& data,
                                 uint64_t seed, const std::string& data_path, const std::string& format);

}  // namespace seqbench
