#include <memory>

#include "harness/cli.h"
#include "harness/cli_commands.h"
#include "harness/cli_values.h"
#include "harness/output_file.h"
#include "reports/compare.h"

namespace seqbench {
namespace {

struct CompareFlags {
  std::string baseline, candidate, db = "seqbench.db", format = "md", output, threshold = "5%";
  bool force = false;
  CompareOptions options;
};

}  // namespace

CommandHandler register_compare_command(CLI::App& app, CLI::App*& subcommand) {
  auto f = std::make_shared<CompareFlags>();
  subcommand = add_command(
      app, "compare", "Compare two runs metric by metric: values, ratio, and whether the difference is beyond noise",
      "Example:\n  seqbench compare base.db new.db:2 --only prefill_ms --threshold 3%");
  subcommand->add_option("baseline", f->baseline, "Run A: RUN or latest (in --db), FILE.db (its latest run) or FILE.db:RUN")
      ->required();
  subcommand->add_option("candidate", f->candidate, "Run B, the same forms")->required();
  subcommand->add_option("--db", f->db, "SQLite results file for bare run ids")->capture_default_str();
  subcommand->add_option("--format", f->format, "md, csv or json")
      ->capture_default_str()
      ->check(CLI::IsMember({"md", "markdown", "csv", "json"}));
  subcommand->add_option("--alpha", f->options.alpha, "U test significance level (two-sided)")
      ->capture_default_str()
      ->check(as_validator([](const std::string& s) { parse_number_in(s, 1e-9, 1); }, "(0..1]"));
  subcommand->add_option("--threshold", f->threshold,
                         "Smallest relative change called better or worse (5% or 0.05); with enough repetitions the "
                         "U test must also find it beyond noise")
      ->capture_default_str()
      ->check(as_validator([](const std::string& s) { parse_relative_amount(s); }, "PERCENT"));
  subcommand->add_option("--min-samples", f->options.min_samples, "Repetitions per side needed for the U test")
      ->capture_default_str()
      ->check(as_validator([](const std::string& s) { parse_integer_in(s, 1, 1000000); }, "1..1000000"));
  subcommand->add_option("--only", f->options.only,
                         "Only metrics whose name contains this text (repeatable), e.g. --only prefill_ms --only accuracy");
  subcommand->add_option("-o,--output", f->output, "Write to this file instead of stdout (never over a results store)");
  subcommand->add_flag("--force", f->force, "Overwrite an existing output file (never a SQLite file)");
  return [f](const std::string&) {
    const LoadedRun a = load_run(parse_run_ref(f->baseline, f->db));
    const LoadedRun b = load_run(parse_run_ref(f->candidate, f->db));
    CompareOptions options = f->options;
    options.threshold = parse_relative_amount(f->threshold);
    write_text_output(render_comparison(compare_runs(a, b, options), f->format), f->output, f->force);
    return static_cast<int>(kExitOk);
  };
}

}  // namespace seqbench
