#pragma once
// Gunther's Universal Scalability Law: the throughput of a system at load level N,
//   X(N) = gamma N / (1 + alpha (N - 1) + beta N (N - 1)),
// where gamma is the throughput of one unit of load with nothing shared, alpha (contention) the
// share of work that queues for something serialised and beta (coherency) the cost of keeping
// every pair of units consistent. With beta > 0 and alpha < 1 the throughput peaks at
// N* = sqrt((1 - alpha) / beta) and falls beyond it; with beta = 0 it rises towards gamma / alpha
// and has no finite peak.
//
// The model is generic: x is the load level (in uptake the offered concurrency or load step; any
// positive quantity, usually from 1 up) and y the throughput measured there, in whatever unit the
// caller uses (requests per second in uptake); gamma comes out in y per unit of x.
#include <optional>
#include <vector>

namespace uptake::sim {

struct ScalabilityPoint {
  double load = 0;        // N, > 0
  double throughput = 0;  // X(N), > 0
};

struct ScalabilityPeak {
  double load = 0;        // N* = sqrt((1 - alpha) / beta)
  double throughput = 0;  // X(N*)
};

struct ScalabilityModel {
  double contention = 0;     // alpha >= 0
  double coherency = 0;      // beta >= 0
  double single_unit = 0;    // gamma > 0: X(1), y per unit of x

  double throughput(double load) const;
  // The peak, when there is one: beta > 0 and alpha < 1 (otherwise the throughput only rises, or
  // only falls from N = 0). A peak below one unit of load is taken at one unit, where the law
  // starts: the throughput falls from there on.
  std::optional<ScalabilityPeak> peak() const;
};

struct ScalabilityFit {
  ScalabilityModel model;
  int points = 0;                   // n
  // n - 3: alpha, beta and gamma are all estimated, a bound that holds one at 0 included (as
  // R's nls with bounds counts them), so figures compare with published fits.
  int degrees_of_freedom = 0;
  double squared_residuals = 0;     // sum of (X(N_i) - y_i)^2
  // sqrt(squared_residuals / degrees_of_freedom), in y's unit; empty with no degrees of freedom.
  std::optional<double> residual_standard_error;
  std::vector<double> residuals;    // X(N_i) - y_i, in point order
  bool converged = false;
};

// Fits alpha, beta >= 0 and gamma > 0 by nonlinear least squares on the throughput itself (as
// Gunther's published fits are made), with Eigen's Levenberg-Marquardt. The bounds are kept by
// reparametrisation (each parameter fitted as its logarithm); a bound that is active at the
// optimum (beta = 0 for a system that never turns down) is found exactly by also fitting with
// the parameter held at 0 and keeping the best of those fits.
// Starting points: gamma from the throughput at N = 1 (or the largest y/N), alpha and beta from
// the linearised law (N gamma / X - 1) / (N - 1) = alpha + beta N by straight-line regression.
// Throws std::invalid_argument for fewer than three points, fewer than three distinct loads, or
// a load or throughput that is not positive and finite.
ScalabilityFit fit_scalability(const std::vector<ScalabilityPoint>& points);

}  // namespace uptake::sim
