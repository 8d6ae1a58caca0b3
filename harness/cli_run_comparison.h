// The flags `seqbench compare` and `seqbench gate` share, written once so that their wording and
// their checks cannot drift apart: where bare run ids live, the output format and file, the U
// test's settings, and the metric filter.
#pragma once
#include <CLI/CLI.hpp>
#include <string>
#include <vector>

namespace seqbench {

void add_run_db_option(CLI::App& command, std::string& db);           // --db, for bare run ids
void add_table_format_option(CLI::App& command, std::string& format);  // --format md, csv or json
void add_alpha_option(CLI::App& command, double& alpha);              // --alpha, in (0, 1]
void add_min_samples_option(CLI::App& command, int& min_samples);     // --min-samples, per side
void add_only_option(CLI::App& command, std::vector<std::string>& only);
void add_output_option(CLI::App& command, std::string& output);  // -o, --output; stdout without it

}  // namespace seqbench
