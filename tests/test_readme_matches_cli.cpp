// The README's exit codes and options match the binary: every option a command's --help lists is
// in the README's options table, and every flag the README's commands use exists.
#include <catch2/catch.hpp>

#include <fstream>
#include <iterator>
#include <map>
#include <regex>
#include <set>
#include <sstream>

#include "harness/cli.h"
#include "tests/cli_harness.h"

using Catch::Matchers::Contains;

namespace {

const std::vector<std::string> kCommands{"list",           "run",   "report", "compare", "gate",
                                         "dataset export", "score", "merge",  "slurm"};

std::string readme() {
  std::ifstream in(std::string(SEQBENCH_SOURCE_DIR) + "/README.md");
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

std::set<std::string> flags_in(const std::string& text) {
  std::set<std::string> flags;
  const std::regex flag(R"((^|[^a-z0-9-])(--[a-z][a-z0-9-]*))");
  for (auto it = std::sregex_iterator(text.begin(), text.end(), flag); it != std::sregex_iterator(); ++it)
    flags.insert((*it)[2]);
  return flags;
}

// The options of a command, from its --help (without --help itself).
std::set<std::string> help_flags(const std::string& command) {
  const std::string help = seqbench::testing::run_seqbench(command + " --help").output;
  const auto options = help.find("Options:");
  const auto footer = help.find("Example");
  std::set<std::string> flags = flags_in(help.substr(options, footer - options));
  flags.erase("--help");
  return flags;
}

// The README's options-table row of a command: the line starting "| `command".
std::string options_row(const std::string& text, const std::string& command) {
  const auto at = text.find("| `" + command);
  if (at == std::string::npos) return "";
  return text.substr(at, text.find('\n', at) - at);
}

}  // namespace

TEST_CASE("every option of every command is in the README's options table") {
  const std::string text = readme();
  REQUIRE_THAT(text, Contains("### Commands and options"));
  for (const std::string& command : kCommands) {
    INFO(command);
    const std::string row = options_row(text, command);
    REQUIRE_FALSE(row.empty());
    const std::set<std::string> documented = flags_in(row);
    for (const std::string& flag : help_flags(command)) {
      INFO(flag);
      CHECK(documented.count(flag) == 1);
    }
  }
}

TEST_CASE("every flag in the README's seqbench commands exists") {
  const std::string text = readme();
  // Each command line in a code block, continuation lines joined.
  std::istringstream lines(std::regex_replace(text, std::regex(R"(\\\n\s*)"), " "));
  int checked = 0;
  for (std::string line; std::getline(lines, line);) {
    std::smatch m;
    if (!std::regex_search(line, m, std::regex(R"(seqbench (list|run|report|compare|gate|dataset export|score|merge|slurm)( |$))")))
      continue;
    const std::string command = m[1];
    const std::set<std::string> known = help_flags(command);
    std::string rest = line.substr(m.position(0));
    rest = rest.substr(0, rest.find('#'));  // not the comment
    const auto next = rest.find("seqbench ", 9);  // a second command on the line is its own
    for (const std::string& flag : flags_in(rest.substr(0, next))) {
      if (flag == "--help" || flag == "--version") continue;
      INFO(line << "\n  flag " << flag);
      CHECK(known.count(flag) == 1);
      ++checked;
    }
  }
  CHECK(checked > 20);
}

TEST_CASE("the README's exit codes are the ones the binary uses and names in its help") {
  const std::string text = readme();
  const std::string table = text.substr(text.find("### Exit codes"), 2500);
  for (int code : {seqbench::kExitOk, seqbench::kExitRunFailed, seqbench::kExitBadInput, seqbench::kExitStoreError,
                   seqbench::kExitInterrupted}) {
    INFO(code);
    CHECK_THAT(table, Contains("| `" + std::to_string(code) + "` |"));
  }
  const std::string help = seqbench::testing::run_seqbench("--help").output;
  CHECK_THAT(help, Contains("0 ok") && Contains("1 a cell failed or the gate found a regression") &&
                       Contains("2 bad input") && Contains("3 results-store error") && Contains("130 interrupted"));
}
