#pragma once
// Seeded access logs from a known model, for tests that must recover the model from them: a
// request process with an hour profile, weekday factors, an endpoint mix and a gamma rate
// multiplier per minute (over-dispersed counts of known variance), and a session process of a
// 3-step journey with log-normal pauses. Times are whole seconds, as combined logs write them.
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "uptake/base/random.hpp"
#include "uptake/calibrate/access_log.hpp"

namespace uptake::test {

struct GeneratedRequest {
  std::int64_t utc = 0;  // seconds
  std::string client;
  std::string method;
  std::string path;
  int status = 200;
  std::string user_agent = "Mozilla/5.0 (X11; Linux x86_64) Firefox/120.0";
};

// nginx's combined format at a fixed UTC offset (seconds east).
inline std::string combined_line(const GeneratedRequest& r, int offset) {
  static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  const std::int64_t local = r.utc + offset;
  const auto day = std::chrono::sys_days{std::chrono::days{local >= 0 ? local / 86400 : (local - 86399) / 86400}};
  const std::chrono::year_month_day ymd{day};
  const auto seconds = local - day.time_since_epoch().count() * 86400;
  const int magnitude = std::abs(offset);
  return fmt::format("{} - - [{:02}/{}/{}:{:02}:{:02}:{:02} {}{:02}{:02}] \"{} {} HTTP/1.1\" {} 512 \"-\" \"{}\"", r.client, static_cast<unsigned>(ymd.day()),
                     kMonths[static_cast<unsigned>(ymd.month()) - 1], static_cast<int>(ymd.year()), seconds / 3600, seconds % 3600 / 60, seconds % 60,
                     offset < 0 ? '-' : '+', magnitude / 3600, magnitude % 3600 / 60, r.method, r.path, r.status, r.user_agent);
}

inline calibrate::LogRecord record_of(const GeneratedRequest& r, int offset) {
  calibrate::LogRecord record;
  record.utc_ms = r.utc * 1000;
  record.offset_seconds = offset;
  record.method = r.method;
  record.target = r.path;
  record.status = r.status;
  record.client = r.client;
  record.user_agent = r.user_agent;
  return record;
}

struct RequestModel {
  std::int64_t start_utc = 0;               // at local midnight
  int days = 28;
  int offset = 9 * 3600;
  std::array<double, 24> hour_profile{};    // relative, any scale
  std::array<double, 7> weekday{};          // relative, Monday first
  double mean_rate = 1.0;                   // requests per second on an average day
  std::vector<std::pair<GeneratedRequest, double>> mix;  // request template (method, path) and share
  double rate_cv = 0.5;                     // coefficient of variation of the per-minute gamma multiplier
  // Minutes of each hour that are logged (a sampled log): [0, logged_minutes).
  int logged_minutes = 60;
  std::array<double, 12> month{1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1};  // daily weight by month (not normalised)
  std::vector<std::int64_t> holidays;       // local days since the epoch
  double holiday_factor = 1;                // multiplies the day's rate on a holiday

  // The rate (per second) in local hour `hour` of a day of `weekday`.
  double rate(int weekday_index, int hour) const {
    double profile_sum = 0, weekday_sum = 0;
    for (double h : hour_profile) profile_sum += h;
    for (double w : weekday) weekday_sum += w;
    return mean_rate * (hour_profile[static_cast<std::size_t>(hour)] * 24 / profile_sum) * (weekday[static_cast<std::size_t>(weekday_index)] * 7 / weekday_sum);
  }
};

// One GET endpoint at `path`, as busy at every hour of every day (at +09:00 from `start_utc`).
inline RequestModel flat_model(std::int64_t start_utc, int days, double mean_rate, double rate_cv, std::string path) {
  RequestModel model;
  model.start_utc = start_utc;
  model.days = days;
  model.hour_profile.fill(1.0);
  model.weekday.fill(1.0);
  model.mean_rate = mean_rate;
  model.rate_cv = rate_cv;
  GeneratedRequest request;
  request.method = "GET";
  request.path = std::move(path);
  model.mix = {{request, 1.0}};
  return model;
}

// The reference service's day at +09:00 from `start_utc`: a working-day hour profile, quiet
// weekends, and issuances, verifications and lookups (a half, 35% and 15%).
inline RequestModel reference_service_model(std::int64_t start_utc, int days, double mean_rate, double rate_cv) {
  RequestModel model;
  model.start_utc = start_utc;
  model.days = days;
  model.hour_profile = {0.2, 0.15, 0.1, 0.1, 0.1, 0.2, 0.5, 1.0, 2.0, 3.0, 3.2, 3.0, 3.5, 3.0, 2.8, 2.6, 2.4, 2.2, 1.6, 1.2, 1.0, 0.8, 0.6, 0.3};
  model.weekday = {1.2, 1.1, 1.05, 1.05, 1.1, 0.5, 0.4};
  model.mean_rate = mean_rate;
  model.rate_cv = rate_cv;
  GeneratedRequest issue, verify, lookup;
  issue.method = "POST", issue.path = "/v1/certificates";
  verify.method = "POST", verify.path = "/v1/verify";
  lookup.method = "GET", lookup.path = "/v1/certificates/{id}";
  model.mix = {{issue, 0.5}, {verify, 0.35}, {lookup, 0.15}};
  return model;
}

// Calls `emit` with each request in time order. Identifiers in paths are drawn (/items/48213).
// Returns the theoretical index of dispersion of 60 s counts, 1 + v sum(mu^2) / sum(mu) over
// the logged minutes, and of 10 s counts through `dispersion_10`.
inline double generate_requests(const RequestModel& model, std::uint64_t seed, const std::function<void(const GeneratedRequest&)>& emit,
                                double* dispersion_10 = nullptr) {
  Random random(seed);
  std::mt19937_64 engine(seed);
  const double v = model.rate_cv * model.rate_cv;
  std::vector<GeneratedRequest> minute;
  double mu_sum = 0, mu_square_sum = 0;
  double cumulative = 0;
  std::vector<double> cumulative_shares;
  for (const auto& [request, share] : model.mix) cumulative_shares.push_back(cumulative += share);
  for (int day = 0; day < model.days; ++day) {
    const auto local_day = (model.start_utc + model.offset) / 86400 + day;
    const int weekday = static_cast<int>(((local_day % 7) + 7 + 3) % 7);
    const std::chrono::year_month_day date{std::chrono::sys_days{std::chrono::days{local_day}}};
    double day_factor = model.month[static_cast<unsigned>(date.month()) - 1];
    if (std::find(model.holidays.begin(), model.holidays.end(), local_day) != model.holidays.end()) day_factor *= model.holiday_factor;
    for (int m = 0; m < 1440; ++m) {
      if (m % 60 >= model.logged_minutes) continue;
      const double mu = model.rate(weekday, m / 60) * 60 * day_factor;
      const double multiplier = v > 0 ? std::gamma_distribution<double>(1 / v, v)(engine) : 1.0;
      const auto count = std::poisson_distribution<long>(mu * multiplier)(engine);
      mu_sum += mu;
      mu_square_sum += mu * mu;
      minute.clear();
      const std::int64_t minute_start = model.start_utc + day * 86400 + m * 60;
      for (long i = 0; i < count; ++i) {
        GeneratedRequest request;
        const double pick = random.uniform() * cumulative;
        const auto index = static_cast<std::size_t>(std::upper_bound(cumulative_shares.begin(), cumulative_shares.end(), pick) - cumulative_shares.begin());
        request = model.mix[std::min(index, model.mix.size() - 1)].first;
        request.utc = minute_start + static_cast<std::int64_t>(random.uniform() * 60);
        request.client = fmt::format("10.{}.{}.{}", random() % 200, random() % 250, random() % 250);
        const auto brace = request.path.find("{id}");
        if (brace != std::string::npos) request.path.replace(brace, 4, std::to_string(1000 + random() % 900000));
        minute.push_back(std::move(request));
      }
      std::sort(minute.begin(), minute.end(), [](const auto& a, const auto& b) { return a.utc < b.utc; });
      for (const auto& request : minute) emit(request);
    }
  }
  if (dispersion_10) *dispersion_10 = 1 + v * (10.0 / 60) * mu_square_sum / mu_sum;
  return 1 + v * mu_square_sum / mu_sum;
}

// A 3-step journey: land (GET /), then apply (POST /v1/applications, after a pause), then
// submit (POST /v1/applications/{id}/submit); with a return from apply to land.
struct JourneyModel {
  std::int64_t start_utc = 0;
  int days = 7;
  int offset = 9 * 3600;
  double sessions_per_second = 0.2;
  double p_land_apply = 0.7;       // else exit
  double p_apply_submit = 0.6;     // else back to land (p_apply_land) or exit
  double p_apply_land = 0.1;
  // Pauses before each step (log-normal, mean and sd in seconds).
  double apply_mean = 20, apply_sd = 15;
  double submit_mean = 40, submit_sd = 30;
  double land_mean = 10, land_sd = 5;
};

inline double lognormal_draw(Random& random, double mean, double sd) {
  const double sigma2 = std::log(1 + sd * sd / (mean * mean));
  const double mu = std::log(mean) - sigma2 / 2;
  return std::exp(mu + std::sqrt(sigma2) * random.normal());
}

// Every session's requests, sorted by time, then passed to `emit`. Each session has its own
// client address.
inline void generate_sessions(const JourneyModel& model, std::uint64_t seed, const std::function<void(const GeneratedRequest&)>& emit) {
  Random random(seed);
  std::vector<GeneratedRequest> all;
  double t = static_cast<double>(model.start_utc);
  const double end = static_cast<double>(model.start_utc + model.days * 86400);
  std::uint64_t number = 0;
  for (;;) {
    t += random.exponential() / model.sessions_per_second;
    if (t >= end) break;
    ++number;
    const auto client = fmt::format("10.{}.{}.{}", number >> 16 & 255, number >> 8 & 255, number & 255);
    double at = t;
    int step = 0;  // 0 land, 1 apply, 2 submit, -1 exit
    while (step >= 0) {
      GeneratedRequest request;
      request.utc = static_cast<std::int64_t>(std::floor(at));
      request.client = client;
      request.user_agent = fmt::format("App/{}", number % 7);
      const double u = random.uniform();
      if (step == 0) {
        request.method = "GET";
        request.path = "/";
        all.push_back(request);
        if (u < model.p_land_apply) {
          at += lognormal_draw(random, model.apply_mean, model.apply_sd);
          step = 1;
        } else {
          step = -1;
        }
      } else if (step == 1) {
        request.method = "POST";
        request.path = "/v1/applications";
        all.push_back(request);
        if (u < model.p_apply_submit) {
          at += lognormal_draw(random, model.submit_mean, model.submit_sd);
          step = 2;
        } else if (u < model.p_apply_submit + model.p_apply_land) {
          at += lognormal_draw(random, model.land_mean, model.land_sd);
          step = 0;
        } else {
          step = -1;
        }
      } else {
        request.method = "POST";
        request.path = fmt::format("/v1/applications/{}/submit", 10000 + number);
        all.push_back(request);
        step = -1;
      }
    }
  }
  std::stable_sort(all.begin(), all.end(), [](const auto& a, const auto& b) { return a.utc < b.utc; });
  for (const auto& request : all) emit(request);
}

}  // namespace uptake::test
