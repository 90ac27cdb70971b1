#pragma once
// Growth curves for yearly demand, fitted to history by nonlinear least squares
// (Eigen's Levenberg-Marquardt) and projected forward with a prediction interval.
//
// Every model describes V(t): the annualised volume (uses per year) at time t, where t is a
// fractional calendar year (2021.5 is the middle of 2021). A yearly total is taken as V at the
// middle of its year; the volume of a period of whole months, annualised (times 12 / months), as
// V at the middle of the period.
//
// Fits are made on the log scale (residual = ln V(t_i) - ln y_i): demand series span orders of
// magnitude and their errors are multiplicative, so a 10% miss weighs the same in 2020 and 2030.
// Bounds are kept by reparametrisation (a positive parameter is fitted as its logarithm; a market
// size above the largest observation as max * (1 + exp(theta))), never by clipping.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "uptake/base/random.hpp"
#include "uptake/sim/scenario.hpp"

namespace uptake::sim {

struct Observation {
  double time = 0;    // fractional calendar year
  double volume = 0;  // annualised volume, > 0
};

struct NamedParameter {
  std::string name;   // "a", "b", "K", "r", "t0", "p", "q"
  double value = 0;
};

// The models, with their parameters:
//   exponential  V = a * exp(b * (t - t_ref))                      a > 0; t_ref = first observation time
//   logistic     V = K / (1 + exp(-r * (t - t0)))                  K > 0, r > 0
//   gompertz     V = K * exp(-exp(-r * (t - t0)))                  K > 0, r > 0
//   bass         V = K * f(t - launch) for a flow (adoptions per year), f = dF/ds, or
//                V = K * F(t - launch) for a stock (adopters so far, CurveConstraints::cumulative),
//                F(s) = (1 - e^{-(p+q)s}) / (1 + (q/p) e^{-(p+q)s}) for s > 0, 0 before launch;
//                                                                  K > 0, p > 0, q > 0
// A fitted K is kept above the largest observation.

// The parameters of a model, in the order GrowthFit::parameters lists them; none for automatic.
std::vector<std::string> parameter_names(GrowthModelKind kind);

// What a fit must respect besides the data.
//   market_size  K of the saturating models (logistic, gompertz, bass), held at this value; it
//                must exceed every observed volume. The exponential model ignores it.
//   launch       bass only: adoption start (fractional year), before the first observation.
//   fixed        parameters held at these values instead of fitted, by the names above ("q": 0.38).
//                Every name must be a parameter of the model (with the automatic choice: only
//                models that have every name are candidates), every value finite and inside its
//                bound. Fixed "K" is the same as market_size (both given: they must agree), except
//                that it also names K, so an automatic choice leaves out the exponential model.
// A fixed parameter is not a free one: it counts in no observation minimum, degree of freedom or
// AICc, keeps its value in GrowthFit::parameters and stays fixed in the bootstrap refits. A model
// with every parameter fixed is fitted to nothing: its residuals are reported, its projection
// has no interval.
// (Every member has an initialiser, so designated initialisers may name only some of them.)
struct CurveConstraints {
  std::optional<double> market_size{};
  double launch = 0;
  std::map<std::string, double> fixed{};
  // The series is a stock (adopters, holders: the count reached by each time) rather than a flow
  // (issuances, uses per year). Every model then describes the stock; with a flow, Bass describes
  // the adoptions per year, K f(t - launch) with f = dF/ds, and K is the market in adopters.
  bool cumulative = false;
};

// The constraints a series states: its market size and fixed parameters, and its launch, or by
// default the start of its history (its first yearly year, 2021.0, or the start of its first
// period when that is earlier).
CurveConstraints constraints_of(const Series& series);

struct GrowthFit {
  GrowthModelKind kind = GrowthModelKind::exponential;
  std::vector<NamedParameter> parameters;  // every parameter of the model, fixed ones included
  CurveConstraints constraints;   // as the fit was asked for; the bootstrap refits keep them
  double launch = 0;              // bass only: adoption start (fractional year)
  double reference_time = 0;      // exponential only: t_ref
  int observations = 0;           // n
  int free_parameters = 0;        // parameters fitted (those fixed, or K given as a market size, excluded)
  std::vector<double> log_residuals;  // ln V(t_i) - ln y_i, in observation order
  double log_rmse = 0;            // sqrt(mean(log_residuals^2))
  double mape = 0;                // mean |V(t_i) - y_i| / y_i
  double r_squared = 0;           // on the log scale: 1 - SSR / SST; NaN with one observation
  std::optional<double> aicc;     // corrected AIC on the log scale, k = free_parameters + 1 (the
                                  // variance); empty when n <= k + 1
  bool converged = false;

  double parameter(const std::string& name) const;  // throws std::out_of_range for an unknown name
  double predict(double time) const;                // V(time), annualised volume
  // The volume of `year`: V at mid-year for a flow; for a stock (constraints.cumulative) what
  // the year adds to it, V at its end less V at its start.
  double yearly_volume(int year) const;
};

// Fits one model. Throws InputError when the constraints do not suit the model (field
// "fixed.<name>", "market_size" or "launch") or the model cannot be fitted to these observations
// (too few points for its free parameters, or no finite solution).
GrowthFit fit_growth(GrowthModelKind kind, const std::vector<Observation>& observations,
                     const CurveConstraints& constraints);

struct ModelChoice {
  GrowthFit chosen;                   // the candidate with the largest weight
  std::vector<GrowthFit> candidates;  // every model that could be fitted, chosen one included
  std::vector<double> weights;        // per candidate, summing to 1: its share of the averaged projection
  std::string reason;                 // one sentence for people: how the weights came about
};

// kind == automatic: fits every model that has all the fixed parameter names and weighs them.
// Models the optimiser did not settle, and models with no residual degree of freedom (n <= free
// parameters: an exact fit, with no noise estimate and so no interval), get no weight unless no
// model is left. The rest are weighted by AICc (Akaike weights, exp(-dAICc / 2) normalised)
// when each has an AICc, and equally otherwise: too few observations to rank the curves is a
// reason to average them, not to let the simplest win. Throws InputError for a fixed name no model has
// ("fixed.<name>"), fixed names no one model has together ("fixed"), a fixed value out of bounds
// or a market size below the data. Any other kind: fits that model alone, with weight 1.
ModelChoice choose_growth_model(GrowthModelKind kind, const std::vector<Observation>& observations,
                                const CurveConstraints& constraints);

struct YearProjection {
  int year = 0;
  double volume = 0;                 // point projection
  std::optional<double> lower;       // prediction interval bounds; empty when the fit has no
  std::optional<double> upper;       // residual degrees of freedom (an exact fit) or nothing fitted
};

// Draws from the predictive distribution of one fit: each draw is ln V at every one of `times`,
// a plausible future of the series. A parametric bootstrap that refits: each draw takes a noise
// level sigma^2 = s^2 nu / chi^2_nu (s^2 the residual variance, nu = n - free parameters its
// degrees of freedom), simulates the history around the fitted curve with that noise on the log
// scale, refits (fit.constraints held), and adds to the refitted curve a deviation with the same
// sigma, one per draw shared by its times (each time's distribution is as with its own). For a model linear in its parameters (the exponential) the draws'
// quantiles are exactly the Student-t prediction interval; for the others the refits carry the
// curve's nonlinearity and bounds. Empty when the fit has no residual degree of freedom
// (n <= free parameters) or nothing fitted. `observations` must be those the fit was made on.
std::vector<std::vector<double>> draw_log_volumes(const GrowthFit& fit, const std::vector<Observation>& observations,
                                                  const std::vector<double>& times, int draws, Random& random);

// Observations of a series, in time order: yearly totals at mid-year; each period's volume
// annualised (x 12 / months) at the middle of the period (first_year + (first_month - 1) / 12 +
// months / 24). A year whose every month lies inside some period drops its yearly total; a year
// only partly covered keeps it beside its periods. Throws InputError (field
// "history.series.<name>.periods" or ".yearly") for a malformed month, volume or overlap.
std::vector<Observation> observations_of(const Series& series);

// Bass diffusion, closed form: cumulative adopted fraction F(s) after s years.
double bass_fraction(double p, double q, double s);
// Its density f(s) = dF/ds: the share of the market adopting per year, s years after launch.
double bass_density(double p, double q, double s);
// The same process by its discrete recursion, N_{k+1} = N_k + (p + q N_k)(1 - N_k) * step,
// returning F at s = step * steps. Converges to bass_fraction as step shrinks.
double bass_fraction_by_recursion(double p, double q, double step, int steps);

}  // namespace uptake::sim
