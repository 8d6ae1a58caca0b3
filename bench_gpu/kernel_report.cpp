#include "bench_gpu/kernel_report.h"

#include <algorithm>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <stdexcept>

namespace seqbench {
namespace {

std::string format(const char* pattern, double value) {
  char text[64];
  std::snprintf(text, sizeof text, pattern, value);
  return text;
}

// "41% / 12%" of the compute and bandwidth limits; "-" for a limit not measured.
std::string fractions_text(const KernelFigures& f, const DeviceLimits& limits) {
  const std::string compute = limits.tflops > 0 ? format("%.0f%%", 100 * f.compute_fraction) : "-";
  const std::string bandwidth = limits.gb_per_s > 0 ? format("%.0f%%", 100 * f.bandwidth_fraction) : "-";
  return compute + " / " + bandwidth;
}

std::string csv_field(const std::string& text) {
  if (text.find_first_of(",\"\n") == std::string::npos) return text;
  std::string quoted = "\"";
  for (char c : text) quoted += c == '"' ? std::string("\"\"") : std::string(1, c);
  return quoted + "\"";
}

nlohmann::json figures_json(const KernelFigures& f) {
  return {{"ms", f.ms},
          {"tflops", f.tflops},
          {"gb_per_s", f.gb_per_s},
          {"compute_fraction", f.compute_fraction},
          {"bandwidth_fraction", f.bandwidth_fraction}};
}

}  // namespace

double median_ms(const AnchorRow& row) {
  if (row.samples_ms.empty()) throw std::invalid_argument("kernel row '" + row.key + "' has no timed repetitions");
  std::vector<double> s = row.samples_ms;
  std::sort(s.begin(), s.end());
  const size_t n = s.size();
  return n % 2 ? s[n / 2] : 0.5 * (s[n / 2 - 1] + s[n / 2]);
}

DeviceLimits measured_limits(const std::vector<AnchorRow>& rows, const AnchorFile& anchors) {
  DeviceLimits limits;
  auto consider = [&](const std::string& key, const WorkCount& work, double ms) {
    if (key == "ceiling.gemm") limits.tflops = std::max(limits.tflops, tflops_per_s(work, ms));
    if (key == "ceiling.copy") limits.gb_per_s = std::max(limits.gb_per_s, gb_per_s(work, ms));
  };
  for (const AnchorRow& row : rows) {
    consider(row.key, row.work, median_ms(row));
    if (const AnchorResult* a = fastest_anchor(anchors, row.anchor_key)) consider(row.key, row.anchor_work, a->ms);
  }
  return limits;
}

KernelFigures kernel_figures(const WorkCount& work, double ms, const DeviceLimits& limits) {
  KernelFigures f;
  f.ms = ms;
  f.tflops = tflops_per_s(work, ms);
  f.gb_per_s = gb_per_s(work, ms);
  if (limits.tflops > 0) f.compute_fraction = f.tflops / limits.tflops;
  if (limits.gb_per_s > 0) f.bandwidth_fraction = f.gb_per_s / limits.gb_per_s;
  return f;
}

std::vector<ReportLine> report_lines(const std::vector<AnchorRow>& rows, const AnchorFile& anchors,
                                     const DeviceLimits& limits) {
  std::vector<ReportLine> lines;
  for (const AnchorRow& row : rows) {
    ReportLine line;
    line.row = &row;
    line.ours = kernel_figures(row.work, median_ms(row), limits);
    line.anchor = fastest_anchor(anchors, row.anchor_key);
    if (line.anchor) {
      line.theirs = kernel_figures(row.anchor_work, line.anchor->ms, limits);
      line.speed = line.anchor->ms / line.ours.ms;
    } else if (row.anchor_key.empty()) {
      line.anchor_note = "no public anchor for this kernel";
    } else if (anchors.rows.empty()) {
      line.anchor_note = "no anchor file";
    } else {
      const auto tried = anchors_for(anchors, row.anchor_key);
      line.anchor_note = tried.empty() ? "anchor file has no '" + row.anchor_key + "'"
                                       : tried.front()->impl + " failed: " + tried.front()->error.substr(0, 120);
    }
    lines.push_back(line);
  }
  return lines;
}

std::string markdown_report(const std::vector<ReportLine>& lines, const DeviceLimits& limits) {
  std::string out =
      "| kernel | shape | dtype | ms | TFLOP/s | GB/s | of limits (FLOP / bytes) | anchor | anchor ms | anchor TFLOP/s "
      "| ours / anchor speed |\n|---|---|---|---|---|---|---|---|---|---|---|\n";
  std::vector<std::string> notes;
  for (const ReportLine& l : lines) {
    const AnchorRow& r = *l.row;
    out += "| " + r.what + " | " + r.shape + " | " + r.dtype + " | " + format("%.3f", l.ours.ms) + " | " +
           format("%.1f", l.ours.tflops) + " | " + format("%.0f", l.ours.gb_per_s) + " | " +
           fractions_text(l.ours, limits) + " | ";
    if (l.anchor) {
      out += l.anchor->impl + " | " + format("%.3f", l.theirs.ms) + " | " + format("%.1f", l.theirs.tflops) + " | " +
             format("%.2fx", l.speed) + " |\n";
    } else {
      out += "- | - | - | - |\n";
      if (!r.anchor_key.empty()) notes.push_back(r.key + ": " + l.anchor_note);
    }
  }
  out += "\nlimits measured in this run: bf16 GEMM " + format("%.1f", limits.tflops) + " TFLOP/s, copy " +
         format("%.0f", limits.gb_per_s) + " GB/s\n";
  if (!notes.empty()) {
    out += "rows without an anchor figure:\n";
    for (const std::string& n : notes) out += "  " + n + "\n";
  }
  return out;
}

std::string csv_report(const std::vector<ReportLine>& lines) {
  std::string out =
      "key,anchor_key,family,what,shape,dtype,ms,tflops,gb_per_s,compute_fraction,bandwidth_fraction,"
      "anchor_impl,anchor_ms,anchor_tflops,anchor_gb_per_s,speed_vs_anchor,anchor_note\n";
  for (const ReportLine& l : lines) {
    const AnchorRow& r = *l.row;
    out += csv_field(r.key) + "," + csv_field(r.anchor_key) + "," + csv_field(r.family) + "," + csv_field(r.what) +
           "," + csv_field(r.shape) + "," + r.dtype;
    for (double v : {l.ours.ms, l.ours.tflops, l.ours.gb_per_s, l.ours.compute_fraction, l.ours.bandwidth_fraction})
      out += "," + format("%.6g", v);
    out += "," + csv_field(l.anchor ? l.anchor->impl : "");
    for (double v : {l.theirs.ms, l.theirs.tflops, l.theirs.gb_per_s, l.speed})
      out += "," + (l.anchor ? format("%.6g", v) : std::string());
    out += "," + csv_field(l.anchor_note) + "\n";
  }
  return out;
}

std::string json_report(const std::vector<ReportLine>& lines, const DeviceLimits& limits) {
  nlohmann::json rows = nlohmann::json::array();
  for (const ReportLine& l : lines) {
    const AnchorRow& r = *l.row;
    nlohmann::json row = {{"key", r.key},       {"anchor_key", r.anchor_key}, {"family", r.family},
                          {"what", r.what},     {"shape", r.shape},           {"dtype", r.dtype},
                          {"flops", r.work.flops}, {"bytes", r.work.bytes},   {"samples_ms", r.samples_ms},
                          {"ours", figures_json(l.ours)}};
    if (l.anchor) {
      row["anchor"] = figures_json(l.theirs);
      row["anchor"]["impl"] = l.anchor->impl;
      row["speed_vs_anchor"] = l.speed;
    } else {
      row["anchor_note"] = l.anchor_note;
    }
    rows.push_back(row);
  }
  return nlohmann::json{{"limits", {{"tflops", limits.tflops}, {"gb_per_s", limits.gb_per_s}}}, {"rows", rows}}
             .dump(1) + "\n";
}

}  // namespace seqbench
