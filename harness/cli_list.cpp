#include <iostream>
#include <memory>

#include "harness/cli.h"
#include "harness/cli_commands.h"
#include "harness/suites.h"
#include "models/mixer_registry.h"
#include "reports/metric_catalog.h"
#include "tasks/task.h"

namespace seqbench {

CommandHandler register_list_command(CLI::App& app, CLI::App*& subcommand) {
  auto what = std::make_shared<std::string>("all");
  subcommand = add_command(app, "list", "List mixer backends, tasks, built-in suites and metrics",
                           "Example:\n  seqbench list metrics      # every metric: unit, which way is better, kind");
  subcommand->add_option("what", *what, "What to list")->check(CLI::IsMember({"all", "backends", "tasks", "suites", "metrics"}));
  return [what](const std::string&) {
    if (*what == "all" || *what == "backends") {
      std::cout << "backends:\n";
      for (const auto& b : mixer_backends()) {
        std::cout << "  " << b.name << "  " << b.description << "\n";
        for (const MixerParamInfo& p : b.params)
          std::cout << "    " << p.name << " = " << (p.default_value.is_null() ? "(see meaning)" : p.default_value.dump())
                    << "  " << p.meaning << "\n";
        std::cout << "    short_conv = K  a short causal depthwise conv of width K in front (any backend)\n";
      }
      std::cout << "  (hybrids: a comma-separated layer pattern, e.g. \"linear,softmax\"; parameters of one kind go "
                   "under its name)\n";
    }
    if (*what == "all" || *what == "tasks") {
      std::cout << "tasks:\n";
      for (const auto& t : task_definitions())
        std::cout << "  " << t.name << "  " << t.description << "\n    defaults: " << t.defaults.dump() << "\n";
    }
    if (*what == "all" || *what == "suites") {
      std::cout << "suites:\n";
      for (const auto& s : builtin_suites()) std::cout << "  " << s.name << "  " << s.description << "\n";
    }
    if (*what == "metrics") std::cout << render_metric_catalog();
    return static_cast<int>(kExitOk);
  };
}

}  // namespace seqbench
