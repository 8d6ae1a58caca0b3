#include "harness/cli_run_comparison.h"

#include "harness/cli_values.h"

namespace seqbench {

void add_run_db_option(CLI::App& command, std::string& db) {
  command.add_option("--db", db, "SQLite results file for bare run ids")->capture_default_str();
}

void add_table_format_option(CLI::App& command, std::string& format) {
  command.add_option("--format", format, "md, csv or json")
      ->capture_default_str()
      ->check(CLI::IsMember({"md", "markdown", "csv", "json"}));
}

void add_alpha_option(CLI::App& command, double& alpha) {
  command.add_option("--alpha", alpha, "U test significance level (two-sided)")
      ->capture_default_str()
      ->check(as_validator([](const std::string& s) { parse_number_in(s, 1e-9, 1); }, "(0..1]"));
}

void add_min_samples_option(CLI::App& command, int& min_samples) {
  command.add_option("--min-samples", min_samples, "Repetitions per side needed for the U test")
      ->capture_default_str()
      ->check(as_validator([](const std::string& s) { parse_integer_in(s, 1, 1000000); }, "1..1000000"));
}

void add_only_option(CLI::App& command, std::vector<std::string>& only) {
  command.add_option("--only", only,
                     "Only metrics whose name contains this text (repeatable), e.g. --only prefill_ms --only accuracy");
}

void add_output_option(CLI::App& command, std::string& output) {
  command.add_option("-o,--output", output, "Write to this file instead of stdout (never over a results store)");
}

}  // namespace seqbench
