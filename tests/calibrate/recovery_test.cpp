// Logs generated from a known model are measured back to it: the hour profile, weekday factors
// and endpoint mix within a few percent, the over-dispersion of counts within 10%, and a
// journey's transition probabilities and pauses within their sampling error.
#include <catch2/catch.hpp>

#include <cmath>

#include "calibrate/log_generator.hpp"
#include "uptake/calibrate/calibration.hpp"
#include "uptake/calibrate/fidelity.hpp"
#include "uptake/calibrate/scenario_writer.hpp"

using namespace uptake;
using namespace uptake::calibrate;

namespace {

// 2024-03-04 (a Monday) 00:00 at +09:00.
constexpr std::int64_t kStart = days_from_civil(2024, 3, 4) * 86400 - 9 * 3600;

test::RequestModel request_model() { return test::reference_service_model(kStart, 28, 1.0, 0.4); }

const EndpointCount& endpoint(const Calibration& c, const std::string& name) {
  for (const auto& e : c.endpoints) {
    if (e.endpoint.name == name) return e;
  }
  FAIL("no endpoint " << name);
  return c.endpoints.front();
}

std::size_t index_of(const Calibration& c, const std::string& name) { return static_cast<std::size_t>(&endpoint(c, name) - c.endpoints.data()); }

}  // namespace

TEST_CASE("an hour profile, weekday factors, a mix and over-dispersion are recovered from requests") {
  const auto model = request_model();
  CalibrationOptions options;
  options.model = ModelKind::mix;
  Calibrator calibrator(options);
  double dispersion_10 = 0;
  const double dispersion_60 = test::generate_requests(model, 7, [&](const test::GeneratedRequest& r) {
    calibrator.add_line();
    calibrator.add(test::record_of(r, model.offset));
  }, &dispersion_10);
  const auto c = calibrator.finish({"generated"});
  INFO("requests " << c.requests);
  REQUIRE(c.requests > 2'000'000);
  CHECK(c.calendar.time_zone == "+09:00");
  CHECK(c.calendar.whole_days == 28);

  // Hour profile (mean 1) within 5% of the truth in every hour.
  double profile_sum = 0;
  for (double h : model.hour_profile) profile_sum += h;
  double worst_hour = 0;
  for (std::size_t h = 0; h < 24; ++h) {
    const double truth = model.hour_profile[h] * 24 / profile_sum;
    worst_hour = std::max(worst_hour, std::abs(c.calendar.hour_profile[h].value / truth - 1));
  }
  WARN("largest relative error of the hour profile: " << worst_hour);
  CHECK(worst_hour < 0.05);

  double weekday_sum = 0;
  for (double w : model.weekday) weekday_sum += w;
  double worst_weekday = 0;
  for (std::size_t w = 0; w < 7; ++w) {
    const double truth = model.weekday[w] * 7 / weekday_sum;
    CHECK(c.calendar.weekday[w].days >= 3);
    worst_weekday = std::max(worst_weekday, std::abs(c.calendar.weekday[w].value / truth - 1));
  }
  WARN("largest relative error of the weekday factors: " << worst_weekday);
  CHECK(worst_weekday < 0.05);
  CHECK(c.calendar.holidays.empty());

  // Shares within four standard errors (and so within a few tenths of a percent).
  const std::vector<std::pair<std::string, double>> shares = {{"post_v1_certificates", 0.5}, {"post_v1_verify", 0.35}, {"get_v1_certificates_id", 0.15}};
  REQUIRE(c.endpoints.size() == 3);
  for (const auto& [name, truth] : shares) {
    const auto& e = endpoint(c, name);
    INFO(name << " share " << e.share << " +- " << e.share_standard_error);
    CHECK(std::abs(e.share - truth) < 4 * e.share_standard_error);
    CHECK(std::abs(e.share - truth) < 0.01);
  }
  CHECK(endpoint(c, "get_v1_certificates_id").endpoint.path_template == "/v1/certificates/{id}");

  // Over-dispersion: the 60 s and 10 s indices within 10% of the model's, and the multiplier's
  // coefficient of variation within 10%.
  REQUIRE(c.burstiness.dispersion.size() == 3);
  const auto& d = c.burstiness.dispersion;
  WARN("dispersion 60 s " << d[2].index << " (model " << dispersion_60 << "), 10 s " << d[1].index << " (model " << dispersion_10 << "), 1 s " << d[0].index
                          << "; rate cv " << c.burstiness.rate_cv << " (model " << model.rate_cv << ")");
  CHECK(std::abs(d[2].index / dispersion_60 - 1) < 0.10);
  CHECK(std::abs(d[1].index / dispersion_10 - 1) < 0.10);
  CHECK(d[2].low < dispersion_60);
  CHECK(d[2].high > dispersion_60);
  CHECK(c.burstiness.over_dispersed);
  CHECK(std::abs(c.burstiness.rate_cv / model.rate_cv - 1) < 0.10);

  // The year's volume: one request a second on an average day of a leap year.
  WARN("annualised " << c.yearly_requests << " against " << 86400.0 * 366);
  CHECK(std::abs(c.yearly_requests / (86400.0 * 366) - 1) < 0.03);
  CHECK(c.coverage.seen_fraction == Approx(1.0));
}

TEST_CASE("a Poisson log is not called over-dispersed") {
  auto model = request_model();
  model.rate_cv = 0;
  model.days = 7;
  Calibrator calibrator(CalibrationOptions{});
  test::generate_requests(model, 3, [&](const test::GeneratedRequest& r) { calibrator.add(test::record_of(r, model.offset)); });
  const auto c = calibrator.finish({"generated"});
  const auto& d = c.burstiness.dispersion;
  WARN("Poisson dispersion: 1 s " << d[0].index << ", 10 s " << d[1].index << ", 60 s " << d[2].index << " [" << d[2].low << ", " << d[2].high << "]");
  for (const auto& index : d) CHECK(std::abs(index.index - 1) < 0.05);
  CHECK_FALSE(c.burstiness.over_dispersed);
  CHECK(c.burstiness.rate_cv == 0);
}

TEST_CASE("a journey's transitions and log-normal pauses are recovered from sessions") {
  test::JourneyModel model;
  model.start_utc = kStart;
  Calibrator calibrator(CalibrationOptions{});
  test::generate_sessions(model, 11, [&](const test::GeneratedRequest& r) { calibrator.add(test::record_of(r, model.offset)); });
  const auto c = calibrator.finish({"generated"});
  REQUIRE(c.model == ModelKind::journeys);
  REQUIRE(c.endpoints.size() == 3);
  const auto land = index_of(c, "get");
  const auto apply = index_of(c, "post_v1_applications");
  const auto submit = index_of(c, "post_v1_applications_id_submit");
  const auto& t = c.sessions.transitions;
  const auto exit = c.endpoints.size();
  const auto check_row = [&](std::size_t row, std::vector<std::pair<std::size_t, double>> expected) {
    double total = 0;
    for (auto value : t[row]) total += static_cast<double>(value);
    for (const auto& [column, truth] : expected) {
      const double p = static_cast<double>(t[row][column]) / total;
      const double standard_error = std::sqrt(truth * (1 - truth) / total);
      INFO("row " << row << " column " << column << ": " << p << " against " << truth << " (n " << total << ", se " << standard_error << ")");
      CHECK(std::abs(p - truth) <= 3.5 * standard_error);
    }
  };
  check_row(0, {{land, 1.0}});
  check_row(1 + land, {{apply, model.p_land_apply}, {exit, 1 - model.p_land_apply}});
  check_row(1 + apply, {{submit, model.p_apply_submit}, {land, model.p_apply_land}, {exit, 1 - model.p_apply_submit - model.p_apply_land}});
  check_row(1 + submit, {{exit, 1.0}});

  const auto check_pause = [&](std::size_t e, double mean, double sd) {
    const auto& fit = c.sessions.think_times[e];
    WARN(c.endpoints[e].endpoint.name << ": " << fit.distribution << " from " << fit.gaps << " pauses, KS " << fit.ks_distance << " (model lognormal " << mean << ","
                                      << sd << ")");
    CHECK(fit.kind == "lognormal");
    CHECK(std::abs(fit.mean_seconds / mean - 1) < 0.05);
    CHECK(std::abs(fit.sd_seconds / sd - 1) < 0.15);
    CHECK(fit.ks_distance < 0.06);  // binned, and times known to a second only
  };
  check_pause(apply, model.apply_mean, model.apply_sd);
  check_pause(submit, model.submit_mean, model.submit_sd);
  check_pause(land, model.land_mean, model.land_sd);

  // The chain's expected requests per session beside the observed.
  WARN("requests per session: observed " << c.sessions.mean_requests_per_session() << ", chain " << c.sessions.chain_requests_per_session);
  CHECK(std::abs(c.sessions.chain_requests_per_session / c.sessions.mean_requests_per_session() - 1) < 0.02);
  // Exponential pauses are told apart from log-normal ones by likelihood.
  CHECK(c.sessions.think_times[submit].aic_lognormal < c.sessions.think_times[submit].aic_exponential);
}

TEST_CASE("the written scenario's own schedule reproduces the log's mix, hours and over-dispersion") {
  auto model = request_model();
  model.days = 14;
  model.mean_rate = 0.5;
  Calibrator calibrator(CalibrationOptions{});
  test::generate_requests(model, 13, [&](const test::GeneratedRequest& r) { calibrator.add(test::record_of(r, model.offset)); });
  const auto c = calibrator.finish({"generated"});
  const auto text = render_scenario(c, "recovered");
  REQUIRE(text.find("burstiness:") != std::string::npos);
  const auto report = replay_fidelity(c, text, "recovered.yaml");
  WARN("requests: log " << report.log_requests << ", model " << report.model_requests << "; dispersion 60 s: log " << report.log_dispersion_60 << ", model "
                        << report.model_dispersion_60 << "; peak second: log " << report.log_peak_second << ", model " << report.model_peak_second);
  CHECK(std::abs(static_cast<double>(report.model_requests) / static_cast<double>(report.log_requests) - 1) < 0.03);
  CHECK(std::abs(report.model_dispersion_60 / report.log_dispersion_60 - 1) < 0.10);
  for (std::size_t e = 0; e < report.endpoints.size(); ++e) CHECK(std::abs(report.model_share[e] - report.log_share[e]) < 0.01);
  for (std::size_t h = 0; h < 24; ++h) CHECK(std::abs(report.model_by_hour[h] / report.log_by_hour[h] - 1) < 0.10);
}

TEST_CASE("month factors and holidays are recovered from a log of three months") {
  auto model = request_model();
  model.days = 84;  // 2024-03-04 to 2024-05-26
  model.mean_rate = 0.3;
  model.rate_cv = 0.2;
  model.month[2] = 1.0;  // March
  model.month[3] = 1.3;  // April
  model.month[4] = 0.8;  // May
  const auto election = days_from_civil(2024, 4, 10);    // a Wednesday
  const auto children = days_from_civil(2024, 5, 6);     // a Monday
  model.holidays = {election, children};
  model.holiday_factor = 0.3;
  Calibrator calibrator(CalibrationOptions{});
  test::generate_requests(model, 17, [&](const test::GeneratedRequest& r) { calibrator.add(test::record_of(r, model.offset)); });
  const auto c = calibrator.finish({"generated"});
  const auto& month = c.calendar.month;
  REQUIRE(month[2].measured);
  REQUIRE(month[3].measured);
  REQUIRE(month[4].measured);
  CHECK_FALSE(month[5].measured);
  WARN("April/March " << month[3].value / month[2].value << " (model 1.3), May/March " << month[4].value / month[2].value << " (model 0.8)");
  CHECK(std::abs(month[3].value / month[2].value / 1.3 - 1) < 0.05);
  CHECK(std::abs(month[4].value / month[2].value / 0.8 - 1) < 0.05);
  REQUIRE(c.calendar.holidays.size() == 2);
  CHECK(c.calendar.holidays[0].date.time_since_epoch().count() == election);
  CHECK(c.calendar.holidays[1].date.time_since_epoch().count() == children);
  for (const auto& holiday : c.calendar.holidays) CHECK(std::abs(holiday.ratio / 0.3 - 1) < 0.15);
  // The weekday factors are not pulled down by the holidays.
  double weekday_sum = 0;
  for (double w : model.weekday) weekday_sum += w;
  for (std::size_t w = 0; w < 7; ++w) CHECK(std::abs(c.calendar.weekday[w].value / (model.weekday[w] * 7 / weekday_sum) - 1) < 0.05);
  const auto text = render_scenario(c, "three-months");
  CHECK(text.find("holidays: [2024-04-10, 2024-05-06]") != std::string::npos);
}

TEST_CASE("a long log's fidelity is drawn from a sample of the schedule, scaled back") {
  auto model = request_model();
  model.days = 7;
  model.mean_rate = 0.5;
  Calibrator calibrator(CalibrationOptions{});
  test::generate_requests(model, 19, [&](const test::GeneratedRequest& r) { calibrator.add(test::record_of(r, model.offset)); });
  const auto c = calibrator.finish({"generated"});
  const auto report = replay_fidelity(c, render_scenario(c, "sampled"), "sampled.yaml", 30000);
  CHECK(report.sample == Approx(30000.0 / static_cast<double>(c.requests)));
  CHECK(std::abs(static_cast<double>(report.model_requests) / static_cast<double>(report.log_requests) - 1) < 0.05);
  for (std::size_t e = 0; e < report.endpoints.size(); ++e) CHECK(std::abs(report.model_share[e] - report.log_share[e]) < 0.02);
  CHECK(render_fidelity_text(report).find("sample") != std::string::npos);
}
