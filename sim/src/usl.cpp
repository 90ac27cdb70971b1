#include "uptake/sim/usl.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <set>
#include <stdexcept>

#include "least_squares.hpp"

namespace uptake::sim {
namespace {

// alpha and beta may sit on their bound of 0, gamma may not.
enum Parameter : std::size_t { kContention = 0, kCoherency = 1, kSingleUnit = 2 };

// The law fitted with some of alpha and beta held at 0 (a face of the bounded region) and the
// rest free. Every free parameter is fitted as its logarithm, theta = ln p, which keeps it above
// 0 without clipping; a parameter held at 0 has no theta.
class ScalabilityProblem {
 public:
  ScalabilityProblem(const std::vector<ScalabilityPoint>& points, bool contention_held, bool coherency_held)
      : points_(points) {
    if (!contention_held) free_.push_back(kContention);
    if (!coherency_held) free_.push_back(kCoherency);
    free_.push_back(kSingleUnit);
  }

  Eigen::Index observation_count() const { return static_cast<Eigen::Index>(points_.size()); }
  Eigen::Index free_parameters() const { return static_cast<Eigen::Index>(free_.size()); }

  ScalabilityModel model(const Eigen::VectorXd& theta) const {
    std::array<double, 3> values{0, 0, 0};
    for (std::size_t k = 0; k < free_.size(); ++k) values[free_[k]] = std::exp(theta[static_cast<Eigen::Index>(k)]);
    return {values[kContention], values[kCoherency], values[kSingleUnit]};
  }

  Eigen::VectorXd theta_at(const ScalabilityModel& model) const {
    const std::array<double, 3> values{model.contention, model.coherency, model.single_unit};
    Eigen::VectorXd theta(free_parameters());
    for (std::size_t k = 0; k < free_.size(); ++k) theta[static_cast<Eigen::Index>(k)] = std::log(values[free_[k]]);
    return theta;
  }

  // X(N_i) - y_i
  Eigen::VectorXd residuals(const Eigen::VectorXd& theta) const {
    const ScalabilityModel fitted = model(theta);
    Eigen::VectorXd result(observation_count());
    for (std::size_t i = 0; i < points_.size(); ++i) {
      result[static_cast<Eigen::Index>(i)] = fitted.throughput(points_[i].load) - points_[i].throughput;
    }
    return result;
  }

  // With D = 1 + alpha (N - 1) + beta N (N - 1) and X = gamma N / D:
  //   dX/d ln gamma = X,  dX/d ln alpha = -X alpha (N - 1) / D,  dX/d ln beta = -X beta N (N - 1) / D.
  Eigen::MatrixXd jacobian(const Eigen::VectorXd& theta) const {
    const ScalabilityModel fitted = model(theta);
    Eigen::MatrixXd result(observation_count(), free_parameters());
    for (std::size_t i = 0; i < points_.size(); ++i) {
      const double load = points_[i].load;
      const double denominator =
          1 + fitted.contention * (load - 1) + fitted.coherency * load * (load - 1);
      const double throughput = fitted.single_unit * load / denominator;
      for (std::size_t k = 0; k < free_.size(); ++k) {
        double derivative = throughput;
        if (free_[k] == kContention) derivative = -throughput * fitted.contention * (load - 1) / denominator;
        if (free_[k] == kCoherency) derivative = -throughput * fitted.coherency * load * (load - 1) / denominator;
        result(static_cast<Eigen::Index>(i), static_cast<Eigen::Index>(k)) = derivative;
      }
    }
    return result;
  }

 private:
  const std::vector<ScalabilityPoint>& points_;
  std::vector<std::size_t> free_;  // the parameters theta holds, in order
};

// gamma guesses: the throughput of one unit of load where it was measured, and the best
// throughput per unit seen (which contention and coherency only ever lower).
std::vector<double> single_unit_guesses(const std::vector<ScalabilityPoint>& points) {
  std::vector<double> guesses;
  for (const auto& point : points) {
    if (point.load == 1) guesses.push_back(point.throughput);
  }
  double best_per_unit = 0;
  for (const auto& point : points) best_per_unit = std::max(best_per_unit, point.throughput / point.load);
  guesses.push_back(best_per_unit);
  // Contention often hides the unloaded throughput; a larger gamma lets the optimiser start on
  // the far side of the valley as well.
  guesses.push_back(best_per_unit * 1.5);
  return guesses;
}

// For a given gamma the law is linear: (N gamma / X - 1) / (N - 1) = alpha + beta N. Points at
// N = 1 say nothing about alpha or beta and are left out.
ScalabilityModel linearised_start(const std::vector<ScalabilityPoint>& points, double single_unit) {
  std::vector<double> loads;
  std::vector<double> deviations;
  for (const auto& point : points) {
    if (point.load == 1) continue;
    loads.push_back(point.load);
    deviations.push_back((point.load * single_unit / point.throughput - 1) / (point.load - 1));
  }
  const auto line = least_squares::regress(loads, deviations);
  return {line.intercept, line.slope, single_unit};
}

// A start inside the region the logarithms can express: a guess at or below a bound is lifted
// to a small positive value.
ScalabilityModel inside_bounds(ScalabilityModel model) {
  constexpr double kSmallestStart = 1e-6;
  model.contention = std::max(model.contention, kSmallestStart);
  model.coherency = std::max(model.coherency, kSmallestStart * kSmallestStart);
  return model;
}

void check_points(const std::vector<ScalabilityPoint>& points) {
  std::set<double> loads;
  for (const auto& point : points) {
    if (!(std::isfinite(point.load) && point.load > 0 && std::isfinite(point.throughput) && point.throughput > 0)) {
      throw std::invalid_argument(
          fmt::format("the point (load {}, throughput {}) is not positive and finite", point.load, point.throughput));
    }
    loads.insert(point.load);
  }
  if (points.size() < 3 || loads.size() < 3) {
    throw std::invalid_argument(fmt::format(
        "the scalability law has three parameters and needs points at three loads at least, not {} points at {} loads",
        points.size(), loads.size()));
  }
}

struct FaceFit {
  least_squares::Solution solution;
  ScalabilityModel model;
  int free_parameters = 0;
};

}  // namespace

double ScalabilityModel::throughput(double load) const {
  return single_unit * load / (1 + contention * (load - 1) + coherency * load * (load - 1));
}

std::optional<ScalabilityPeak> ScalabilityModel::peak() const {
  if (!(coherency > 0 && contention < 1)) return std::nullopt;
  // The law is for loads of one unit and more: below one its denominator can even turn
  // negative. A peak that would lie below one unit means the throughput falls from the first
  // unit on, so X(1) is the most the system gives.
  const double load = std::max(1.0, std::sqrt((1 - contention) / coherency));
  return ScalabilityPeak{load, throughput(load)};
}

ScalabilityFit fit_scalability(const std::vector<ScalabilityPoint>& points) {
  check_points(points);
  std::vector<ScalabilityModel> starts;
  for (double single_unit : single_unit_guesses(points)) {
    starts.push_back(inside_bounds(linearised_start(points, single_unit)));
    // Linear scaling, and pure contention, as fallbacks when the linearisation misleads.
    starts.push_back(inside_bounds({0.0, 0.0, single_unit}));
    starts.push_back(inside_bounds({0.1, 0.0, single_unit}));
  }

  // The interior, then each face where alpha, beta or both sit on their bound of 0. The least
  // squares optimum over the closed region is the best of these; an interior fit only creeps
  // towards a bound it cannot reach, so where the optimum lies on a face, the face fit has it.
  std::vector<FaceFit> fits;
  for (const auto& [contention_held, coherency_held] :
       std::initializer_list<std::pair<bool, bool>>{{false, false}, {false, true}, {true, false}, {true, true}}) {
    const ScalabilityProblem problem(points, contention_held, coherency_held);
    std::vector<Eigen::VectorXd> thetas;
    for (const auto& start : starts) thetas.push_back(problem.theta_at(start));
    auto solution = least_squares::best_of(problem, thetas);
    if (!solution.found) continue;
    const ScalabilityModel model = problem.model(solution.theta);
    fits.push_back({std::move(solution), model, static_cast<int>(problem.free_parameters())});
  }
  if (fits.empty()) throw std::invalid_argument("the scalability law has no finite fit to these points");

  // Among fits whose sums of squares agree to rounding, the one with the fewest free parameters:
  // a coherency of 1e-15 that an interior fit drifted to is the bound of 0, not a finding.
  double least = fits.front().solution.squared_residuals;
  for (const auto& fit : fits) least = std::min(least, fit.solution.squared_residuals);
  const FaceFit* chosen = nullptr;
  for (const auto& fit : fits) {
    if (fit.solution.squared_residuals > least * (1 + 1e-9) + 1e-300) continue;
    const bool better = !chosen || (fit.solution.converged && !chosen->solution.converged) ||
                        (fit.solution.converged == chosen->solution.converged && fit.free_parameters < chosen->free_parameters);
    if (better) chosen = &fit;
  }

  ScalabilityFit result;
  result.model = chosen->model;
  result.points = static_cast<int>(points.size());
  result.degrees_of_freedom = result.points - 3;
  result.converged = chosen->solution.converged;
  for (const auto& point : points) result.residuals.push_back(result.model.throughput(point.load) - point.throughput);
  for (double residual : result.residuals) result.squared_residuals += residual * residual;
  if (result.degrees_of_freedom > 0) {
    result.residual_standard_error = std::sqrt(result.squared_residuals / result.degrees_of_freedom);
  }
  return result;
}

}  // namespace uptake::sim
