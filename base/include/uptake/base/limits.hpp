#pragma once
// Bounds shared by the inputs that describe a run and the results folders that record one.

namespace uptake {

// The longest run uptake makes or reads back: 31 days. A scenario's replay may not ask for more,
// and a results folder may not claim more: its readers size per-second grids by the durations,
// so an edited 1e308 must be refused, not allocated.
inline constexpr double kLongestRunSeconds = 31 * 86400.0;

}  // namespace uptake
