#include <memory>

#include "harness/cli.h"
#include "harness/cli_commands.h"
#include "harness/cli_run_comparison.h"
#include "harness/output_file.h"
#include "reports/leaderboard.h"
#include "reports/run_matching.h"

namespace seqbench {
namespace {

struct ReportFlags {
  std::string db = "seqbench.db", format = "md", output;
  bool force = false;
  std::string run = "latest";
};

}  // namespace

CommandHandler register_report_command(CLI::App& app, CLI::App*& subcommand) {
  auto f = std::make_shared<ReportFlags>();
  subcommand = add_command(app, "report", "Print the leaderboard of a run (default: the latest)",
                           "Examples:\n  seqbench report --db results.db --run latest\n"
                           "  seqbench report --db results.db --run 3 --format html -o run3.html");
  subcommand->add_option("--db", f->db, "SQLite results file")->capture_default_str();
  subcommand->add_option("--run", f->run, "Run: RUN or latest (in --db), FILE.db (its latest run) or FILE.db:RUN")
      ->capture_default_str();
  subcommand->add_option("--format", f->format, "md, csv, json or html (one self-contained page with plots)")
      ->capture_default_str()
      ->check(CLI::IsMember({"md", "markdown", "csv", "json", "html"}));
  add_output_option(*subcommand, f->output);
  subcommand->add_flag("--force", f->force, "Overwrite an existing output file (never a SQLite file)");
  return [f](const std::string&) {
    const RunRef ref = parse_run_ref(f->run, f->db);
    ResultsStore store(ref.db_path, StoreAccess::read_only);
    write_text_output(render_leaderboard(load_leaderboard(store, ref.run_id), f->format), f->output, f->force);
    return static_cast<int>(kExitOk);
  };
}

}  // namespace seqbench
