// The two-sided Mann-Whitney U test, the significance test of Google Benchmark's compare.py:
// do two sets of repetitions come from the same distribution? Matches
// scipy.stats.mannwhitneyu(x, y, alternative="two-sided") with its default method "auto": the
// exact null distribution when either sample has at most 8 values and there are no ties, else the
// normal approximation with tie correction and continuity correction. Checked against scipy's
// values in tests/test_compare_gate.cpp.
#pragma once
#include <cstdint>
#include <vector>

namespace seqbench {

struct MannWhitneyResult {
  double u1 = 0;       // pairs (x_i, y_j) with x_i > y_j, ties counting one half
  double u2 = 0;       // n1 * n2 - u1
  double p_value = 1;  // two-sided
  bool exact = false;  // exact distribution (true) or normal approximation
  int64_t n1 = 0, n2 = 0;
};

// NaN samples are dropped. Throws std::invalid_argument when either side is then empty.
MannWhitneyResult mann_whitney_u(const std::vector<double>& x, const std::vector<double>& y);

// The smallest two-sided p-value the exact test can give with n1 and n2 samples: every x below
// every y, 2 / C(n1 + n2, n1). With 3 against 3 it is 0.1, so no 3-repetition timing can be
// significant at alpha 0.05; a test that cannot reach alpha must not decide a verdict.
double smallest_two_sided_p(int64_t n1, int64_t n2);

}  // namespace seqbench
