#include "reports/metric_catalog.h"

#include <algorithm>
#include <cstdio>
#include <stdexcept>

#include "harness/enum_names.h"

namespace seqbench {
namespace {

constexpr auto kLower = MetricDirection::lower_is_better;
constexpr auto kHigher = MetricDirection::higher_is_better;
constexpr auto kInfo = MetricDirection::informational;

// The order is the order `seqbench list metrics` prints and reports use for their columns.
const std::vector<MetricInfo> kCatalog{
    // Scores of a trained model (harness/cell_runner.cpp), one per test split.
    {"accuracy", {"", "@len<N>", "@kv<N>"}, "fraction", kHigher, MetricKind::score,
     "labelled positions predicted right on the test split (at the trained length, or at N tokens; "
     "@kv<N>: the test segment with N kv pairs, whose mean is the split's accuracy)", ""},
    {"exact_match", {"", "@len<N>"}, "fraction", kHigher, MetricKind::score,
     "test examples whose every labelled position is right (passkey, needle answers)", ""},

    // Profiler timings (harness/profiler.cpp): medians of repetitions, stored with every sample.
    {"prefill_ms", {"@len<N>"}, "ms", kLower, MetricKind::timing,
     "prefill of `batch` sequences of N tokens: cache built, last logits", ""},
    {"prefill_tokens_per_s", {"@len<N>"}, "tokens/s", kHigher, MetricKind::timing,
     "batch * N / prefill time, per repetition", "prefill_ms"},
    {"decode_ms_per_token", {"@ctx<N>"}, "ms", kLower, MetricKind::timing,
     "one decode step after a prefill of N tokens (mean of decode_tokens steps)", ""},
    {"decode_tokens_per_s", {"@ctx<N>"}, "tokens/s", kHigher, MetricKind::timing, "batch / decode step time",
     "decode_ms_per_token"},
    {"prefill_tflops", {"@len<N>"}, "TFLOP/s", kHigher, MetricKind::timing,
     "the model's prefill FLOPs (SequenceModel::work: mixers, MLPs, the head on the last positions) / prefill time",
     "prefill_ms"},
    {"prefill_gb_per_s", {"@len<N>"}, "GB/s", kHigher, MetricKind::timing,
     "the model's prefill bytes read and written (SequenceModel::work) / prefill time", "prefill_ms"},
    {"decode_tflops", {"@ctx<N>"}, "TFLOP/s", kHigher, MetricKind::timing,
     "one decode step's FLOPs after N tokens (SequenceModel::work) / step time", "decode_ms_per_token"},
    {"decode_gb_per_s", {"@ctx<N>"}, "GB/s", kHigher, MetricKind::timing,
     "one decode step's bytes after N tokens: caches or states, weights, activations / step time",
     "decode_ms_per_token"},
    {"train_step_ms", {""}, "ms", kLower, MetricKind::timing,
     "forward + backward + the fused AdamW step (which zeroes the gradients) on one training batch", ""},
    {"train_tokens_per_s", {""}, "tokens/s", kHigher, MetricKind::timing,
     "training tokens per second: from the profiled step when profiled, else the training loop's mean",
     "train_step_ms"},
    {"train_tflops", {""}, "TFLOP/s", kHigher, MetricKind::timing,
     "forward + backward FLOPs of a training step (SequenceModel::work, the head at every position) / step time",
     "train_step_ms"},
    {"train_gb_per_s", {""}, "GB/s", kHigher, MetricKind::timing,
     "forward + backward bytes of a training step (SequenceModel::work) / step time", "train_step_ms"},
    // The rates above over the machine's limits measured in the same process (harness/machine_limits.h:
    // a large device copy; a square matmul, bf16 operands on the GPU, fp32 on the CPU). Derived from the
    // timings, so informational: a gate holds the timings themselves.
    {"prefill_compute_fraction", {"@len<N>"}, "fraction", kInfo, MetricKind::informational,
     "prefill_tflops / the machine's measured matmul TFLOP/s", ""},
    {"prefill_bandwidth_fraction", {"@len<N>"}, "fraction", kInfo, MetricKind::informational,
     "prefill_gb_per_s / the machine's measured copy GB/s", ""},
    {"decode_compute_fraction", {"@ctx<N>"}, "fraction", kInfo, MetricKind::informational,
     "decode_tflops / the machine's measured matmul TFLOP/s", ""},
    {"decode_bandwidth_fraction", {"@ctx<N>"}, "fraction", kInfo, MetricKind::informational,
     "decode_gb_per_s / the machine's measured copy GB/s", ""},
    {"train_compute_fraction", {""}, "fraction", kInfo, MetricKind::informational,
     "train_tflops / the machine's measured matmul TFLOP/s", ""},
    {"train_bandwidth_fraction", {""}, "fraction", kInfo, MetricKind::informational,
     "train_gb_per_s / the machine's measured copy GB/s", ""},

    // Micro-benchmarks (bench/store_reporter.cpp): per-iteration times and Google Benchmark counters.
    {"real_time_ms", {""}, "ms", kLower, MetricKind::timing, "micro-benchmark wall (or manual) time per iteration",
     ""},
    {"cpu_time_ms", {""}, "ms", kLower, MetricKind::timing, "micro-benchmark process CPU time per iteration", ""},
    {"tokens_per_s", {""}, "tokens/s", kHigher, MetricKind::timing, "micro-benchmark tokens processed per second",
     "real_time_ms"},
    {"flops_per_s", {""}, "FLOP/s", kHigher, MetricKind::timing,
     "micro-benchmark floating-point operations per second (FlashAttention's counting)", "real_time_ms"},
    {"bytes_per_s", {""}, "bytes/s", kHigher, MetricKind::timing, "micro-benchmark bytes read and written per second",
     "real_time_ms"},
    {"items_per_s", {""}, "items/s", kHigher, MetricKind::timing, "micro-benchmark items processed per second",
     "real_time_ms"},

    // GPU kernel benchmark (bench_gpu/, seqbench_gpu_bench --db): one cell per kernel row (task gpu_kernel,
    // its key in the parameters) and per anchor timed on the same shape in the same run (task gpu_anchor).
    // FLOPs and bytes as ops/work_count.h counts them; limits are the run's own ceiling rows.
    {"kernel_ms", {""}, "ms", kLower, MetricKind::timing,
     "one kernel call: CUDA-event median, L2 flushed before each repetition", ""},
    {"kernel_tflops", {""}, "TFLOP/s", kHigher, MetricKind::timing, "kernel FLOPs / time", "kernel_ms"},
    {"kernel_gb_per_s", {""}, "GB/s", kHigher, MetricKind::timing, "kernel bytes read and written / time", "kernel_ms"},
    {"kernel_compute_fraction", {""}, "fraction", kHigher, MetricKind::timing,
     "kernel FLOP rate over the bf16 GEMM rate measured in the same run", "kernel_ms"},
    {"kernel_bandwidth_fraction", {""}, "fraction", kHigher, MetricKind::timing,
     "kernel bandwidth over the device copy bandwidth measured in the same run", "kernel_ms"},
    {"speed_vs_anchor", {""}, "x", kHigher, MetricKind::timing,
     "fastest anchor's time on the same shape / ours, both from the same run", "kernel_ms"},
    {"anchor_ms", {""}, "ms", kInfo, MetricKind::timing,
     "a public implementation (PyTorch SDPA, flash-linear-attention, mamba_ssm) on the row's shape, same run; "
     "not gated (not ours)", ""},
    {"anchor_tflops", {""}, "TFLOP/s", kInfo, MetricKind::timing, "anchor FLOPs (counted as ours) / time", ""},
    {"anchor_gb_per_s", {""}, "GB/s", kInfo, MetricKind::timing, "anchor bytes (its element types) / time",
     ""},

    // Memory.
    {"state_bytes", {"", "@len<N>"}, "bytes", kLower, MetricKind::memory,
     "decode state per sequence by the Zoology/Based formula (at the task's length, or at N tokens)", ""},
    {"kv_bytes", {"@len<N>"}, "bytes", kLower, MetricKind::memory,
     "decode state per sequence as the allocator sees it after a prefill of N tokens", ""},
    {"peak_mem_bytes", {"@prefill<N>", "@decode<N>", "@train"}, "bytes", kLower, MetricKind::memory,
     "peak bytes held during a phase: prefill of N tokens, decode after N, or one training step", ""},

    // Shared-context sessions (harness/scenarios/): one row per turn (the store's turn column, 1..T) and the
    // session aggregate, the mean over turns, at turn 0.
    {"answer_exact_match", {""}, "fraction", kHigher, MetricKind::score,
     "sessions whose turn answer is right in every token (greedy decoding; SCBench's string match)", ""},
    {"answer_token_accuracy", {""}, "fraction", kHigher, MetricKind::score,
     "answer tokens decoded right (each compared with the golden token at its place)", ""},
    {"needle_retained", {"", "@layer<N>", "@depth<N>"}, "fraction", kHigher, MetricKind::score,
     "context tokens of the record a turn asks for still in the KV cache after the turn, over heads and sessions: "
     "mean over attention layers, at attention layer N (from 1), or for records ending in the N% depth bin", ""},
    {"turn_prefill_ms", {""}, "ms", kLower, MetricKind::timing,
     "prefill of the turn's new tokens for the batch of sessions (the context too where the turn prefills it), "
     "compression excluded", ""},
    {"context_prefill_ms", {""}, "ms", kLower, MetricKind::timing,
     "multi-request: prefill of the shared context, once for all queries, compression excluded", ""},
    {"turn_decode_ms_per_token", {""}, "ms", kLower, MetricKind::timing,
     "one greedy decode step of the turn's answer for the batch of sessions", ""},
    {"compress_ms", {""}, "ms", kLower, MetricKind::timing,
     "eviction after a prefill: attention mass of the evidence, ranking and compaction of every attention layer", ""},
    {"restore_ms", {""}, "ms", kLower, MetricKind::timing,
     "snapshots and restores of every layer's cache or state: multi-request's per query, multi-turn's rollback of "
     "decoded tokens", ""},
    {"kept_tokens", {""}, "tokens", kLower, MetricKind::memory,
     "tokens an attention layer's KV cache holds after the turn, per sequence and head, mean over attention layers", ""},
    {"session_kv_bytes", {""}, "bytes", kLower, MetricKind::memory,
     "decode state per sequence after the turn: kept keys and values (KIVI: packed codes, scales and the "
     "full-precision residual; Quest: plus page bounds) and recurrent layers' state", ""},
    {"session_peak_mem_bytes", {""}, "bytes", kLower, MetricKind::memory,
     "peak bytes held during the turn: model, caches, snapshots and workspaces", ""},
    {"context_tokens", {""}, "tokens", kInfo, MetricKind::informational, "tokens of a session's shared context", ""},

    // Outcomes of training that explain a result but are not what a change is judged on.
    {"train_loss", {""}, "nats", kInfo, MetricKind::informational,
     "mean training cross-entropy of the last epoch (best learning rate)", ""},
    {"valid_accuracy", {""}, "fraction", kInfo, MetricKind::informational,
     "accuracy of the kept model on the valid split, which chose the learning rate and stopped training "
     "(the test split's is `accuracy`)", ""},
    {"best_lr", {""}, "lr", kInfo, MetricKind::informational,
     "learning rate kept from the cell's lr sweep (highest valid accuracy)", ""},
    {"lrs_diverged", {""}, "count", kInfo, MetricKind::informational,
     "learning rates of the cell's sweep whose training loss turned non-finite (lr_sweep in the cell's "
     "parameters has the step)", ""},
    {"train_seconds", {""}, "s", kInfo, MetricKind::informational, "wall time training the kept model", ""},
    {"train_steps", {""}, "steps", kInfo, MetricKind::informational, "optimizer steps of the kept model", ""},
    {"parameters", {""}, "count", kInfo, MetricKind::informational, "trainable parameters of the model", ""},
};

// True when suffix matches pattern, where "<N>" in the pattern stands for a positive integer.
bool suffix_matches(const std::string& suffix, const std::string& pattern) {
  const auto hole = pattern.find("<N>");
  if (hole == std::string::npos) return suffix == pattern;
  const std::string head = pattern.substr(0, hole), tail = pattern.substr(hole + 3);
  if (suffix.size() <= head.size() + tail.size() || suffix.compare(0, head.size(), head) != 0 ||
      suffix.compare(suffix.size() - tail.size(), tail.size(), tail) != 0)
    return false;
  const std::string digits = suffix.substr(head.size(), suffix.size() - head.size() - tail.size());
  return digits.find_first_not_of("0123456789") == std::string::npos && digits[0] != '0';
}

std::string joined_suffixes(const MetricInfo& info) {
  std::string out;
  for (const auto& s : info.suffixes) out += (out.empty() ? "" : " | ") + (s.empty() ? "(none)" : s);
  return out;
}

}  // namespace

const std::vector<MetricInfo>& metric_catalog() { return kCatalog; }

std::string metric_base_name(const std::string& name) { return name.substr(0, name.find('@')); }

const MetricInfo* find_metric_info(const std::string& name) {
  const std::string base = metric_base_name(name);
  for (const MetricInfo& info : kCatalog)
    if (info.name == base) return &info;
  return nullptr;
}

const MetricInfo& checked_metric_info(const std::string& name) {
  const MetricInfo* info = find_metric_info(name);
  if (!info)
    throw std::invalid_argument("metric '" + name + "' is not in the metric catalog (reports/metric_catalog.cpp); " +
                                "add it there with its unit and direction (`seqbench list metrics` shows the list)");
  const std::string suffix = name.substr(metric_base_name(name).size());
  const bool ok = std::any_of(info->suffixes.begin(), info->suffixes.end(),
                              [&](const std::string& pattern) { return suffix_matches(suffix, pattern); });
  if (!ok)
    throw std::invalid_argument("metric '" + name + "': the catalog writes " + info->name + " with suffix " +
                                joined_suffixes(*info) + ", not '" + suffix + "'");
  return *info;
}

MetricDirection metric_direction(const std::string& name) {
  const MetricInfo* info = find_metric_info(name);
  return info ? info->direction : MetricDirection::informational;
}

bool is_score_metric(const std::string& name) {
  const MetricInfo* info = find_metric_info(name);
  return info && info->kind == MetricKind::score;
}

std::string rate_timing_partner(const std::string& name) {
  const MetricInfo* info = find_metric_info(name);
  if (!info || info->rate_of.empty()) return "";
  return info->rate_of + name.substr(metric_base_name(name).size());
}

const char* direction_name(MetricDirection direction) {
  static constexpr EnumName<MetricDirection> kNames[] = {{MetricDirection::lower_is_better, "lower is better"},
                                                         {MetricDirection::higher_is_better, "higher is better"},
                                                         {MetricDirection::informational, "informational"}};
  return name_in(kNames, direction, "unknown");
}

const char* kind_name(MetricKind kind) {
  static constexpr EnumName<MetricKind> kNames[] = {{MetricKind::score, "score"},
                                                    {MetricKind::timing, "timing"},
                                                    {MetricKind::memory, "memory"},
                                                    {MetricKind::informational, "informational"}};
  return name_in(kNames, kind, "unknown");
}

std::string render_metric_catalog() {
  std::vector<std::string> names;
  size_t name_width = 4, unit_width = 4;
  for (const MetricInfo& info : kCatalog) {
    std::string shown = info.name;
    for (const auto& s : info.suffixes)
      if (!s.empty()) shown += (shown.size() == info.name.size() ? "[" : "|") + s;
    if (shown.size() > info.name.size()) shown += "]";
    name_width = std::max(name_width, shown.size());
    unit_width = std::max(unit_width, info.unit.size());
    names.push_back(shown);
  }
  std::string out;
  char line[512];
  std::snprintf(line, sizeof line, "%-*s  %-*s  %-16s  %-13s  %s\n", static_cast<int>(name_width), "name",
                static_cast<int>(unit_width), "unit", "direction", "kind", "description");
  out += line;
  for (size_t i = 0; i < kCatalog.size(); ++i) {
    const MetricInfo& info = kCatalog[i];
    std::string description = info.description;
    if (!info.rate_of.empty()) description += " (one measurement with " + info.rate_of + ")";
    std::snprintf(line, sizeof line, "%-*s  %-*s  %-16s  %-13s  %s\n", static_cast<int>(name_width),
                  names[i].c_str(), static_cast<int>(unit_width), info.unit.c_str(), direction_name(info.direction),
                  kind_name(info.kind), description.c_str());
    out += line;
  }
  return out;
}

}  // namespace seqbench
