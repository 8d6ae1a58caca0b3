// Why a path cannot be opened, in words a user can act on. Libraries report a 300-character name,
// a missing directory or a directory given as a file as "unable to open" or a parse error; this
// looks at the path itself so messages can name the real cause.
#pragma once
#include <string>

namespace seqbench {

enum class PathUse { read, write };

// The first problem found, e.g. "its file name is 300 bytes long, more than the 255 the file
// system allows" or "directory 'out' does not exist"; "" when the path looks usable (the caller
// then reports the library's own message).
std::string path_problem(const std::string& path, PathUse use);

}  // namespace seqbench
