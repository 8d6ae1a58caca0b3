#include "harness/cli_values.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <stdexcept>
#include <thread>

namespace seqbench {
namespace {

bool all_digits(const std::string& s) { return !s.empty() && s.find_first_not_of("0123456789") == std::string::npos; }

// Up to UINT64_MAX; nullopt-like false on anything else.
bool read_unsigned(const std::string& text, uint64_t& value) {
  if (!all_digits(text) || text.size() > 20) return false;
  errno = 0;
  char* end = nullptr;
  const unsigned long long v = std::strtoull(text.c_str(), &end, 10);
  if (errno == ERANGE || *end != '\0') return false;
  value = v;
  return true;
}

// A whole-string finite number; false otherwise.
bool read_number(const std::string& text, double& value) {
  if (text.empty() || std::isspace(static_cast<unsigned char>(text[0]))) return false;
  char* end = nullptr;
  errno = 0;
  const double v = std::strtod(text.c_str(), &end);
  if (end == text.c_str() || *end != '\0' || errno == ERANGE || !std::isfinite(v)) return false;
  value = v;
  return true;
}

std::string shown(double v) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%g", v);
  return buffer;
}

}  // namespace

int parse_thread_count(const std::string& text) {
  uint64_t value = 0;
  if (!read_unsigned(text, value) || value > static_cast<uint64_t>(kMaxThreads))
    throw std::invalid_argument("expected a thread count from 0 (all cores) to " + std::to_string(kMaxThreads) +
                                ", got '" + text + "' (this machine has " +
                                std::to_string(std::thread::hardware_concurrency()) + " hardware threads)");
  return static_cast<int>(value);
}

uint64_t parse_seed(const std::string& text) {
  uint64_t value = 0;
  if (!read_unsigned(text, value))
    throw std::invalid_argument("expected a seed from 0 to 18446744073709551615 (2^64 - 1), got '" + text + "'");
  return value;
}

Shard parse_shard(const std::string& text) {
  const auto slash = text.find('/');
  const std::string index = slash == std::string::npos ? "" : text.substr(0, slash);
  const std::string count = slash == std::string::npos ? "" : text.substr(slash + 1);
  uint64_t i = 0, n = 0;
  if (!read_unsigned(index, i) || !read_unsigned(count, n) || n > 1'000'000)
    throw std::invalid_argument("expected i/N, two integers such as 0/4 (N up to 1000000), got '" + text + "'");
  if (n == 0) throw std::invalid_argument("shard '" + text + "' does not exist: N (the number of shards) is at least 1");
  if (i >= n)
    throw std::invalid_argument("shard '" + text + "' does not exist: with N = " + std::to_string(n) +
                                " the shards are 0/" + std::to_string(n) + " to " + std::to_string(n - 1) + "/" +
                                std::to_string(n));
  return Shard{static_cast<int>(i), static_cast<int>(n)};
}

double parse_relative_amount(const std::string& text) {
  std::string number = text;
  const bool percent = !number.empty() && number.back() == '%';
  if (percent) number.pop_back();
  double value = 0;
  if (!read_number(number, value) || value < 0)
    throw std::invalid_argument("expected a percentage (5%) or a fraction below 1 (0.05), got '" + text + "'");
  if (!percent && value >= 1)
    throw std::invalid_argument("'" + text + "' is ambiguous: write " + shown(value) + "% for " + shown(value) +
                                " percent, or " + shown(value * 100) + "% for " + shown(value) + " times");
  return percent ? value / 100 : value;
}

int64_t parse_integer_in(const std::string& text, int64_t lo, int64_t hi) {
  const bool negative = !text.empty() && text[0] == '-';
  uint64_t magnitude = 0;
  const bool read = read_unsigned(negative ? text.substr(1) : text, magnitude) &&
                    magnitude <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
  const int64_t value = negative ? -static_cast<int64_t>(magnitude) : static_cast<int64_t>(magnitude);
  if (!read || value < lo || value > hi)
    throw std::invalid_argument("expected an integer from " + std::to_string(lo) + " to " + std::to_string(hi) +
                                ", got '" + text + "'");
  return value;
}

double parse_number_in(const std::string& text, double lo, double hi) {
  double value = 0;
  if (!read_number(text, value) || value < lo || value > hi)
    throw std::invalid_argument("expected a number from " + shown(lo) + " to " + shown(hi) + ", got '" + text + "'");
  return value;
}

CLI::Validator as_validator(const std::function<void(const std::string&)>& parse, const std::string& what) {
  return CLI::Validator(
      [parse](std::string& text) -> std::string {
        try {
          parse(text);
        } catch (const std::invalid_argument& e) {
          return e.what();
        }
        return "";
      },
      what);
}

}  // namespace seqbench
