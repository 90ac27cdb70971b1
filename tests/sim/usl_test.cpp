#include "uptake/sim/usl.hpp"

#include <catch2/catch.hpp>

#include <cmath>
#include <stdexcept>
#include <vector>

using uptake::sim::fit_scalability;
using uptake::sim::ScalabilityModel;
using uptake::sim::ScalabilityPoint;

namespace {

// Catch's Approx also accepts a relative error of about 1e-5 unless told otherwise; a published
// figure is checked to its printed digits alone.
Approx to_printed_digits(double value, double half_unit) { return Approx(value).epsilon(0).margin(half_unit); }

std::vector<ScalabilityPoint> points_of(const std::vector<double>& loads, const std::vector<double>& throughputs) {
  std::vector<ScalabilityPoint> points;
  for (std::size_t i = 0; i < loads.size(); ++i) points.push_back({loads[i], throughputs[i]});
  return points;
}

double squared_residuals(const ScalabilityModel& model, const std::vector<ScalabilityPoint>& points) {
  double sum = 0;
  for (const auto& point : points) sum += std::pow(model.throughput(point.load) - point.throughput, 2);
  return sum;
}

}  // namespace

TEST_CASE("the law and its peak", "[usl]") {
  const ScalabilityModel model{0.02, 0.02, 1};
  CHECK(model.throughput(1) == 1);
  CHECK(model.throughput(2) == Approx(2 / 1.06));
  const auto peak = model.peak();
  REQUIRE(peak.has_value());
  CHECK(peak->load == Approx(std::sqrt(0.98 / 0.02)));
  CHECK(peak->throughput == Approx(model.throughput(peak->load)));
  CHECK(model.throughput(peak->load * 1.01) < peak->throughput);
  CHECK(model.throughput(peak->load * 0.99) < peak->throughput);
  CHECK_FALSE((ScalabilityModel{0.05, 0, 20}.peak().has_value()));
  CHECK_FALSE((ScalabilityModel{1.2, 0.01, 20}.peak().has_value()));
  // A fit whose peak would lie below one unit of load (seen fitting three noisy capacity trials:
  // N* = 0.42 and a throughput of -1,562/s there) peaks at one unit: the law starts at N = 1.
  const ScalabilityModel falling{0.9, 5.0, 1000};
  const auto at_one = falling.peak();
  REQUIRE(at_one.has_value());
  CHECK(at_one->load == 1);
  CHECK(at_one->throughput == Approx(1000));
}

TEST_CASE("synthetic set of the R package usl: alpha = beta = 0.02, gamma = 1", "[usl]") {
  const auto points = points_of({1, 2, 4, 6, 8, 10}, {1, 1.8868, 3.0769, 3.5294, 3.5398, 3.3557});
  const auto fit = fit_scalability(points);
  CHECK(fit.converged);
  CHECK(fit.model.contention == Approx(0.02).epsilon(0).margin(1e-3));
  CHECK(fit.model.coherency == Approx(0.02).epsilon(0).margin(1e-3));
  CHECK(fit.model.single_unit == Approx(1).epsilon(0).margin(1e-3));
  CHECK(fit.points == 6);
  CHECK(fit.degrees_of_freedom == 3);
}

TEST_CASE("specsdm91 (Gunther, Guerrilla Capacity Planning, 2007)", "[usl]") {
  const auto points =
      points_of({1, 18, 36, 72, 108, 144, 216}, {64.9, 995.9, 1652.4, 1853.2, 1828.9, 1775.0, 1702.2});
  const auto fit = fit_scalability(points);
  CHECK(fit.converged);
  CHECK(fit.model.contention == to_printed_digits(2.773e-02, 5e-6));
  CHECK(fit.model.coherency == to_printed_digits(1.044e-04, 5e-8));
  CHECK(fit.model.single_unit == to_printed_digits(90.0, 0.05));
  CHECK(fit.degrees_of_freedom == 4);
  REQUIRE(fit.residual_standard_error.has_value());
  CHECK(*fit.residual_standard_error == to_printed_digits(82.85, 0.005));
  const auto peak = fit.model.peak();
  REQUIRE(peak.has_value());
  CHECK(peak->load == to_printed_digits(96.52, 0.005));
  CHECK(peak->throughput == to_printed_digits(1884, 0.5));
  double sum = 0;
  for (double residual : fit.residuals) sum += residual * residual;
  CHECK(fit.squared_residuals == Approx(sum));
}

TEST_CASE("raytracer (same book): no coherency delay, beta on its bound", "[usl]") {
  const auto points = points_of({1, 4, 8, 12, 16, 20, 24, 28, 32, 48, 64},
                                {20, 78, 130, 170, 190, 200, 210, 230, 260, 280, 310});
  const auto fit = fit_scalability(points);
  CHECK(fit.converged);
  CHECK(fit.model.coherency == 0);
  CHECK(fit.model.contention > 0);
  CHECK_FALSE(fit.model.peak().has_value());
  CHECK(fit.degrees_of_freedom == 8);
  // On the bound, not merely near it: any coherency at all makes the fit worse.
  const double at_bound = squared_residuals(fit.model, points);
  for (double coherency : {1e-7, 1e-5, 1e-3}) {
    ScalabilityModel nudged = fit.model;
    nudged.coherency = coherency;
    CHECK(squared_residuals(nudged, points) > at_bound);
  }
  // And alpha and gamma are the best for beta = 0: nudging either only adds to the residuals.
  for (double factor : {0.999, 1.001}) {
    ScalabilityModel contention = fit.model;
    contention.contention *= factor;
    CHECK(squared_residuals(contention, points) > at_bound);
    ScalabilityModel single_unit = fit.model;
    single_unit.single_unit *= factor;
    CHECK(squared_residuals(single_unit, points) > at_bound);
  }
}

TEST_CASE("exact data at any loads is recovered", "[usl]") {
  const ScalabilityModel truth{0.08, 0.0005, 350};  // requests per second at a concurrency of 1
  std::vector<ScalabilityPoint> points;
  for (double load : {0.5, 2.0, 5.0, 10.0, 25.0, 40.0, 80.0}) points.push_back({load, truth.throughput(load)});
  const auto fit = fit_scalability(points);
  CHECK(fit.converged);
  CHECK(fit.model.contention == Approx(0.08).epsilon(1e-6));
  CHECK(fit.model.coherency == Approx(0.0005).epsilon(1e-6));
  CHECK(fit.model.single_unit == Approx(350).epsilon(1e-6));
  REQUIRE(fit.residual_standard_error.has_value());
  CHECK(*fit.residual_standard_error < 1e-6);
}

TEST_CASE("linear scaling sits on both bounds", "[usl]") {
  std::vector<ScalabilityPoint> points;
  for (double load : {1.0, 2.0, 4.0, 8.0}) points.push_back({load, 12.5 * load});
  const auto fit = fit_scalability(points);
  CHECK(fit.model.contention == 0);
  CHECK(fit.model.coherency == 0);
  CHECK(fit.model.single_unit == Approx(12.5));
}

TEST_CASE("points that cannot be fitted are refused", "[usl]") {
  CHECK_THROWS_AS(fit_scalability(points_of({1, 2}, {1, 2})), std::invalid_argument);
  CHECK_THROWS_AS(fit_scalability(points_of({1, 2, 2}, {1, 2, 2.1})), std::invalid_argument);
  CHECK_THROWS_AS(fit_scalability(points_of({1, 2, 4}, {1, 0, 3})), std::invalid_argument);
  CHECK_THROWS_AS(fit_scalability(points_of({1, -2, 4}, {1, 2, 3})), std::invalid_argument);
  CHECK_THROWS_AS(fit_scalability(points_of({1, 2, 4}, {1, std::nan(""), 3})), std::invalid_argument);
  // Three points leave no degrees of freedom: a fit, but no residual standard error.
  const auto exact = fit_scalability(points_of({1, 2, 4}, {1, 1.8, 3}));
  CHECK(exact.degrees_of_freedom == 0);
  CHECK_FALSE(exact.residual_standard_error.has_value());
}
