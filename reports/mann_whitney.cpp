#include "reports/mann_whitney.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <stdexcept>
#include <string>

namespace seqbench {
namespace {

// Beyond this many pairs the exact distribution costs more than it is worth; scipy would still
// be exact there, but the normal approximation differs only in the far tail.
constexpr double kMaxExactPairs = 1e6;

std::vector<double> without_nan(const std::vector<double>& v) {
  std::vector<double> out;
  for (double x : v)
    if (!std::isnan(x)) out.push_back(x);
  return out;
}

// P(U >= u) under the null hypothesis, for samples of sizes m and n without ties. The number of
// orderings with U = k is the coefficient of q^k in the Gaussian binomial [m+n choose m]_q =
// prod_{i=1..m} (1 - q^(n+i)) / (1 - q^i) (Mann & Whitney 1947); dividing by (1 - q^i) is a running
// sum with stride i.
double exact_upper_tail(int64_t m, int64_t n, double u) {
  if (m > n) std::swap(m, n);
  const int64_t degree = m * n;
  std::vector<double> poly(static_cast<size_t>(degree + 1), 0.0);
  poly[0] = 1;
  for (int64_t i = 1; i <= m; ++i) {
    for (int64_t k = degree; k >= n + i; --k) poly[k] -= poly[k - n - i];
    for (int64_t k = i; k <= degree; ++k) poly[k] += poly[k - i];
  }
  const double total = std::accumulate(poly.begin(), poly.end(), 0.0);
  const auto first = static_cast<int64_t>(std::ceil(u - 1e-9));
  double tail = 0;
  for (int64_t k = std::max<int64_t>(first, 0); k <= degree; ++k) tail += poly[k];
  return tail / total;
}

double normal_upper_tail(double z) { return 0.5 * std::erfc(z / std::sqrt(2.0)); }

}  // namespace

MannWhitneyResult mann_whitney_u(const std::vector<double>& x_in, const std::vector<double>& y_in) {
  const std::vector<double> x = without_nan(x_in), y = without_nan(y_in);
  if (x.empty() || y.empty())
    throw std::invalid_argument("Mann-Whitney U test needs samples on both sides, got " + std::to_string(x.size()) +
                                " and " + std::to_string(y.size()));
  MannWhitneyResult r;
  r.n1 = static_cast<int64_t>(x.size());
  r.n2 = static_cast<int64_t>(y.size());
  const int64_t n = r.n1 + r.n2;

  // Average ranks (1-based) over the pooled sample; tie groups feed the variance correction.
  std::vector<std::pair<double, int>> pooled;
  for (double v : x) pooled.push_back({v, 0});
  for (double v : y) pooled.push_back({v, 1});
  std::sort(pooled.begin(), pooled.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  double rank_sum_x = 0, tie_term = 0;
  bool ties = false;
  for (int64_t i = 0; i < n;) {
    int64_t j = i;
    while (j < n && pooled[j].first == pooled[i].first) ++j;
    const double t = static_cast<double>(j - i);
    const double average_rank = 0.5 * static_cast<double>(i + 1 + j);
    for (int64_t k = i; k < j; ++k)
      if (pooled[k].second == 0) rank_sum_x += average_rank;
    if (t > 1) ties = true;
    tie_term += t * t * t - t;
    i = j;
  }
  const double n1 = static_cast<double>(r.n1), n2 = static_cast<double>(r.n2);
  r.u1 = rank_sum_x - n1 * (n1 + 1) / 2;
  r.u2 = n1 * n2 - r.u1;
  const double u = std::max(r.u1, r.u2);

  r.exact = (r.n1 <= 8 || r.n2 <= 8) && !ties && n1 * n2 <= kMaxExactPairs;
  if (r.exact) {
    r.p_value = std::min(1.0, 2 * exact_upper_tail(r.n1, r.n2, u));
    return r;
  }
  const double nn = static_cast<double>(n);
  const double variance = n1 * n2 / 12 * ((nn + 1) - tie_term / (nn * (nn - 1)));
  if (variance <= 0) {  // every value equal: no evidence of any difference
    r.p_value = 1;
    return r;
  }
  const double z = (u - n1 * n2 / 2 - 0.5) / std::sqrt(variance);
  r.p_value = std::clamp(2 * normal_upper_tail(z), 0.0, 1.0);
  return r;
}

double smallest_two_sided_p(int64_t n1, int64_t n2) {
  if (n1 < 1 || n2 < 1) return 1;
  // log C(n1 + n2, n1) through lgamma: the binomial overflows a double near n = 1030.
  const double log_choose = std::lgamma(static_cast<double>(n1 + n2 + 1)) - std::lgamma(static_cast<double>(n1 + 1)) -
                            std::lgamma(static_cast<double>(n2 + 1));
  return std::min(1.0, 2 * std::exp(-log_choose));
}

}  // namespace seqbench
