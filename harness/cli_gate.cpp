#include <memory>
#include <stdexcept>

#include "harness/cli.h"
#include "harness/cli_commands.h"
#include "harness/cli_run_comparison.h"
#include "harness/cli_values.h"
#include "harness/output_file.h"
#include "reports/gate.h"
#include "reports/gate_ci_output.h"

namespace seqbench {
namespace {

struct GateFlags {
  std::string baseline, candidate, db = "seqbench.db", format = "md", output, summary, junit;
  bool force = false;
  std::string max_regression = "5%";
  GateOptions options;
};

}  // namespace

CommandHandler register_gate_command(CLI::App& app, CLI::App*& subcommand) {
  auto f = std::make_shared<GateFlags>();
  subcommand = add_command(
      app, "gate",
      "Fail (exit 1) when a candidate run regresses against a baseline beyond the allowed change and noise",
      "Example:\n  seqbench gate --baseline base.db --candidate new.db --max-regression 5% "
      "--summary gate.md --junit gate.xml");
  subcommand->add_option("--baseline", f->baseline, "Baseline run: RUN or latest (in --db), FILE.db or FILE.db:RUN")
      ->required();
  subcommand->add_option("--candidate", f->candidate, "Candidate run, the same forms")->required();
  add_run_db_option(*subcommand, f->db);
  subcommand->add_option("--max-regression", f->max_regression,
                         "Largest tolerated relative worsening of a timing, memory or throughput metric: 5% or 0.05 "
                         "(a bare number >= 1 is ambiguous and refused)")
      ->capture_default_str()
      ->check(as_validator([](const std::string& s) { parse_relative_amount(s); }, "PERCENT"));
  subcommand->add_option("--max-accuracy-drop", f->options.max_accuracy_drop,
                         "Largest tolerated absolute drop of a score (accuracy, exact match)")
      ->capture_default_str()
      ->check(as_validator([](const std::string& s) { parse_number_in(s, 0, 1); }, "0..1"));
  add_alpha_option(*subcommand, f->options.alpha);
  add_min_samples_option(*subcommand, f->options.min_samples);
  subcommand->add_flag("--allow-missing", f->options.allow_missing,
                       "Do not fail on cells or metrics the candidate lacks");
  add_table_format_option(*subcommand, f->format);
  add_only_option(*subcommand, f->options.only);
  add_output_option(*subcommand, f->output);
  subcommand->add_option("--summary", f->summary,
                         "Also write a short Markdown summary for a CI job page (e.g. $GITHUB_STEP_SUMMARY)");
  subcommand->add_option("--junit", f->junit, "Also write a JUnit XML report: one test per gated metric, "
                                              "each regression a failure");
  subcommand->add_flag("--force", f->force, "Overwrite existing output files (never a SQLite file)");
  return [f](const std::string&) {
    GateOptions options = f->options;
    options.max_regression = parse_relative_amount(f->max_regression);
    const LoadedRun baseline = load_run(parse_run_ref(f->baseline, f->db));
    const LoadedRun candidate = load_run(parse_run_ref(f->candidate, f->db));
    // Every output file is checked before any is written, so a refused one leaves no partial set.
    for (const auto& [path, flag] : {std::pair{f->output, "-o"}, {f->summary, "--summary"}, {f->junit, "--junit"}})
      if (!path.empty() && path != "-") check_output_path(path, f->force, flag);
    const GateResult result = gate_runs(baseline, candidate, options);
    write_text_output(render_gate(result, f->format), f->output, f->force);
    if (!f->summary.empty()) write_text_output(render_gate_summary(result), f->summary, f->force, "--summary");
    if (!f->junit.empty()) write_text_output(render_gate_junit(result), f->junit, f->force, "--junit");
    return static_cast<int>(result.passed() ? kExitOk : kExitRunFailed);
  };
}

}  // namespace seqbench
