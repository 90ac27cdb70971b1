#include "uptake/sim/growth.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <set>
#include <stdexcept>
#include <tuple>

#include "least_squares.hpp"
#include "uptake/base/input_error.hpp"
#include "uptake/base/random.hpp"

namespace uptake::sim {
namespace {

using least_squares::best_of;
using least_squares::minimise;
using least_squares::regress;
using least_squares::Solution;

constexpr double kInfinity = std::numeric_limits<double>::infinity();

// Log residuals below 1e-9 (a billionth) are rounding, not information. Flooring the variance
// there keeps two models that both reproduce the data exactly from being ranked by round-off.
constexpr double kSmallestMeaningfulVariance = 1e-18;

constexpr GrowthModelKind kFittableModels[] = {GrowthModelKind::exponential, GrowthModelKind::logistic,
                                               GrowthModelKind::gompertz, GrowthModelKind::bass};

// ln(1 + e^x), exact for large x (no overflow) and for very negative x (no cancellation).
double softplus(double x) { return x > 0 ? x + std::log1p(std::exp(-x)) : std::log1p(std::exp(x)); }

double sigmoid(double x) {
  if (x >= 0) return 1 / (1 + std::exp(-x));
  const double exponential = std::exp(x);
  return exponential / (1 + exponential);
}

// ln F(s) of the Bass model. Written with expm1 and softplus so that it stays accurate just after
// launch (F near 0) and for large q/p, where the plain formula loses every digit.
double log_bass_fraction(double p, double q, double s) {
  if (s <= 0 || p <= 0) return -kInfinity;
  const double exponent = (p + q) * s;
  return std::log(-std::expm1(-exponent)) - softplus(std::log(q / p) - exponent);
}

// ln f(s), the Bass adoption density: the share of the market adopting per year at s years after
// launch, f = dF/ds = (p+q)^2 e^{-(p+q)s} / (p (1 + (q/p) e^{-(p+q)s})^2), in the same stable form.
double log_bass_density(double p, double q, double s) {
  if (s <= 0 || p <= 0) return -kInfinity;
  const double exponent = (p + q) * s;
  return 2 * std::log(p + q) - exponent - std::log(p) - 2 * softplus(std::log(q / p) - exponent);
}

// A model with its parameters in natural units. Evaluated on the log scale so that a very large K
// or a steep curve stays finite where the volume itself would overflow.
struct Curve {
  GrowthModelKind kind = GrowthModelKind::exponential;
  double log_scale = 0;   // ln a (exponential) or ln K
  double rate = 0;        // b (exponential) or r (logistic, gompertz)
  double midpoint = 0;    // t0 (logistic, gompertz)
  double innovation = 0;  // p (bass)
  double imitation = 0;   // q (bass)
  double origin = 0;      // t_ref (exponential) or launch (bass)
  bool adoption_flow = false;  // bass of a yearly series: V = K f, the adoptions per year; else V = K F
};

double log_volume(const Curve& curve, double time) {
  switch (curve.kind) {
    case GrowthModelKind::exponential: return curve.log_scale + curve.rate * (time - curve.origin);
    case GrowthModelKind::logistic: return curve.log_scale - softplus(-curve.rate * (time - curve.midpoint));
    case GrowthModelKind::gompertz: return curve.log_scale - std::exp(-curve.rate * (time - curve.midpoint));
    case GrowthModelKind::bass:
      return curve.log_scale + (curve.adoption_flow ? log_bass_density : log_bass_fraction)(curve.innovation, curve.imitation,
                                                                                             time - curve.origin);
    case GrowthModelKind::automatic: break;
  }
  throw std::logic_error("an automatic growth model has no curve until one is chosen");
}

Curve curve_of(const GrowthFit& fit) {
  Curve curve;
  curve.kind = fit.kind;
  switch (fit.kind) {
    case GrowthModelKind::exponential:
      curve.log_scale = std::log(fit.parameter("a"));
      curve.rate = fit.parameter("b");
      curve.origin = fit.reference_time;
      break;
    case GrowthModelKind::logistic:
    case GrowthModelKind::gompertz:
      curve.log_scale = std::log(fit.parameter("K"));
      curve.rate = fit.parameter("r");
      curve.midpoint = fit.parameter("t0");
      break;
    case GrowthModelKind::bass:
      curve.log_scale = std::log(fit.parameter("K"));
      curve.innovation = fit.parameter("p");
      curve.imitation = fit.parameter("q");
      curve.origin = fit.launch;
      curve.adoption_flow = !fit.constraints.cumulative;
      break;
    case GrowthModelKind::automatic: throw std::logic_error("an automatic growth model has no curve until one is chosen");
  }
  return curve;
}

// "a", "a and b", "a, b and c"
std::string join_names(const std::vector<std::string>& names) {
  std::string text;
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (i > 0) text += i + 1 == names.size() ? " and " : ", ";
    text += names[i];
  }
  return text;
}

bool has_parameter(GrowthModelKind kind, const std::string& name) {
  const auto names = parameter_names(kind);
  return std::find(names.begin(), names.end(), name) != names.end();
}

// b and t0 may take any value; every other parameter is positive.
bool must_be_positive(const std::string& name) { return name != "b" && name != "t0"; }

// "a and b (exponential), K, r and t0 (logistic, gompertz), K, p and q (bass)"
std::string every_model_parameter() {
  return fmt::format("{} (exponential), {} (logistic, gompertz), {} (bass)",
                     join_names(parameter_names(GrowthModelKind::exponential)),
                     join_names(parameter_names(GrowthModelKind::logistic)),
                     join_names(parameter_names(GrowthModelKind::bass)));
}

std::vector<std::string> fixed_names(const CurveConstraints& constraints) {
  std::vector<std::string> names;
  for (const auto& [name, value] : constraints.fixed) names.push_back(name);
  return names;
}

// K of the saturating models when it is not fitted: a fixed K, or else the market size.
std::optional<double> given_market_size(const CurveConstraints& constraints) {
  const auto fixed = constraints.fixed.find("K");
  if (fixed != constraints.fixed.end()) return fixed->second;
  return constraints.market_size;
}

// The value each parameter of the model is held at, in parameter_names order; empty: fitted.
std::vector<std::optional<double>> held_values(GrowthModelKind kind, const CurveConstraints& constraints) {
  std::vector<std::optional<double>> held;
  for (const auto& name : parameter_names(kind)) {
    const auto fixed = constraints.fixed.find(name);
    if (fixed != constraints.fixed.end()) {
      held.emplace_back(fixed->second);
    } else if (name == "K") {
      held.push_back(constraints.market_size);
    } else {
      held.emplace_back();
    }
  }
  return held;
}

int free_parameter_count(GrowthModelKind kind, const CurveConstraints& constraints) {
  const auto held = held_values(kind, constraints);
  return static_cast<int>(std::count(held.begin(), held.end(), std::nullopt));
}

// Bounds of the fixed values and their agreement with the market size, whatever the model.
void check_fixed_values(const CurveConstraints& constraints) {
  for (const auto& [name, value] : constraints.fixed) {
    const bool positive = must_be_positive(name);
    if (!std::isfinite(value) || (positive && value <= 0)) {
      throw InputError({}, "fixed." + name, fmt::format("{} is fixed at {}, outside its bound", name, value),
                       positive ? fmt::format("a finite {} above 0", name) : fmt::format("a finite {}", name));
    }
  }
  const auto fixed_market = constraints.fixed.find("K");
  if (fixed_market != constraints.fixed.end() && constraints.market_size &&
      *constraints.market_size != fixed_market->second) {
    throw InputError({}, "fixed.K",
                     fmt::format("K is fixed at {} but the market size is {}; both are K", fixed_market->second,
                                 *constraints.market_size),
                     "K fixed or a market size, or both with the same value");
  }
}

// Every fixed name must be a parameter of the model.
void check_fixed_names(GrowthModelKind kind, const CurveConstraints& constraints) {
  const auto names = parameter_names(kind);
  for (const auto& [name, value] : constraints.fixed) {
    if (!has_parameter(kind, name)) {
      throw InputError({}, "fixed." + name,
                       fmt::format("the {} model has no parameter '{}'; its parameters are {}", to_string(kind), name,
                                   join_names(names)),
                       fmt::format("a parameter of the {} model: {}", to_string(kind), join_names(names)));
    }
  }
}

// The models an automatic choice may consider: those with every fixed parameter.
std::vector<GrowthModelKind> models_with_fixed_names(const CurveConstraints& constraints) {
  for (const auto& [name, value] : constraints.fixed) {
    bool known = false;
    for (GrowthModelKind kind : kFittableModels) known = known || has_parameter(kind, name);
    if (!known) {
      throw InputError({}, "fixed." + name,
                       fmt::format("no growth model has a parameter '{}'; the parameters are {}", name,
                                   every_model_parameter()),
                       "a parameter of one of the models");
    }
  }
  std::vector<GrowthModelKind> models;
  for (GrowthModelKind kind : kFittableModels) {
    const bool has_all = std::all_of(constraints.fixed.begin(), constraints.fixed.end(),
                                     [kind](const auto& fixed) { return has_parameter(kind, fixed.first); });
    if (has_all) models.push_back(kind);
  }
  if (models.empty()) {
    throw InputError({}, "fixed",
                     fmt::format("no growth model has all of the fixed parameters {}; the parameters are {}",
                                 join_names(fixed_names(constraints)), every_model_parameter()),
                     "fixed parameters of one model");
  }
  return models;
}

// One model against one set of observations. Every parameter has an internal coordinate u, the
// logarithm of a positive parameter and a free-ranging one itself:
//   exponential           [ln a, b]
//   logistic, gompertz    [ln K, ln r, t0]
//   bass                  [ln K, ln p, ln q]
// The optimiser works in theta, the coordinates of the fitted parameters alone: u itself, except
// for a fitted K, which is theta_K with K = largest observation * (1 + exp(theta_K)). A held
// parameter (fixed, or K given as a market size) has no theta and keeps its given value.
class CurveProblem {
 public:
  CurveProblem(GrowthModelKind kind, const std::vector<Observation>& observations, const CurveConstraints& constraints)
      : kind_(kind),
        constraints_(constraints),
        names_(parameter_names(kind)),
        held_(held_values(kind, constraints)),
        launch_(constraints.launch) {
    for (const auto& observation : observations) {
      times_.push_back(observation.time);
      log_volumes_.push_back(std::log(observation.volume));
      volumes_.push_back(observation.volume);
    }
    largest_volume_ = *std::max_element(volumes_.begin(), volumes_.end());
    reference_time_ = *std::min_element(times_.begin(), times_.end());
    for (std::size_t slot = 0; slot < held_.size(); ++slot) {
      if (!held_[slot]) fitted_slots_.push_back(slot);
    }
  }

  Eigen::Index free_parameters() const { return static_cast<Eigen::Index>(fitted_slots_.size()); }
  Eigen::Index observation_count() const { return static_cast<Eigen::Index>(times_.size()); }

  Curve curve(const Eigen::VectorXd& theta) const { return curve_at(internal(theta)); }

  // ln V(t_i) - ln y_i, the quantity whose sum of squares is minimised.
  Eigen::VectorXd residuals(const Eigen::VectorXd& theta) const {
    const Curve fitted = curve(theta);
    Eigen::VectorXd result(observation_count());
    for (Eigen::Index i = 0; i < result.size(); ++i) result[i] = log_volume(fitted, time(i)) - log_volumes_[index(i)];
    return result;
  }

  Eigen::MatrixXd jacobian(const Eigen::VectorXd& theta) const {
    const Curve fitted = curve(theta);
    Eigen::MatrixXd result(observation_count(), free_parameters());
    std::vector<double> gradient(names_.size());
    for (Eigen::Index i = 0; i < result.rows(); ++i) {
      const double t = time(i);
      // d ln V / d u for every parameter; the first is ln a or ln K, which ln V contains plainly.
      gradient[0] = 1;
      switch (kind_) {
        case GrowthModelKind::exponential: gradient[1] = t - reference_time_; break;
        case GrowthModelKind::logistic: {
          const double exponent = -fitted.rate * (t - fitted.midpoint);
          const double weight = sigmoid(exponent);
          gradient[1] = -weight * exponent;
          gradient[2] = -weight * fitted.rate;
          break;
        }
        case GrowthModelKind::gompertz: {
          const double exponent = -fitted.rate * (t - fitted.midpoint);
          const double weight = std::exp(exponent);
          gradient[1] = -weight * exponent;
          gradient[2] = -weight * fitted.rate;
          break;
        }
        case GrowthModelKind::bass: {
          const double p = fitted.innovation;
          const double q = fitted.imitation;
          const double s = t - launch_;
          const double exponent = (p + q) * s;
          const double imitation_weight = sigmoid(std::log(q / p) - exponent);
          if (fitted.adoption_flow) {
            // d ln f / d ln p and d ln q, from ln f = 2 ln(p+q) - (p+q)s - ln p - 2 ln(1 + (q/p)e^{-(p+q)s}).
            gradient[1] = 2 * p / (p + q) - p * s - 1 + 2 * imitation_weight * (1 + p * s);
            gradient[2] = 2 * q / (p + q) - q * s - 2 * imitation_weight * (1 - q * s);
            break;
          }
          const double early = s / std::expm1(exponent);
          gradient[1] = p * early + imitation_weight * (1 + p * s);
          gradient[2] = q * early - imitation_weight * (1 - q * s);
          break;
        }
        case GrowthModelKind::automatic: break;
      }
      for (Eigen::Index k = 0; k < result.cols(); ++k) {
        const std::size_t slot = fitted_slots_[index(k)];
        // d ln K / d theta_K = sigmoid(theta_K); every other theta is its u.
        result(i, k) = gradient[slot] * (is_market_size(slot) ? sigmoid(theta[k]) : 1.0);
      }
    }
    return result;
  }

  std::vector<Eigen::VectorXd> starting_points() const {
    std::vector<std::vector<double>> starts;
    switch (kind_) {
      case GrowthModelKind::exponential: starts = exponential_starts(); break;
      case GrowthModelKind::logistic:
      case GrowthModelKind::gompertz: starts = saturating_starts(); break;
      case GrowthModelKind::bass: starts = bass_starts(); break;
      case GrowthModelKind::automatic: break;
    }
    std::vector<Eigen::VectorXd> thetas;
    for (const auto& start : starts) thetas.push_back(theta_at(start));
    return thetas;
  }

  // The theta of an existing fit of this model, so that a refit to similar data starts next to
  // its answer.
  Eigen::VectorXd theta_of(const GrowthFit& fit) const {
    const Curve fitted = curve_of(fit);
    switch (kind_) {
      case GrowthModelKind::exponential: return theta_at({fitted.log_scale, fitted.rate});
      case GrowthModelKind::logistic:
      case GrowthModelKind::gompertz: return theta_at({fitted.log_scale, std::log(fitted.rate), fitted.midpoint});
      case GrowthModelKind::bass:
        return theta_at({fitted.log_scale, std::log(fitted.innovation), std::log(fitted.imitation)});
      case GrowthModelKind::automatic: break;
    }
    return {};
  }

  GrowthFit describe(const Eigen::VectorXd& theta, bool converged) const {
    const std::vector<double> u = internal(theta);
    const Curve fitted = curve_at(u);
    GrowthFit fit;
    fit.kind = kind_;
    fit.constraints = constraints_;
    for (std::size_t slot = 0; slot < names_.size(); ++slot) {
      // A held value is reported as given, not as the exponential of its logarithm.
      const double value = held_[slot] ? *held_[slot] : must_be_positive(names_[slot]) ? std::exp(u[slot]) : u[slot];
      fit.parameters.push_back({names_[slot], value});
    }
    if (kind_ == GrowthModelKind::exponential) fit.reference_time = reference_time_;
    if (kind_ == GrowthModelKind::bass) fit.launch = launch_;
    const std::size_t count = times_.size();
    const auto n = static_cast<double>(count);
    fit.observations = static_cast<int>(count);
    fit.free_parameters = static_cast<int>(free_parameters());
    fit.converged = converged;

    const Eigen::VectorXd residual = residuals(theta);
    fit.log_residuals.assign(residual.begin(), residual.end());
    const double squared_residuals = residual.squaredNorm();
    fit.log_rmse = std::sqrt(squared_residuals / n);

    double relative_errors = 0;
    double mean_log_volume = 0;
    for (std::size_t i = 0; i < count; ++i) {
      relative_errors += std::abs(std::exp(log_volume(fitted, times_[i])) - volumes_[i]) / volumes_[i];
      mean_log_volume += log_volumes_[i] / n;
    }
    fit.mape = relative_errors / n;

    double total_squares = 0;
    for (double value : log_volumes_) total_squares += (value - mean_log_volume) * (value - mean_log_volume);
    fit.r_squared = count < 2 || total_squares == 0 ? std::numeric_limits<double>::quiet_NaN()
                                                    : 1 - squared_residuals / total_squares;

    // The residual variance is estimated too, so it counts as a parameter; held ones do not.
    const double k = static_cast<double>(fit.free_parameters + 1);
    if (n - k - 1 > 0) {
      const double variance = std::max(squared_residuals / n, kSmallestMeaningfulVariance);
      fit.aicc = n * std::log(variance) + 2 * k + 2 * k * (k + 1) / (n - k - 1);
    }
    return fit;
  }

 private:
  double time(Eigen::Index i) const { return times_[index(i)]; }
  static std::size_t index(Eigen::Index i) { return static_cast<std::size_t>(i); }
  bool is_market_size(std::size_t slot) const { return kind_ != GrowthModelKind::exponential && slot == 0; }

  // u of every parameter, from theta and the held values.
  std::vector<double> internal(const Eigen::VectorXd& theta) const {
    std::vector<double> u(names_.size());
    for (std::size_t slot = 0; slot < names_.size(); ++slot) {
      if (held_[slot]) u[slot] = must_be_positive(names_[slot]) ? std::log(*held_[slot]) : *held_[slot];
    }
    for (std::size_t k = 0; k < fitted_slots_.size(); ++k) {
      const std::size_t slot = fitted_slots_[k];
      const double value = theta[static_cast<Eigen::Index>(k)];
      u[slot] = is_market_size(slot) ? std::log(largest_volume_) + softplus(value) : value;
    }
    return u;
  }

  // theta from a full u; the u of held parameters is ignored. A K at or below the largest
  // observation is lifted just above it, the nearest value the parametrisation can express.
  Eigen::VectorXd theta_at(const std::vector<double>& u) const {
    Eigen::VectorXd theta(free_parameters());
    for (std::size_t k = 0; k < fitted_slots_.size(); ++k) {
      const std::size_t slot = fitted_slots_[k];
      theta[static_cast<Eigen::Index>(k)] =
          is_market_size(slot) ? std::log(std::max(std::expm1(u[slot] - std::log(largest_volume_)), 0.01)) : u[slot];
    }
    return theta;
  }

  Curve curve_at(const std::vector<double>& u) const {
    Curve result;
    result.kind = kind_;
    result.log_scale = u[0];
    switch (kind_) {
      case GrowthModelKind::exponential:
        result.rate = u[1];
        result.origin = reference_time_;
        break;
      case GrowthModelKind::logistic:
      case GrowthModelKind::gompertz:
        result.rate = std::exp(u[1]);
        result.midpoint = u[2];
        break;
      case GrowthModelKind::bass:
        result.innovation = std::exp(u[1]);
        result.imitation = std::exp(u[2]);
        result.origin = launch_;
        result.adoption_flow = !constraints_.cumulative;
        break;
      case GrowthModelKind::automatic: break;
    }
    return result;
  }

  std::vector<double> shifted_times() const {
    std::vector<double> shifted;
    for (double t : times_) shifted.push_back(t - reference_time_);
    return shifted;
  }

  // A straight line in ln V, through the held parameter when there is one.
  std::vector<std::vector<double>> exponential_starts() const {
    const auto shifted = shifted_times();
    const auto n = static_cast<double>(times_.size());
    if (held_[1]) {
      const double rate = *held_[1];
      double log_scale = 0;
      for (std::size_t i = 0; i < shifted.size(); ++i) log_scale += (log_volumes_[i] - rate * shifted[i]) / n;
      return {{log_scale, rate}};
    }
    if (held_[0]) {
      const double log_scale = std::log(*held_[0]);
      double numerator = 0;
      double denominator = 0;
      for (std::size_t i = 0; i < shifted.size(); ++i) {
        numerator += (log_volumes_[i] - log_scale) * shifted[i];
        denominator += shifted[i] * shifted[i];
      }
      return {{log_scale, denominator > 0 ? numerator / denominator : 0.0}};
    }
    const auto line = regress(shifted, log_volumes_);
    return {{line.intercept, line.slope}};
  }

  std::vector<double> market_size_guesses() const {
    if (held_[0]) return {*held_[0]};
    std::vector<double> guesses;
    for (double multiple : {1.1, 1.5, 2.0, 3.0, 5.0, 10.0, 30.0}) guesses.push_back(largest_volume_ * multiple);
    return guesses;
  }

  // The early growth rate of the data, used where a curve's own linearisation has no answer.
  double log_slope() const {
    const double slope = regress(times_, log_volumes_).slope;
    return slope > 0.05 ? slope : 0.5;
  }

  // For a guessed K both curves become straight lines in t: ln(K/V - 1) = -r (t - t0) for the
  // logistic and ln(ln(K/V)) = -r (t - t0) for the Gompertz; regression then gives r and t0
  // (with one of them held, the other by least squares alone).
  std::vector<std::vector<double>> saturating_starts() const {
    std::vector<std::vector<double>> starts;
    const auto n = static_cast<double>(times_.size());
    for (double market_size : market_size_guesses()) {
      std::vector<double> linearised;
      for (double volume : volumes_) {
        linearised.push_back(kind_ == GrowthModelKind::logistic ? std::log(market_size / volume - 1)
                                                                 : std::log(std::log(market_size / volume)));
      }
      double rate = 0;
      double midpoint = 0;
      if (held_[1] && held_[2]) {
        rate = *held_[1];
        midpoint = *held_[2];
      } else if (held_[1]) {
        rate = *held_[1];
        for (std::size_t i = 0; i < times_.size(); ++i) midpoint += (times_[i] + linearised[i] / rate) / n;
      } else if (held_[2]) {
        midpoint = *held_[2];
        double numerator = 0;
        double denominator = 0;
        for (std::size_t i = 0; i < times_.size(); ++i) {
          numerator -= linearised[i] * (times_[i] - midpoint);
          denominator += (times_[i] - midpoint) * (times_[i] - midpoint);
        }
        rate = numerator / denominator;
      } else {
        const auto line = regress(times_, linearised);
        rate = -line.slope;
        midpoint = line.intercept / rate;
      }
      if (!(rate > 0) || !std::isfinite(midpoint)) {
        rate = held_[1] ? *held_[1] : log_slope();
        midpoint = held_[2] ? *held_[2] : times_.back();
      }
      starts.push_back({std::log(market_size), std::log(rate), midpoint});
    }
    // Data still growing fast: put the inflection near the last observation, at the level where
    // each curve has its inflection (K/2 for the logistic, K/e for the Gompertz).
    const auto last = static_cast<std::size_t>(std::max_element(times_.begin(), times_.end()) - times_.begin());
    const double level_at_inflection = kind_ == GrowthModelKind::logistic ? 2.0 : std::exp(1.0);
    starts.push_back({std::log(volumes_[last] * level_at_inflection), std::log(log_slope()), times_[last]});
    return starts;
  }

  // A grid over (p, q) with ln K profiled out (for given p and q it is the mean of ln y - ln F);
  // the best few grid points start the optimiser. A held p, q or K replaces its grid.
  std::vector<std::vector<double>> bass_starts() const {
    struct Candidate {
      double squared_residuals;
      std::vector<double> u;
    };
    std::vector<Candidate> candidates;
    const auto n = static_cast<double>(times_.size());
    const std::vector<double> innovations =
        held_[1] ? std::vector<double>{*held_[1]} : std::vector<double>{0.001, 0.003, 0.01, 0.03, 0.1};
    const std::vector<double> imitations =
        held_[2] ? std::vector<double>{*held_[2]} : std::vector<double>{0.05, 0.1, 0.2, 0.4, 0.7, 1.0, 1.5};
    for (double p : innovations) {
      for (double q : imitations) {
        std::vector<double> log_fractions;
        double log_market = 0;
        for (std::size_t i = 0; i < times_.size(); ++i) {
          log_fractions.push_back(constraints_.cumulative ? log_bass_fraction(p, q, times_[i] - launch_)
                                                          : log_bass_density(p, q, times_[i] - launch_));
          log_market += (log_volumes_[i] - log_fractions.back()) / n;
        }
        log_market = held_[0] ? std::log(*held_[0]) : std::max(log_market, std::log(largest_volume_ * 1.01));
        double squared_residuals = 0;
        for (std::size_t i = 0; i < times_.size(); ++i) {
          const double residual = log_market + log_fractions[i] - log_volumes_[i];
          squared_residuals += residual * residual;
        }
        if (!std::isfinite(squared_residuals)) continue;
        candidates.push_back({squared_residuals, {log_market, std::log(p), std::log(q)}});
      }
    }
    std::sort(candidates.begin(), candidates.end(),
              [](const Candidate& a, const Candidate& b) { return a.squared_residuals < b.squared_residuals; });
    std::vector<std::vector<double>> starts;
    for (std::size_t i = 0; i < std::min<std::size_t>(candidates.size(), 6); ++i) starts.push_back(candidates[i].u);
    return starts;
  }

  GrowthModelKind kind_;
  CurveConstraints constraints_;
  std::vector<std::string> names_;
  std::vector<std::optional<double>> held_;  // per parameter: its held value, or empty when fitted
  std::vector<std::size_t> fitted_slots_;    // the parameters theta holds, in order
  double launch_;
  std::vector<double> times_;
  std::vector<double> log_volumes_;
  std::vector<double> volumes_;
  double largest_volume_ = 0;
  double reference_time_ = 0;
};

void check_observations(const std::vector<Observation>& observations, const CurveConstraints& constraints) {
  if (observations.empty()) throw InputError({}, "", "there are no observations to fit a growth model to");
  double largest = 0;
  for (const auto& observation : observations) {
    if (!std::isfinite(observation.time) || !std::isfinite(observation.volume) || observation.volume <= 0) {
      throw InputError({}, "", fmt::format("the observation ({}, {}) cannot be fitted", observation.time, observation.volume),
                       "a finite time and a positive finite volume");
    }
    largest = std::max(largest, observation.volume);
  }
  const auto market_size = given_market_size(constraints);
  if (market_size && !(std::isfinite(*market_size) && *market_size > largest)) {
    const bool fixed = constraints.fixed.count("K") > 0;
    throw InputError({}, fixed ? "fixed.K" : "market_size",
                     fmt::format("the market size ({}) must exceed the largest observed volume ({})", *market_size, largest),
                     "a market size above every observed volume");
  }
}

void check_model_fits(GrowthModelKind kind, const std::vector<Observation>& observations,
                      const CurveConstraints& constraints) {
  const int needed = free_parameter_count(kind, constraints);
  if (static_cast<int>(observations.size()) < needed) {
    throw InputError({}, "",
                     fmt::format("the {} model needs at least {} observations for its {} free parameters; there are {}",
                                 to_string(kind), needed, needed, observations.size()));
  }
  if (kind == GrowthModelKind::bass) {
    const double launch = constraints.launch;
    const double earliest =
        std::min_element(observations.begin(), observations.end(), [](const auto& a, const auto& b) {
          return a.time < b.time;
        })->time;
    if (!std::isfinite(launch) || launch >= earliest) {
      throw InputError({}, "launch",
                       fmt::format("the Bass model has no adoption before its launch ({}), but there is an observation at {}",
                                   launch, earliest),
                       "a launch before the first observation");
    }
  }
}

// "logistic 0.62, exponential 0.31 and gompertz 0.07", heaviest first.
std::string describe_weights(const std::vector<GrowthFit>& candidates, const std::vector<double>& weights) {
  std::vector<std::size_t> order;
  for (std::size_t i = 0; i < candidates.size(); ++i) {
    if (weights[i] >= 0.005) order.push_back(i);  // what would print as 0.00 is left out
  }
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return weights[a] > weights[b]; });
  std::vector<std::string> parts;
  for (std::size_t i : order) parts.push_back(fmt::format("{} {:.2f}", to_string(candidates[i].kind), weights[i]));
  return join_names(parts);
}

}  // namespace

std::vector<std::string> parameter_names(GrowthModelKind kind) {
  switch (kind) {
    case GrowthModelKind::exponential: return {"a", "b"};
    case GrowthModelKind::logistic:
    case GrowthModelKind::gompertz: return {"K", "r", "t0"};
    case GrowthModelKind::bass: return {"K", "p", "q"};
    case GrowthModelKind::automatic: break;
  }
  return {};
}

double GrowthFit::parameter(const std::string& name) const {
  for (const auto& named : parameters) {
    if (named.name == name) return named.value;
  }
  throw std::out_of_range(fmt::format("the {} growth fit has no parameter '{}'", to_string(kind), name));
}

double GrowthFit::predict(double time) const { return std::exp(log_volume(curve_of(*this), time)); }

double GrowthFit::yearly_volume(int year) const {
  return constraints.cumulative ? predict(year + 1.0) - predict(year) : predict(year + 0.5);
}

GrowthFit fit_growth(GrowthModelKind kind, const std::vector<Observation>& observations,
                     const CurveConstraints& constraints) {
  if (kind == GrowthModelKind::automatic) return choose_growth_model(kind, observations, constraints).chosen;
  check_fixed_names(kind, constraints);
  check_fixed_values(constraints);
  check_observations(observations, constraints);
  check_model_fits(kind, observations, constraints);
  const CurveProblem problem(kind, observations, constraints);
  const Solution solution = best_of(problem, problem.starting_points());
  if (!solution.found) {
    throw InputError({}, "", fmt::format("the {} model has no finite fit to these {} observations", to_string(kind),
                                         observations.size()));
  }
  return problem.describe(solution.theta, solution.converged);
}

ModelChoice choose_growth_model(GrowthModelKind kind, const std::vector<Observation>& observations,
                                const CurveConstraints& constraints) {
  ModelChoice choice;
  if (kind != GrowthModelKind::automatic) {
    choice.chosen = fit_growth(kind, observations, constraints);
    choice.candidates = {choice.chosen};
    choice.weights = {1.0};
    choice.reason = fmt::format("the {} model was asked for, so no other model was compared", to_string(kind));
    return choice;
  }
  // Wrong constraints or a market size below the data are mistakes in the input, not reasons to
  // skip a model.
  const auto models = models_with_fixed_names(constraints);
  check_fixed_values(constraints);
  check_observations(observations, constraints);
  std::vector<std::string> problems;
  for (GrowthModelKind candidate : models) {
    try {
      choice.candidates.push_back(fit_growth(candidate, observations, constraints));
    } catch (const InputError& error) {
      problems.push_back(error.what());
    }
  }
  if (choice.candidates.empty()) {
    throw InputError({}, "", fmt::format("no growth model could be fitted: {}", fmt::join(problems, "; ")));
  }

  // A model the optimiser did not settle is compared only when no model settled.
  std::vector<const GrowthFit*> eligible;
  for (const auto& fit : choice.candidates) {
    if (fit.converged) eligible.push_back(&fit);
  }
  if (eligible.empty()) {
    for (const auto& fit : choice.candidates) eligible.push_back(&fit);
  }

  std::vector<std::string> unsettled;
  for (const auto& fit : choice.candidates) {
    if (std::find(eligible.begin(), eligible.end(), &fit) == eligible.end()) unsettled.push_back(to_string(fit.kind));
  }

  // A model with no residual degree of freedom reproduces its history exactly and has no
  // estimate of the noise, so no interval: it joins only when no model has one.
  const auto observation_count = static_cast<int>(observations.size());
  std::vector<const GrowthFit*> pool;
  std::vector<std::string> exact;
  for (const auto* fit : eligible) {
    if (observation_count > fit->free_parameters) {
      pool.push_back(fit);
    } else {
      exact.push_back(to_string(fit->kind));
    }
  }
  if (pool.empty()) {
    pool = eligible;
    exact.clear();
  }

  // Akaike weights when every model in the pool has an AICc; equal weights when some have none:
  // with so few observations the data cannot rank the curves, and letting the simplest win would
  // hide the very uncertainty the average carries into the interval.
  choice.weights.assign(choice.candidates.size(), 0.0);
  const bool every_aicc = std::all_of(pool.begin(), pool.end(), [](const GrowthFit* fit) { return fit->aicc.has_value(); });
  double best_aicc = std::numeric_limits<double>::infinity();
  for (const auto* fit : pool) {
    if (every_aicc) best_aicc = std::min(best_aicc, *fit->aicc);
  }
  double total = 0;
  for (std::size_t i = 0; i < choice.candidates.size(); ++i) {
    const GrowthFit* fit = &choice.candidates[i];
    if (std::find(pool.begin(), pool.end(), fit) == pool.end()) continue;
    choice.weights[i] = every_aicc ? std::exp(-(*fit->aicc - best_aicc) / 2) : 1.0;
    total += choice.weights[i];
  }
  for (double& weight : choice.weights) weight /= total;
  // The heaviest model stands for the average where one curve is shown; ties go to the model
  // with fewer free parameters, then the lower residual error.
  std::size_t heaviest = 0;
  for (std::size_t i = 1; i < choice.candidates.size(); ++i) {
    const auto& fit = choice.candidates[i];
    const auto& best = choice.candidates[heaviest];
    const double difference = choice.weights[i] - choice.weights[heaviest];
    if (difference > 1e-12 || (std::abs(difference) <= 1e-12 && choice.weights[i] > 0 &&
                               std::tie(fit.free_parameters, fit.log_rmse) < std::tie(best.free_parameters, best.log_rmse))) {
      heaviest = i;
    }
  }
  choice.chosen = choice.candidates[heaviest];

  if (pool.size() == 1) {
    choice.reason = fmt::format("{}, the only model ", to_string(choice.chosen.kind)) +
                    (exact.empty() ? std::string("that could be fitted") : std::string("with a residual degree of freedom"));
  } else if (every_aicc) {
    std::vector<double> sorted;
    for (const auto* fit : pool) sorted.push_back(*fit->aicc);
    std::sort(sorted.begin(), sorted.end());
    choice.reason = fmt::format("weights by AICc: {}", describe_weights(choice.candidates, choice.weights));
    if (sorted[1] - sorted[0] < 2) {
      choice.reason += fmt::format("; the data cannot tell the best two apart (ΔAICc {:.1f} < 2), so the projection averages the models",
                                   sorted[1] - sorted[0]);
    } else if (choice.weights[heaviest] < 0.99) {
      choice.reason += "; the projection averages the models";
    }
  } else {
    choice.reason = fmt::format(
        "{} observations are too few to rank the models by AICc (a model with k parameters needs n > k + 2); "
        "the projection averages {} with equal weights",
        observation_count, describe_weights(choice.candidates, choice.weights));
  }
  if (!exact.empty()) {
    choice.reason += fmt::format("; {} {} no residual degree of freedom and {} left out{}", join_names(exact),
                                 exact.size() == 1 ? "has" : "have", exact.size() == 1 ? "is" : "are",
                                 given_market_size(constraints) ? "" : " (a stated market_size would leave one more)");
  }
  if (!unsettled.empty()) {
    choice.reason += fmt::format("; {} did not converge and {} left out", join_names(unsettled),
                                 unsettled.size() == 1 ? "was" : "were");
  }
  if (!choice.chosen.converged) choice.reason += "; note that no model's fit fully converged";
  if (models.size() < std::size(kFittableModels)) {
    std::vector<std::string> names;
    for (GrowthModelKind model : models) names.push_back(to_string(model));
    choice.reason += fmt::format("; only {} {} the fixed parameters {}", join_names(names),
                                 models.size() == 1 ? "has" : "have", join_names(fixed_names(constraints)));
  }
  return choice;
}

std::vector<std::vector<double>> draw_log_volumes(const GrowthFit& fit, const std::vector<Observation>& observations,
                                                  const std::vector<double>& times, int draws, Random& random) {
  const std::size_t count = observations.size();
  const int degrees_of_freedom = static_cast<int>(count) - fit.free_parameters;
  std::vector<std::vector<double>> result;
  // A fit with nothing fitted has no refits to vary, and one with no residual degree of freedom
  // no estimate of the noise: neither has an interval.
  if (fit.free_parameters == 0 || degrees_of_freedom <= 0 || draws <= 0) return result;
  if (fit.log_residuals.size() != count) {
    throw std::invalid_argument("draw_log_volumes needs the observations the fit was made on");
  }
  double squared_residuals = 0;
  for (double residual : fit.log_residuals) squared_residuals += residual * residual;
  const double residual_variance = squared_residuals / degrees_of_freedom;

  const Curve fitted = curve_of(fit);
  std::vector<Observation> simulated(count);
  // A refit that finds no finite curve is drawn again with new noise; after this many tries in a
  // row the draw is left out. A refit that stops short of the tolerances is kept: on these short
  // histories that is mostly a market size drifting off to infinity because the simulated history
  // shows no saturation, and leaving such draws out would keep exactly the wide ones out.
  constexpr int kTries = 4;
  // A refit starts next to the fit's answer, so it needs far fewer steps than a fit from scratch.
  constexpr int kRefitEvaluations = 300;
  for (int draw = 0; draw < draws; ++draw) {
    for (int attempt = 0; attempt < kTries; ++attempt) {
      // The noise level is itself uncertain with few degrees of freedom: sigma^2 = s^2 nu / chi^2_nu.
      // For a model linear in its parameters this makes the draws' quantiles exactly the
      // Student-t prediction interval with nu degrees of freedom.
      const double sigma = std::sqrt(residual_variance * degrees_of_freedom / std::max(random.chi_squared(degrees_of_freedom), 1e-300));
      for (std::size_t i = 0; i < count; ++i) {
        simulated[i].time = observations[i].time;
        simulated[i].volume = std::exp(log_volume(fitted, observations[i].time) + sigma * random.normal());
      }
      const CurveProblem problem(fit.kind, simulated, fit.constraints);
      Solution solution = minimise(problem, problem.theta_of(fit), kRefitEvaluations);
      if (!solution.found) solution = best_of(problem, problem.starting_points());
      if (!solution.found) continue;
      const Curve refitted = problem.curve(solution.theta);
      std::vector<double> path;
      path.reserve(times.size());
      // One deviation from the curve per draw, shared by its times: each time's distribution is
      // the same as with a deviation of its own, and the draw stays a smooth curve, so the date it
      // crosses a capacity is the trend's and not one year's noise.
      const double deviation = sigma * random.normal();
      for (double time : times) path.push_back(log_volume(refitted, time) + deviation);
      if (std::all_of(path.begin(), path.end(), [](double value) { return std::isfinite(value); })) {
        result.push_back(std::move(path));
        break;
      }
    }
  }
  return result;
}

std::vector<Observation> observations_of(const Series& series) {
  const std::string periods_field = fmt::format("history.series.{}.periods", series.name);
  std::map<int, std::set<int>> months_by_year;
  std::vector<Observation> observations;
  for (const auto& period : series.periods) {
    const std::string what =
        fmt::format("{}-{:02} to {}-{:02}", period.first_year, period.first_month, period.last_year, period.last_month);
    for (int month : {period.first_month, period.last_month}) {
      if (month < 1 || month > 12) {
        throw InputError(series.where, periods_field, fmt::format("{} has no month {}", what, month), "months 1 to 12");
      }
    }
    const int months = period.months();
    if (months < 1) {
      throw InputError(series.where, periods_field, fmt::format("{} ends before it starts", what),
                       "a last month at or after the first");
    }
    if (!std::isfinite(period.volume) || period.volume <= 0) {
      throw InputError(series.where, periods_field, fmt::format("{} has volume {}", what, period.volume), "a positive volume");
    }
    for (int offset = 0; offset < months; ++offset) {
      const int year = period.first_year + (period.first_month - 1 + offset) / 12;
      const int month = (period.first_month - 1 + offset) % 12 + 1;
      if (!months_by_year[year].insert(month).second) {
        throw InputError(series.where, periods_field, fmt::format("{}-{:02} is counted in more than one period", year, month),
                         "monthly volumes and periods that do not overlap");
      }
    }
    const double start = period.first_year + (period.first_month - 1) / 12.0;
    observations.push_back({start + months / 24.0, period.volume * 12 / months});
  }
  for (const auto& [year, volume] : series.yearly) {
    const auto covered = months_by_year.find(year);
    if (covered != months_by_year.end() && covered->second.size() == 12) continue;
    if (!std::isfinite(volume) || volume <= 0) {
      throw InputError(series.where, fmt::format("history.series.{}.yearly", series.name),
                       fmt::format("{} has volume {}", year, volume), "a positive volume");
    }
    // A stock is counted at the year's end; a flow's total stands for the middle of its year.
    observations.push_back({series.cumulative ? year + 1.0 : year + 0.5, volume});
  }
  std::stable_sort(observations.begin(), observations.end(),
                   [](const Observation& a, const Observation& b) { return a.time < b.time; });
  return observations;
}

CurveConstraints constraints_of(const Series& series) {
  CurveConstraints constraints;
  constraints.market_size = series.market_size;
  constraints.fixed = series.fixed;
  constraints.cumulative = series.cumulative;
  if (series.launch) {
    constraints.launch = *series.launch;
    return constraints;
  }
  std::optional<double> start;
  if (!series.yearly.empty()) start = series.yearly.begin()->first;
  for (const auto& period : series.periods) {
    const double period_start = period.first_year + (period.first_month - 1) / 12.0;
    if (!start || period_start < *start) start = period_start;
  }
  constraints.launch = start.value_or(0.0);
  return constraints;
}

double bass_fraction(double p, double q, double s) {
  if (s <= 0 || p <= 0) return 0;
  return std::exp(log_bass_fraction(p, q, s));
}

double bass_density(double p, double q, double s) {
  if (s <= 0 || p <= 0) return 0;
  return std::exp(log_bass_density(p, q, s));
}

double bass_fraction_by_recursion(double p, double q, double step, int steps) {
  double adopted = 0;
  for (int k = 0; k < steps; ++k) adopted += (p + q * adopted) * (1 - adopted) * step;
  return adopted;
}

}  // namespace uptake::sim
