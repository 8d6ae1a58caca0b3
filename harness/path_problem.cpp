#include "harness/path_problem.h"

#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstring>
#include <filesystem>

namespace seqbench {
namespace {

namespace fs = std::filesystem;

// The longest file-name component the file system holding `directory` accepts.
long name_max_for(const fs::path& directory) {
  const long limit = pathconf(directory.empty() ? "." : directory.c_str(), _PC_NAME_MAX);
  return limit > 0 ? limit : NAME_MAX;
}

}  // namespace

std::string path_problem(const std::string& path, PathUse use) {
  if (path.empty()) return "the path is empty";
  if (path.size() >= PATH_MAX)
    return "the path is " + std::to_string(path.size()) + " bytes long, more than the " + std::to_string(PATH_MAX - 1) +
           " the system allows";
  const fs::path p(path);
  fs::path walked;
  for (const fs::path& part : p) {
    const long name_max = name_max_for(walked);
    if (static_cast<long>(part.native().size()) > name_max)
      return "its name component '" + part.native().substr(0, 24) + "...' is " + std::to_string(part.native().size()) +
             " bytes long, more than the " + std::to_string(name_max) + " the file system allows";
    walked /= part;
  }
  std::error_code error;
  const fs::path parent = p.has_parent_path() ? p.parent_path() : fs::path(".");
  const fs::file_status parent_status = fs::status(parent, error);
  if (!fs::exists(parent_status)) return "directory '" + parent.string() + "' does not exist";
  if (!fs::is_directory(parent_status)) return "'" + parent.string() + "' is not a directory";
  const fs::file_status status = fs::status(p, error);
  if (fs::is_directory(status)) return "'" + path + "' is a directory, not a file";
  if (use == PathUse::read) {
    if (!fs::exists(status)) return "'" + path + "' does not exist";
    if (access(path.c_str(), R_OK) != 0) return "no permission to read '" + path + "' (" + std::strerror(errno) + ")";
    return "";
  }
  if (fs::exists(status) && access(path.c_str(), W_OK) != 0)
    return "no permission to write '" + path + "' (" + std::strerror(errno) + ")";
  if (!fs::exists(status) && access(parent.c_str(), W_OK) != 0)
    return "no permission to create files in directory '" + parent.string() + "' (" + std::strerror(errno) + ")";
  return "";
}

}  // namespace seqbench
