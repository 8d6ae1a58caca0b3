// What the device allocator saw while this thread records a CUDA graph (ops/cuda/recorded_work.cu).
// A block allocated during the recording belongs to the graph and is freed inside it as usual. A
// block allocated before the recording and dropped during it cannot be freed inside the graph (the
// graph may read it earlier on): its free is held back here, and the recorder frees it once the
// recorded work has been launched, or once it has run as it is.
#pragma once
#include <unordered_set>
#include <vector>

namespace seqbench {

struct CaptureLedger {
  bool recording = false;
  std::unordered_set<void*> allocated;  // blocks allocated while recording
  std::vector<void*> held_frees;        // blocks from before the recording, dropped while recording
};

// This thread's ledger (a recording never spans threads: capture mode is thread-local).
CaptureLedger& capture_ledger();

}  // namespace seqbench
