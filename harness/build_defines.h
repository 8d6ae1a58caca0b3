// The build facts CMake passes to seqbench_cli (harness/CMakeLists.txt: source directory, build
// type, version, compiler flags) as string macros, with the fallbacks a compile without them (an
// editor's own, a linter) uses. Read by `seqbench --version` and the environment record of a run.
#pragma once

#ifndef SEQBENCH_SOURCE_DIR_STRING
#define SEQBENCH_SOURCE_DIR_STRING "."
#endif
#ifndef SEQBENCH_BUILD_TYPE
#define SEQBENCH_BUILD_TYPE ""
#endif
#ifndef SEQBENCH_VERSION
#define SEQBENCH_VERSION "unknown"
#endif
#ifndef SEQBENCH_BUILD_FLAGS
#define SEQBENCH_BUILD_FLAGS ""
#endif
