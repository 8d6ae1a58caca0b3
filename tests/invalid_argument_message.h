// The message of the std::invalid_argument an action throws, so a test can check that an error
// names the bad value; "no error" when it throws none.
#pragma once
#include <functional>
#include <stdexcept>
#include <string>

inline std::string error_of(const std::function<void()>& action) {
  try {
    action();
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "no error";
}
