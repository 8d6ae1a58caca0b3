// Writing a command's output file (report/compare/gate -o, gate --summary and --junit, dataset
// export -o) without losing data: a SQLite file (a results store, or its write-ahead log) is never
// overwritten, another existing file only with --force, and every write goes to a temporary file
// in the same directory that is renamed over the target once complete, so a failed or interrupted
// write leaves the old file (or nothing), never half of one.
#pragma once
#include <functional>
#include <string>

namespace seqbench {

// Throws std::invalid_argument naming the path and the remedy when path may not be written:
// it is a SQLite file, it exists and force is false, it is a directory, or its directory is
// missing or not writable. `flag` names the option in the message ("-o").
void check_output_path(const std::string& path, bool force, const std::string& flag);

// check_output_path, then write(temporary_path) and rename the temporary file onto path. The
// temporary file is removed when write throws.
void write_output_file(const std::string& path, bool force, const std::string& flag,
                       const std::function<void(const std::string& temporary_path)>& write);

// text to path as above, or to stdout when path is empty or "-".
void write_text_output(const std::string& text, const std::string& path, bool force, const std::string& flag = "-o");

// True when the file at path starts like a SQLite database or a SQLite write-ahead log.
bool is_sqlite_file(const std::string& path);

}  // namespace seqbench
