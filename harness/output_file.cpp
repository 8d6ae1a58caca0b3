#include "harness/output_file.h"

#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <stdexcept>

#include "harness/path_problem.h"

namespace seqbench {
namespace {

namespace fs = std::filesystem;

std::string temporary_path_for(const std::string& path) {
  const fs::path p(path);
  const fs::path name = "." + p.filename().string() + ".tmp-" + std::to_string(getpid());
  return (p.has_parent_path() ? p.parent_path() / name : name).string();
}

}  // namespace

bool is_sqlite_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::array<char, 16> head{};
  if (!in.read(head.data(), head.size())) return false;
  static const char kDatabase[16] = {'S', 'Q', 'L', 'i', 't', 'e', ' ', 'f', 'o', 'r', 'm', 'a', 't', ' ', '3', '\0'};
  if (std::memcmp(head.data(), kDatabase, sizeof kDatabase) == 0) return true;
  // A write-ahead log starts with the big-endian magic 0x377f0682 or 0x377f0683.
  const auto byte = [&](int i) { return static_cast<unsigned char>(head[i]); };
  return byte(0) == 0x37 && byte(1) == 0x7f && byte(2) == 0x06 && (byte(3) == 0x82 || byte(3) == 0x83);
}

void check_output_path(const std::string& path, bool force, const std::string& flag) {
  std::error_code error;
  const bool exists = fs::exists(fs::status(path, error));
  if (exists && !fs::is_directory(fs::status(path, error)) && is_sqlite_file(path))
    throw std::invalid_argument("refusing to overwrite '" + path + "' given to " + flag +
                                ": it is a SQLite database (a results store?), never overwritten, even with --force; "
                                "write to another file");
  const std::string problem = path_problem(path, PathUse::write);
  if (!problem.empty()) throw std::invalid_argument("cannot write " + flag + " '" + path + "': " + problem);
  if (exists && !force)
    throw std::invalid_argument(flag + " '" + path + "' already exists; pass --force to overwrite it");
}

void write_output_file(const std::string& path, bool force, const std::string& flag,
                       const std::function<void(const std::string& temporary_path)>& write) {
  check_output_path(path, force, flag);
  const std::string temporary = temporary_path_for(path);
  try {
    write(temporary);
    fs::rename(temporary, path);
  } catch (...) {
    std::error_code ignored;
    fs::remove(temporary, ignored);
    throw;
  }
}

void write_text_output(const std::string& text, const std::string& path, bool force, const std::string& flag) {
  if (path.empty() || path == "-") {
    std::cout << text;
    return;
  }
  write_output_file(path, force, flag, [&](const std::string& temporary) {
    std::ofstream out(temporary, std::ios::binary);
    out << text;
    out.flush();
    if (!out) throw std::invalid_argument("failed writing " + flag + " '" + path + "'");
  });
}

}  // namespace seqbench
