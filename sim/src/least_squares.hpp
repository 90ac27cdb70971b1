#pragma once
// Nonlinear least squares by Eigen's Levenberg-Marquardt, shared by the fits of sim/ (growth
// curves, the Universal Scalability Law), and the straight-line regression their starting points
// come from. Private to the library.
//
// A problem is any type with
//   Eigen::Index observation_count() const;   // residuals per evaluation
//   Eigen::Index free_parameters() const;     // size of theta
//   Eigen::VectorXd residuals(const Eigen::VectorXd& theta) const;
//   Eigen::MatrixXd jacobian(const Eigen::VectorXd& theta) const;
// Bounds are the problem's business: it keeps them by reparametrisation (theta ranges over all
// reals, the parameters it maps to stay inside their bounds), so the optimiser runs unconstrained.
#include <cmath>
#include <limits>
#include <unsupported/Eigen/NonLinearOptimization>
#include <utility>
#include <vector>

namespace uptake::sim::least_squares {

struct Line {
  double intercept = 0;
  double slope = 0;
};

// Ordinary least squares of y on x; a flat line through the mean when x does not vary.
inline Line regress(const std::vector<double>& x, const std::vector<double>& y) {
  const auto count = static_cast<double>(x.size());
  double mean_x = 0;
  double mean_y = 0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    mean_x += x[i] / count;
    mean_y += y[i] / count;
  }
  double covariance = 0;
  double variance = 0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    covariance += (x[i] - mean_x) * (y[i] - mean_y);
    variance += (x[i] - mean_x) * (x[i] - mean_x);
  }
  const double slope = variance > 0 ? covariance / variance : 0;
  return {mean_y - slope * mean_x, slope};
}

struct Solution {
  bool found = false;  // a finite theta with finite residuals
  Eigen::VectorXd theta;
  double squared_residuals = std::numeric_limits<double>::infinity();
  bool converged = false;
};

// The interface Eigen's Levenberg-Marquardt expects: residuals and their Jacobian.
template <class Problem>
class Functor {
 public:
  explicit Functor(const Problem& problem) : problem_(problem) {}

  Eigen::Index values() const { return problem_.observation_count(); }

  int operator()(const Eigen::VectorXd& theta, Eigen::VectorXd& residuals) const {
    residuals = problem_.residuals(theta);
    // An overflowing trial step must read as a very bad step, which the optimiser then rejects
    // and shortens, rather than as NaN, which would poison its comparisons.
    for (double& residual : residuals) {
      if (!std::isfinite(residual)) residual = 1e10;
    }
    return 0;
  }

  int df(const Eigen::VectorXd& theta, Eigen::MatrixXd& jacobian) const {
    jacobian = problem_.jacobian(theta);
    return jacobian.allFinite() ? 0 : -1;
  }

 private:
  const Problem& problem_;
};

// One run of the optimiser from `theta`, with at most `evaluations` evaluations of the residuals.
template <class Problem>
Solution minimise(const Problem& problem, Eigen::VectorXd theta, int evaluations = 2000) {
  Solution solution;
  const Eigen::VectorXd start_residuals = problem.residuals(theta);
  if (!start_residuals.allFinite()) return solution;
  if (problem.free_parameters() == 0) {
    // Every parameter is held: nothing to fit, the curve is already the answer.
    solution = {true, theta, start_residuals.squaredNorm(), true};
    return solution;
  }
  Functor<Problem> functor(problem);
  Eigen::LevenbergMarquardt<Functor<Problem>> solver(functor);
  solver.parameters.maxfev = evaluations;
  solver.parameters.ftol = 1e-12;
  solver.parameters.xtol = 1e-12;
  const auto status = solver.minimize(theta);
  using Status = Eigen::LevenbergMarquardtSpace::Status;
  const Eigen::VectorXd residuals = problem.residuals(theta);
  if (!theta.allFinite() || !residuals.allFinite()) return solution;
  solution.found = true;
  solution.theta = theta;
  solution.squared_residuals = residuals.squaredNorm();
  // Statuses 6 to 8 say the tolerances cannot be met in floating point: the optimum is reached
  // as closely as doubles allow. Running out of evaluations or a failed Jacobian is no answer.
  solution.converged = status == Status::RelativeReductionTooSmall || status == Status::RelativeErrorTooSmall ||
                       status == Status::RelativeErrorAndReductionTooSmall || status == Status::CosinusTooSmall ||
                       status == Status::FtolTooSmall || status == Status::XtolTooSmall ||
                       status == Status::GtolTooSmall;
  return solution;
}

// The lowest sum of squares among converged runs; among all runs when none converged.
template <class Problem>
Solution best_of(const Problem& problem, const std::vector<Eigen::VectorXd>& starts) {
  Solution best;
  for (const auto& start : starts) {
    Solution candidate = minimise(problem, start);
    if (!candidate.found) continue;
    const bool better = !best.found || (candidate.converged && !best.converged) ||
                        (candidate.converged == best.converged && candidate.squared_residuals < best.squared_residuals);
    if (better) best = std::move(candidate);
  }
  return best;
}

}  // namespace uptake::sim::least_squares
