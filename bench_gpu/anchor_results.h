// The anchors' timings as bench_gpu/anchor_kernels.py writes them (one JSON file, measured in the
// same device session just before seqbench_gpu_bench), and the lookup that pairs each of our rows
// with the anchors measured on the same shape.
//
// File format: {"device": "...", "versions": {...}, "rows": [ROW, ...]}, each ROW
//   {"key": "softmax.fwd.L4096", "impl": "torch-sdpa-cudnn", "ms": 1.23, "samples_ms": [...]}
// or, when the anchor could not run (module missing, a backward Triton cannot compile),
//   {"key": ..., "impl": ..., "error": "message"}.
// Keys are <family>.<pass>.L<length> (decode: <family>.decode.B<batch>.L<length>); the C++ rows
// name the same key as their anchor_key.
#pragma once
#include <string>
#include <vector>

namespace seqbench {

struct AnchorResult {
  std::string key;                 // the shape and pass it measured
  std::string impl;                // which implementation: torch-sdpa-flash2, fla-chunk_gla, ...
  double ms = 0;                   // median; 0 when error is set
  std::vector<double> samples_ms;  // the repetitions (just {ms} when the file lists none)
  std::string error;               // why it did not run; "" when it did
};

struct AnchorFile {
  std::string device;
  std::string versions;  // the "versions" object as JSON text (torch, triton, fla, mamba_ssm)
  std::vector<AnchorResult> rows;
};

// Throws std::invalid_argument naming the row and field when the text is not such a file (a row
// without key or impl, a time that is not a positive number, both a time and an error, ...).
AnchorFile parse_anchor_file(const std::string& json_text);
// Reads and parses the file; the exception names the path.
AnchorFile read_anchor_file(const std::string& path);

// Every anchor measured for `key`, in file order (failed ones included).
std::vector<const AnchorResult*> anchors_for(const AnchorFile& file, const std::string& key);
// The fastest anchor that ran for `key`, or nullptr when none did: ours / anchor is judged
// against the best public implementation on this machine.
const AnchorResult* fastest_anchor(const AnchorFile& file, const std::string& key);

}  // namespace seqbench
