// uptake calibrate: a scenario measured from access logs. The measuring is the calibrate
// library's; this maps options onto it and writes what it returns.
#include <fmt/format.h>

#include <cstdio>
#include <filesystem>

#include "command.hpp"
#include "uptake/base/civil_time.hpp"
#include "uptake/base/files.hpp"
#include "uptake/base/input_error.hpp"
#include "uptake/calibrate/calibration.hpp"
#include "uptake/calibrate/fidelity.hpp"
#include "uptake/calibrate/scenario_writer.hpp"
#include "uptake/sim/scenario_loader.hpp"

namespace uptake::cli {
namespace {

calibrate::CalibrationOptions options_of(const po::variables_map& values) {
  calibrate::CalibrationOptions options;
  const auto format = calibrate::parse_log_format(values["log-format"].as<std::string>());
  if (!format) throw InputError({}, "--log-format", fmt::format("'{}' is not a log format", values["log-format"].as<std::string>()), "auto, combined, common or json");
  options.format = *format;
  if (values.count("json-field")) {
    for (const auto& mapping : values["json-field"].as<std::vector<std::string>>()) {
      const auto equals = mapping.find('=');
      const auto role = mapping.substr(0, equals);
      const auto name = equals == std::string::npos ? std::string() : mapping.substr(equals + 1);
      auto& f = options.json_fields;
      std::string* target = role == "time" ? &f.time : role == "method" ? &f.method : role == "path" ? &f.path : role == "request" ? &f.request
                          : role == "status" ? &f.status : role == "client" ? &f.client : role == "user_agent" ? &f.user_agent
                          : role == "cookie" ? &f.cookie : nullptr;
      if (target == nullptr || name.empty()) {
        throw InputError({}, "--json-field", fmt::format("'{}' is not a field mapping", mapping),
                         "ROLE=NAME with ROLE one of time, method, path, request, status, client, user_agent, cookie");
      }
      *target = name;
    }
  }
  if (values.count("route")) {
    for (const auto& text : values["route"].as<std::vector<std::string>>()) {
      std::string problem;
      auto rule = calibrate::parse_route_rule(text, problem);
      if (!rule) throw InputError({}, "--route", problem, "'METHOD /path/*/segment=NAME', METHOD may be *, * matches one segment, a final ** the rest");
      options.routes.push_back(std::move(*rule));
    }
  }
  options.keep_query = values.count("keep-query") > 0;
  options.exclude_static = values.count("exclude-static") > 0;
  options.exclude_bots = values.count("exclude-bots") > 0;
  std::string problem;
  const auto key = calibrate::parse_session_key(values["session-key"].as<std::string>(), problem);
  if (!key) throw InputError({}, "--session-key", problem, "ip+ua, ip, cookie:NAME or header:NAME (a field of JSON lines)");
  options.session_key = *key;
  options.session_timeout = duration_of(values, "session-timeout");
  if (!(options.session_timeout.count() >= 1 && options.session_timeout.count() <= 86400)) {
    throw InputError({}, "--session-timeout", "is out of range", "from 1s to 1d");
  }
  if (values.count("timezone")) {
    const auto text = values["timezone"].as<std::string>();
    if (const auto offset = parse_utc_offset(text)) {
      options.time_zone = sim::TimeZone(*offset, text);
    } else if (auto zone = sim::TimeZone::named(text)) {
      options.time_zone = std::move(*zone);
    } else {
      throw InputError({}, "--timezone", fmt::format("'{}' is not a time zone", text), "a UTC offset such as +09:00, or an IANA zone such as Asia/Seoul");
    }
  }
  const auto bins = values["profile-bins"].as<unsigned>();
  if (bins != 24 && bins != 96) throw InputError({}, "--profile-bins", fmt::format("'{}' is not 24 or 96", bins), "24 (hourly) or 96 (quarter-hourly)");
  options.profile_bins = static_cast<int>(bins);
  const auto model = values["model"].as<std::string>();
  if (model == "auto") {
    options.model = calibrate::ModelKind::automatic;
  } else if (model == "mix") {
    options.model = calibrate::ModelKind::mix;
  } else if (model == "journeys") {
    options.model = calibrate::ModelKind::journeys;
  } else {
    throw InputError({}, "--model", fmt::format("'{}' is not a model", model), "auto, mix or journeys");
  }
  return options;
}

int run_calibrate(const po::variables_map& values) {
  const auto options = options_of(values);
  const auto format = values["format"].as<std::string>();
  if (format != "yaml" && format != "json") throw InputError({}, "--format", fmt::format("'{}' is not a format", format), "yaml (a scenario) or json (the calibration as data)");
  const auto out = values.count("out") ? values["out"].as<std::string>() : std::string();
  std::string name = values.count("name") ? values["name"].as<std::string>() : out.empty() ? "calibrated" : std::filesystem::path(out).stem().string();
  if (!sim::is_usable_scenario_name(name)) throw InputError({}, "--name", fmt::format("'{}' is not a usable scenario name", name), sim::kUsableScenarioName);

  const auto calibration = calibrate::calibrate_logs(values["log"].as<std::vector<std::string>>(), options);
  std::string text;
  if (format == "json") {
    text = calibrate::render_calibration_json(calibration);
  } else {
    text = calibrate::render_scenario(calibration, name);
    // What is written must load: a scenario that check refuses is a defect here, not the author's.
    sim::parse_scenario(text, out.empty() ? name + ".yaml" : out);
  }
  // The summary goes to standard error when the file goes to standard output.
  std::FILE* report = out.empty() ? stderr : stdout;
  std::fputs(calibrate::render_calibration_text(calibration).c_str(), report);
  if (format == "yaml" && !values.count("no-fidelity")) {
    const auto fidelity = calibrate::replay_fidelity(calibration, text, name + ".yaml");
    std::fputs(("\n" + calibrate::render_fidelity_text(fidelity)).c_str(), report);
  }
  if (out.empty()) {
    std::fputs(text.c_str(), stdout);
  } else {
    write_file_atomically(out, text);
    fmt::print("wrote {}{}\n", out, format == "yaml" ? fmt::format(": next, fill in its TODOs, then 'uptake check {}'", out) : "");
  }
  return kExitOk;
}

}  // namespace

std::vector<Command> calibrate_commands() {
  return {
      {"calibrate", "Measure a scenario from web server access logs (combined, common or JSON lines; plain or gzip)",
       "uptake calibrate LOG... [--out FILE] [--format yaml|json] [options]",
       {"uptake calibrate /var/log/nginx/access.log* --out measured.yaml        # rotated and gzipped logs, any order",
        "uptake calibrate access.log --exclude-static --exclude-bots --route 'POST /v1/certificates/*/revoke=revoke'",
        "uptake calibrate app.jsonl --log-format json --json-field time=@timestamp --session-key header:session_id",
        "uptake calibrate access.log --format json --out calibration.json         # the measurements as data"},
       [](po::options_description& options, po::positional_options_description& positional) {
         options.add_options()("log", po::value<std::vector<std::string>>()->required()->multitoken(), "access logs, plain or gzip (positional)")(
             "out,o", po::value<std::string>(), "write the scenario (or JSON) here, atomically (default: standard output)")(
             "format", po::value<std::string>()->default_value("yaml"), "yaml (a scenario) or json (the calibration as data, uptake.calibration/v1)")(
             "name", po::value<std::string>(), "the scenario's name (default: the --out file's stem, or 'calibrated')")(
             "log-format", po::value<std::string>()->default_value("auto"), "auto, combined, common or json")(
             "json-field", po::value<std::vector<std::string>>()->composing(),
             "ROLE=NAME: the JSON field of time, method, path, request, status, client, user_agent or cookie (repeatable)")(
             "route", po::value<std::vector<std::string>>()->composing(), "'METHOD /path/*/x=NAME': name an endpoint (repeatable; * any one segment)")(
             "keep-query", "keep query parameter names in endpoints (values are always dropped)")(
             "exclude-static", "leave out static assets (.css, .js, images, fonts)")(
             "exclude-bots", "leave out crawlers, monitors and scripts by user agent")(
             "session-key", po::value<std::string>()->default_value("ip+ua"), "what makes a session: ip+ua, ip, cookie:NAME or header:NAME")(
             "session-timeout", po::value<std::string>()->default_value("30m"), "a session ends after this long without a request")(
             "timezone", po::value<std::string>(), "local time of the calendar (default: the offsets the log writes)")(
             "profile-bins", po::value<unsigned>()->default_value(24), "24 (hourly) or 96 (quarter-hourly) hour profile")(
             "model", po::value<std::string>()->default_value("auto"), "auto (journeys when sessions make 1.5 requests or more), mix or journeys")(
             "no-fidelity", "skip the replay of the written scenario against the log");
         positional.add("log", -1);
       },
       run_calibrate},
  };
}

}  // namespace uptake::cli
