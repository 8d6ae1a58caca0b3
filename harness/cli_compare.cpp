#include <memory>

#include "harness/cli.h"
#include "harness/cli_commands.h"
#include "harness/cli_run_comparison.h"
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
  add_run_db_option(*subcommand, f->db);
  add_table_format_option(*subcommand, f->format);
  add_alpha_option(*subcommand, f->options.alpha);
  subcommand->add_option("--threshold", f->threshold,
                         "Smallest relative change called better or worse (5% or 0.05); with enough repetitions the "
                         "U test must also find it beyond noise")
      ->capture_default_str()
      ->check(as_validator([](const std::string& s) { parse_relative_amount(s); }, "PERCENT"));
  add_min_samples_option(*subcommand, f->options.min_samples);
  add_only_option(*subcommand, f->options.only);
  add_output_option(*subcommand, f->output);
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
