#pragma once
// The quantile of a sample by linear interpolation between its order statistics (Hyndman and
// Fan's type 7, as R and NumPy default to), shared by the projections and plans of sim/.
// Private to the library.
#include <algorithm>
#include <cmath>
#include <vector>

namespace uptake::sim {

// `values` must be sorted and not empty; `probability` in [0, 1].
inline double sorted_quantile(const std::vector<double>& values, double probability) {
  const double position = probability * static_cast<double>(values.size() - 1);
  const auto below = static_cast<std::size_t>(std::floor(position));
  const std::size_t above = std::min(below + 1, values.size() - 1);
  return values[below] + (position - static_cast<double>(below)) * (values[above] - values[below]);
}

}  // namespace uptake::sim
