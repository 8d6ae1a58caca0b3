// An enum's names as one table read both ways: the name of a value (what the store, reports and
// the CLI print) and the value of a name (what they parse back), so the two cannot drift apart.
// Header-only so that every library (store, reports, harness) can use it.
#pragma once
#include <cstddef>
#include <optional>
#include <string>

namespace seqbench {

template <class Enum>
struct EnumName {
  Enum value;
  const char* name;
};

// The name of value in table; `fallback` when the table lacks it (a value cast from a bad integer).
template <class Enum, size_t N>
const char* name_in(const EnumName<Enum> (&table)[N], Enum value, const char* fallback = nullptr) {
  for (const EnumName<Enum>& entry : table)
    if (entry.value == value) return entry.name;
  return fallback;
}

// The value whose name is `name`, in table order; nullopt for an unknown name.
template <class Enum, size_t N>
std::optional<Enum> value_named(const EnumName<Enum> (&table)[N], const std::string& name) {
  for (const EnumName<Enum>& entry : table)
    if (name == entry.name) return entry.value;
  return std::nullopt;
}

// The names for an error message: "a, b, c or d".
template <class Enum, size_t N>
std::string names_listed(const EnumName<Enum> (&table)[N]) {
  std::string out;
  for (size_t i = 0; i < N; ++i) out += (i == 0 ? "" : i + 1 == N ? " or " : ", ") + std::string(table[i].name);
  return out;
}

}  // namespace seqbench
