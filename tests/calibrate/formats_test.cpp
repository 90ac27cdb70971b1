// Reading access logs: each format, gzip, files and lines out of order, malformed lines, and
// the logs that must warn (sampled, a single day) or refuse (nothing but bots).
#include <catch2/catch.hpp>

#include <zlib.h>

#include <fstream>

#include "calibrate/log_generator.hpp"
#include "temporary_directory.hpp"
#include "uptake/base/input_error.hpp"
#include "uptake/calibrate/calibration.hpp"
#include "uptake/calibrate/scenario_writer.hpp"
#include "uptake/sim/scenario_loader.hpp"

using namespace uptake;
using namespace uptake::calibrate;

namespace {

constexpr std::int64_t kStart = days_from_civil(2024, 3, 4) * 86400 - 9 * 3600;

std::string write(const std::filesystem::path& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
  return path.string();
}

std::string write_gzip(const std::filesystem::path& path, const std::string& text) {
  gzFile file = gzopen(path.c_str(), "wb");
  REQUIRE(file != nullptr);
  gzwrite(file, text.data(), static_cast<unsigned>(text.size()));
  gzclose(file);
  return path.string();
}

bool has_warning(const Calibration& c, const std::string& text) {
  for (const auto& warning : c.warnings) {
    if (warning.find(text) != std::string::npos) return true;
  }
  return false;
}

std::uint64_t requests_of(const Calibration& c, const std::string& name) {
  for (const auto& e : c.endpoints) {
    if (e.endpoint.name == name) return e.requests;
  }
  return 0;
}

// A week of sessions as combined lines.
std::vector<std::string> session_lines(int days = 2) {
  test::JourneyModel model;
  model.start_utc = kStart;
  model.days = days;
  model.sessions_per_second = 0.05;
  std::vector<std::string> lines;
  test::generate_sessions(model, 5, [&](const test::GeneratedRequest& r) { lines.push_back(test::combined_line(r, model.offset)); });
  return lines;
}

std::string join(const std::vector<std::string>& lines, std::size_t from = 0, std::size_t to = std::string::npos) {
  std::string text;
  for (std::size_t i = from; i < std::min(to, lines.size()); ++i) text += lines[i] + "\n";
  return text;
}

}  // namespace

TEST_CASE("a combined line is read whole, escaped quotes and all") {
  LineParser parser(LogFormat::automatic, {}, "");
  LogRecord r;
  REQUIRE(parser.parse(R"(203.0.113.9 - alice [10/Oct/2023:13:55:36 -0700] "GET /v1/certificates/8412?full=1 HTTP/1.1" 200 2326 "https://ref.example/" "Mozilla/5.0 \"quoted\" agent")", r) ==
          Malformed::none);
  CHECK(r.client == "203.0.113.9");
  CHECK(r.method == "GET");
  CHECK(r.target == "/v1/certificates/8412?full=1");
  CHECK(r.status == 200);
  CHECK(r.user_agent == R"(Mozilla/5.0 \"quoted\" agent)");
  CHECK(r.offset_seconds == -7 * 3600);
  CHECK(r.utc_ms == (days_from_civil(2023, 10, 10) * 86400 + 13 * 3600 + 55 * 60 + 36 + 7 * 3600) * 1000);

  // The common format has no referrer or user agent; the combined format asks for them.
  REQUIRE(parser.parse(R"(203.0.113.9 - - [10/Oct/2023:13:55:36 +0000] "POST /v1/verify HTTP/1.0" 201 -)", r) == Malformed::none);
  CHECK(r.user_agent.empty());
  LineParser combined(LogFormat::combined, {}, "");
  CHECK(combined.parse(R"(203.0.113.9 - - [10/Oct/2023:13:55:36 +0000] "POST /v1/verify HTTP/1.0" 201 -)", r) == Malformed::missing_field);

  CHECK(parser.parse("garbage", r) == Malformed::no_timestamp);
  CHECK(parser.parse(R"(1.2.3.4 - - [32/Oct/2023:13:55:36 +0000] "GET / HTTP/1.1" 200 1)", r) == Malformed::bad_timestamp);
  CHECK(parser.parse(R"(1.2.3.4 - - [10/Oct/2023:13:55:36 +0000] "\x16\x03\x01" 400 1)", r) == Malformed::bad_request_line);
  CHECK(parser.parse(R"(1.2.3.4 - - [10/Oct/2023:13:55:36 +0000] "GET / HTTP/1.1" 2x0 1)", r) == Malformed::bad_status);
}

TEST_CASE("JSON lines are read with their fields named by options") {
  JsonFields fields;
  fields.time = "@timestamp";
  fields.client = "ip";
  LineParser parser(LogFormat::json, fields, "session");
  LogRecord r;
  REQUIRE(parser.parse(R"({"@timestamp":"2024-03-04T10:00:00.250+09:00","method":"POST","path":"/v1/verify","status":200,"ip":"10.0.0.1","session":"s-1"})", r) ==
          Malformed::none);
  CHECK(r.utc_ms == (days_from_civil(2024, 3, 4) * 86400 + 3600) * 1000 + 250);
  CHECK_FALSE(r.whole_seconds);
  CHECK(r.offset_seconds == 9 * 3600);
  CHECK(r.client == "10.0.0.1");
  CHECK(r.session_field == "s-1");
  REQUIRE(parser.parse(R"({"@timestamp":1709514000.5,"request":"GET /healthz HTTP/1.1","status":"204"})", r) == Malformed::none);
  CHECK(r.utc_ms == 1709514000500);
  CHECK(r.target == "/healthz");
  CHECK(r.status == 204);
  CHECK(parser.parse(R"({"@timestamp":1709514000,"status":200})", r) == Malformed::missing_field);
  CHECK(parser.parse(R"({"time":1709514000,"request":"GET / HTTP/1.1","status":200})", r) == Malformed::no_timestamp);
  CHECK(parser.parse(R"({"@timestamp":"yesterday","request":"GET / HTTP/1.1","status":200})", r) == Malformed::bad_timestamp);
  CHECK(parser.parse(R"({not json)", r) == Malformed::not_json);
}

TEST_CASE("paths become endpoints with their identifiers as parameters") {
  CHECK(normalise_path("/v1/certificates/8412/revoke?x=1", false) == "/v1/certificates/{id}/revoke");
  CHECK(normalise_path("/v1/certificates/8412?page=2&sort=asc", true) == "/v1/certificates/{id}?page={}&sort={}");
  CHECK(normalise_path("/users/123e4567-e89b-12d3-a456-426614174000/docs/deadbeef01", false) == "/users/{id}/docs/{id2}");
  CHECK(normalise_path("/files/eyJhbGciOiJFZERTQSJ9abc123", false) == "/files/{id}");
  CHECK(normalise_path("/v1/verify", false) == "/v1/verify");
  CHECK(normalise_path("https://example.org/v1/verify", false) == "/v1/verify");
  CHECK(normalise_path("/", false) == "/");
  CHECK_FALSE(is_identifier_segment("certificates"));
  CHECK_FALSE(is_identifier_segment("v1"));
  CHECK(is_static_asset("/assets/app.3f9a.js?v=2"));
  CHECK_FALSE(is_static_asset("/v1/certificates"));
  CHECK(is_bot("Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"));
  CHECK_FALSE(is_bot("Mozilla/5.0 (X11; Linux x86_64) Firefox/120.0"));

  std::string problem;
  const auto rule = parse_route_rule("POST /v1/certificates/*/revoke=revoke", problem);
  REQUIRE(rule);
  Router router({*rule});
  const auto revoke = router.route("POST", "/v1/certificates/ab12/revoke");
  CHECK(router.route("POST", "/v1/certificates/99/revoke") == revoke);
  CHECK(router.endpoints()[revoke].name == "revoke");
  CHECK(router.endpoints()[revoke].path_template == "/v1/certificates/{id}/revoke");
  CHECK(router.route("GET", "/v1/certificates/99/revoke") != revoke);
  CHECK_FALSE(parse_route_rule("POST /x", problem));
  CHECK_FALSE(parse_route_rule("POST /x=exit", problem));
  CHECK_FALSE(parse_route_rule("POST /**/x=name", problem));
}

TEST_CASE("gzip, plain and out-of-order files give the same calibration") {
  test::TemporaryDirectory folder("calibrate-formats");
  std::filesystem::create_directories(folder.path());
  auto lines = session_lines();
  const auto half = lines.size() / 2;
  const auto plain = write(folder.path() / "access.log", join(lines));
  CalibrationOptions options;
  const auto in_order = calibrate_logs({plain}, options);

  // Rotated logs given newest first, the older one gzipped; and lines strayed by a few seconds.
  auto strayed = lines;
  for (std::size_t i = 0; i + 7 < strayed.size(); i += 13) std::swap(strayed[i], strayed[i + 3]);
  const auto older = write_gzip(folder.path() / "access.log.1.gz", join(strayed, 0, half));
  const auto newer = write(folder.path() / "access.log", join(strayed, half));
  const auto shuffled = calibrate_logs({newer, older}, options);

  CHECK(shuffled.requests == in_order.requests);
  CHECK(shuffled.lines == lines.size());
  CHECK(shuffled.late == 0);
  REQUIRE(shuffled.endpoints.size() == in_order.endpoints.size());
  for (std::size_t e = 0; e < in_order.endpoints.size(); ++e) CHECK(shuffled.endpoints[e].requests == in_order.endpoints[e].requests);
  CHECK(shuffled.sessions.sessions == in_order.sessions.sessions);
  CHECK(shuffled.sessions.transitions == in_order.sessions.transitions);
  CHECK(shuffled.calendar.hour_profile[10].requests == in_order.calendar.hour_profile[10].requests);

  // JSON lines of the same requests.
  std::string json;
  test::JourneyModel model;
  model.start_utc = kStart;
  model.days = 2;
  model.sessions_per_second = 0.05;
  test::generate_sessions(model, 5, [&](const test::GeneratedRequest& r) {
    json += fmt::format(R"({{"time":{},"method":"{}","path":"{}","status":{},"remote_addr":"{}","user_agent":"{}"}})", r.utc, r.method, r.path, r.status, r.client,
                        r.user_agent) +
            "\n";
  });
  CalibrationOptions json_options;
  json_options.format = LogFormat::json;
  json_options.time_zone = sim::TimeZone(std::chrono::hours{9}, "+09:00");
  const auto from_json = calibrate_logs({write(folder.path() / "access.jsonl", json)}, json_options);
  CHECK(from_json.requests == in_order.requests);
  CHECK(from_json.sessions.transitions == in_order.sessions.transitions);
  CHECK(from_json.calendar.time_zone == "+09:00");
  CHECK(from_json.calendar.hour_profile[10].requests == in_order.calendar.hour_profile[10].requests);
}

TEST_CASE("malformed lines are counted by reason with their first line numbers, and refused only when nothing parses") {
  test::TemporaryDirectory folder("calibrate-malformed");
  std::filesystem::create_directories(folder.path());
  auto lines = session_lines(1);
  lines.insert(lines.begin() + 10, "this is not a log line");
  lines.insert(lines.begin() + 20, R"(1.2.3.4 - - [99/Mar/2024:10:00:00 +0900] "GET / HTTP/1.1" 200 1 "-" "x")");
  lines.insert(lines.begin() + 30, R"(1.2.3.4 - - [04/Mar/2024:10:00:00 +0900] "GET / HTTP/1.1" 2000 1 "-" "x")");
  lines.insert(lines.begin() + 40, "");
  lines.insert(lines.begin() + 50, "also not a line");
  lines.insert(lines.begin() + 60, R"(1.2.3.4 - - [04/Mar/1994:10:00:00 +0900] "GET / HTTP/1.1" 200 1 "-" "x")");
  const auto path = write(folder.path() / "access.log", join(lines));
  const auto c = calibrate_logs({path}, {});
  CHECK(c.malformed_lines() == 5);
  REQUIRE(c.malformed.size() == 4);
  CHECK(c.malformed[3].reason == Malformed::out_of_span);
  CHECK(c.malformed[3].first[0].line == 61);
  CHECK(c.malformed[0].reason == Malformed::no_timestamp);
  CHECK(c.malformed[0].lines == 2);
  REQUIRE(c.malformed[0].first.size() == 2);
  CHECK(c.malformed[0].first[0].line == 11);
  CHECK(c.malformed[0].first[1].line == 51);
  CHECK(c.malformed[0].first[0].file == path);
  CHECK(c.malformed[1].reason == Malformed::bad_timestamp);
  CHECK(c.malformed[1].first[0].line == 21);
  CHECK(c.malformed[2].reason == Malformed::bad_status);
  CHECK(c.requests == lines.size() - 6);
  CHECK(c.calendar.first_day.time_since_epoch().count() == days_from_civil(2024, 3, 4));
  CHECK(render_calibration_text(c).find("first at " + path + ":11") != std::string::npos);

  const auto garbage = write(folder.path() / "garbage.log", "nothing\nto read\n");
  try {
    calibrate_logs({garbage}, {});
    FAIL("a log of nothing but malformed lines was taken");
  } catch (const InputError& error) {
    CHECK(std::string(error.what()).find("no line of the logs is a request") != std::string::npos);
    CHECK(std::string(error.what()).find(garbage + ":1") != std::string::npos);
  }
  CHECK_THROWS_AS(calibrate_logs({(folder.path() / "missing.log").string()}, {}), InputError);
  // A gzip file cut short is named, not read as a shorter log.
  const auto whole = write_gzip(folder.path() / "cut.log.gz", join(lines));
  const auto size = std::filesystem::file_size(whole);
  std::filesystem::resize_file(whole, size / 2);
  CHECK_THROWS_AS(calibrate_logs({whole}, {}), InputError);
}

TEST_CASE("a sampled log is detected and its volume scaled by what it saw") {
  auto model = test::flat_model(kStart, 14, 0.5, 0.3, "/v1/status");
  model.logged_minutes = 15;
  Calibrator calibrator({});
  test::generate_requests(model, 9, [&](const test::GeneratedRequest& r) { calibrator.add(test::record_of(r, model.offset)); });
  const auto c = calibrator.finish({"sampled"});
  CHECK(c.coverage.minutes_of_hour_seen == 15);
  CHECK(c.coverage.seen_fraction == Approx(0.25));
  CHECK(has_warning(c, "looks sampled"));
  WARN("sampled log annualised to " << c.yearly_requests << " against " << 0.5 * 86400 * 366);
  CHECK(std::abs(c.yearly_requests / (0.5 * 86400 * 366) - 1) < 0.05);
  // Dispersion on the minutes seen only: the unseen ones are not read as quiet.
  CHECK(c.burstiness.dispersion[2].index < 1 + 0.09 * 30 * 1.3);
  CHECK(c.burstiness.dispersion[2].index > 1 + 0.09 * 30 * 0.7);
}

TEST_CASE("a single-day log warns that it cannot give weekday or month factors, and still writes a scenario check accepts") {
  test::TemporaryDirectory folder("calibrate-day");
  std::filesystem::create_directories(folder.path());
  Calibrator calibrator({});
  test::JourneyModel model;
  model.start_utc = kStart + 8 * 3600;
  model.days = 1;
  model.sessions_per_second = 0.1;
  test::generate_sessions(model, 2, [&](const test::GeneratedRequest& r) {
    if (r.utc < kStart + 86400) calibrator.add(test::record_of(r, model.offset));
  });
  const auto c = calibrator.finish({"one-day"});
  CHECK(c.calendar.whole_days == 0);
  CHECK(has_warning(c, "no whole local day"));
  CHECK(has_warning(c, "weekday and month factors are left at 1"));
  for (const auto& w : c.calendar.weekday) CHECK_FALSE(w.measured);
  CHECK(c.model == ModelKind::journeys);
  const auto text = render_scenario(c, "one-day");
  const auto scenario = sim::parse_scenario(text, "one-day.yaml");
  CHECK(scenario.mix.journeys.has_value());
  CHECK(text.find("Warning: the log covers no whole local day") != std::string::npos);
}

TEST_CASE("bots and static assets are excluded and counted; a log of bots only is refused") {
  test::TemporaryDirectory folder("calibrate-bots");
  std::filesystem::create_directories(folder.path());
  std::string text;
  for (int i = 0; i < 50; ++i) {
    test::GeneratedRequest r;
    r.utc = kStart + i * 7;
    r.client = "66.249.66.1";
    r.method = "GET";
    r.path = fmt::format("/v1/certificates/{}", 1000 + i);
    r.user_agent = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)";
    text += test::combined_line(r, 9 * 3600) + "\n";
    r.path = "/static/app.css";
    r.user_agent = "Mozilla/5.0 Firefox/120.0";
    text += test::combined_line(r, 9 * 3600) + "\n";
  }
  const auto path = write(folder.path() / "bots.log", text);
  CalibrationOptions options;
  options.exclude_bots = true;
  options.exclude_static = true;
  try {
    calibrate_logs({path}, options);
    FAIL("a log of bots and assets only was taken");
  } catch (const InputError& error) {
    CHECK(std::string(error.what()).find("every request was excluded (50 by --exclude-bots, 50 by --exclude-static)") != std::string::npos);
  }
  options.exclude_static = false;
  const auto c = calibrate_logs({path}, options);
  CHECK(c.excluded_bots == 50);
  CHECK(c.requests == 50);
  CHECK(requests_of(c, "get_static_app_css") == 50);
  CHECK(render_scenario(c, "x").find("50 requests of bots by user agent (--exclude-bots)") != std::string::npos);
}

TEST_CASE("sessions are keyed by a cookie or a JSON field when asked") {
  test::TemporaryDirectory folder("calibrate-keys");
  std::filesystem::create_directories(folder.path());
  // Two users behind one address and agent, told apart by their cookie and session field: each
  // lands, then applies 10 s later.
  std::string json;
  for (int user = 0; user < 2; ++user) {
    for (int step = 0; step < 2; ++step) {
      json += fmt::format(R"({{"time":{},"request":"{} HTTP/1.1","status":200,"remote_addr":"10.0.0.1","user_agent":"App","cookie":"theme=dark; sid=u{}","sid":"u{}"}})",
                          1709514000 + user + step * 10, step == 0 ? "GET /" : "POST /v1/applications", user, user) +
              "\n";
    }
  }
  const auto path = write(folder.path() / "keys.jsonl", json);
  const auto sessions_of = [&](const std::string& key) {
    CalibrationOptions options;
    options.format = LogFormat::json;
    options.json_fields.time = "time";
    std::string problem;
    options.session_key = *parse_session_key(key, problem);
    return calibrate_logs({path}, options).sessions;
  };
  CHECK(sessions_of("ip+ua").sessions == 1);
  CHECK(sessions_of("cookie:sid").sessions == 2);
  CHECK(sessions_of("header:sid").sessions == 2);
  const auto missing = sessions_of("cookie:other");
  CHECK(missing.keyless == 4);
  CHECK(missing.sessions == 1);
  std::string problem;
  CHECK_FALSE(parse_session_key("cookie:", problem));
  CHECK_FALSE(parse_session_key("ua", problem));
}

TEST_CASE("a gap in a log is unseen time; a quiet night is not a gap") {
  auto model = test::flat_model(kStart, 7, 0.2, 0, "/");
  for (int h = 0; h < 6; ++h) model.hour_profile[static_cast<std::size_t>(h)] = 0;  // no demand from 00:00 to 06:00
  // Lines of 2024-03-07 10:00 to 16:00 local are lost (a rotation that went wrong).
  const auto lost_from = kStart + 3 * 86400 + 10 * 3600, lost_to = kStart + 3 * 86400 + 16 * 3600;
  Calibrator calibrator({});
  test::generate_requests(model, 4, [&](const test::GeneratedRequest& r) {
    if (r.utc < lost_from || r.utc >= lost_to) calibrator.add(test::record_of(r, model.offset));
  });
  const auto c = calibrator.finish({"gap"});
  REQUIRE(c.coverage.gaps.size() == 1);
  CHECK(c.coverage.gaps[0].first == lost_from);
  CHECK(c.coverage.gaps[0].second == lost_to);
  CHECK(c.coverage.seen_fraction == Approx(1 - 6.0 / (7 * 24)).epsilon(0.01));
  CHECK(has_warning(c, "a gap in the log?"));
  // The year's volume is not inflated by the nights, nor lowered by the gap.
  WARN("annualised with a gap: " << c.yearly_requests << " against " << 0.2 * 86400 * 366);
  CHECK(std::abs(c.yearly_requests / (0.2 * 86400 * 366) - 1) < 0.03);
}

TEST_CASE("a log kept for office hours only is said to stop abruptly") {
  auto model = test::flat_model(kStart, 7, 0.2, test::RequestModel{}.rate_cv, "/");
  Calibrator office({}), fading({});
  test::generate_requests(model, 4, [&](const test::GeneratedRequest& r) {
    const auto local_hour = (r.utc + model.offset) % 86400 / 3600;
    if (local_hour >= 9 && local_hour < 18) office.add(test::record_of(r, model.offset));
  });
  const auto cut = office.finish({"office"});
  CHECK(has_warning(cut, "start and stop abruptly every day (start at 09:00, stop at 18:00)"));
  // A service whose demand fades to nothing at night is not called cut off.
  for (std::size_t h = 0; h < 24; ++h) model.hour_profile[h] = h < 5 ? 0.0 : h < 8 ? 0.1 * static_cast<double>(h - 4) : h < 21 ? 1.0 : 0.1 * static_cast<double>(24 - h);
  test::generate_requests(model, 4, [&](const test::GeneratedRequest& r) { fading.add(test::record_of(r, model.offset)); });
  CHECK_FALSE(has_warning(fading.finish({"fading"}), "abruptly"));
}
