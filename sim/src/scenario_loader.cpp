#include "uptake/sim/scenario_loader.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>
#include <boost/regex.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <charconv>
#include <cctype>
#include <cmath>
#include <filesystem>
#include <limits>
#include <set>
#include <sstream>
#include <tuple>

#include "uptake/base/csv.hpp"
#include "uptake/base/files.hpp"
#include "uptake/base/limits.hpp"
#include "uptake/sim/journey.hpp"
#include "uptake/sim/projection.hpp"
#include "uptake/sim/replay_override.hpp"
#include "uptake/sim/threshold.hpp"

namespace uptake::sim {

extern const char* const kScenarioTemplate;  // generated from scenarios/template.yaml

namespace {

using namespace std::chrono;

// Walks the YAML tree with the file name at hand, so every check can say where it failed.
// yaml-cpp counts lines and columns from 0; people count from 1.
class Reader {
 public:
  explicit Reader(std::string file) : file_(std::move(file)) {}

  InputLocation at(const YAML::Mark& mark) const {
    if (mark.is_null()) return {file_, 0, 0};
    return {file_, mark.line + 1, mark.column + 1};
  }
  InputLocation at(const YAML::Node& node) const { return at(node.Mark()); }

  [[noreturn]] void fail(const YAML::Node& node, const std::string& field, const std::string& problem,
                         const std::string& expected = {}) const {
    throw InputError(at(node), field, problem, expected);
  }

  // The mapping at `node`, with every key checked against `allowed` so that a misspelt field is
  // an error instead of a silently ignored line.
  void expect_map(const YAML::Node& node, const std::string& field, std::initializer_list<const char*> allowed) const {
    if (!node.IsMap()) fail(node, field, "is not a mapping", "a block of 'key: value' lines");
    for (const auto& entry : node) {
      const auto key = entry.first.Scalar();
      if (std::none_of(allowed.begin(), allowed.end(), [&](const char* name) { return key == name; })) {
        std::vector<std::string> names(allowed.begin(), allowed.end());
        fail(entry.first, join(field, key), "is not a known field", fmt::format("one of: {}", fmt::join(names, ", ")));
      }
    }
  }

  YAML::Node require(const YAML::Node& parent, const std::string& field, const char* key) const {
    const auto child = parent[key];
    if (!child) fail(parent, join(field, key), "is missing");
    return child;
  }

  std::string text(const YAML::Node& node, const std::string& field) const {
    if (!node.IsScalar()) fail(node, field, "is not a single value", "text");
    return node.Scalar();
  }

  std::string nonempty_text(const YAML::Node& node, const std::string& field) const {
    auto value = text(node, field);
    if (value.empty()) fail(node, field, "is empty", "non-empty text");
    return value;
  }

  double number(const YAML::Node& node, const std::string& field) const {
    if (!node.IsScalar()) fail(node, field, "is not a number");
    double value = 0;
    if (!YAML::convert<double>::decode(node, value) || !std::isfinite(value)) {
      fail(node, field, fmt::format("'{}' is not a number", node.Scalar()), "a number such as 1.25");
    }
    return value;
  }

  // Above 0, and at most `most` where a larger value could not be meant (and would overflow
  // the rates built from it).
  double positive(const YAML::Node& node, const std::string& field, double most = kUnbounded) const {
    const double value = number(node, field);
    if (value <= 0) fail(node, field, fmt::format("is {}", value), "a number above 0");
    return at_most(node, field, value, most);
  }

  double non_negative(const YAML::Node& node, const std::string& field, double most = kUnbounded) const {
    const double value = number(node, field);
    if (value < 0) fail(node, field, fmt::format("is {}", value), "a number of 0 or more");
    return at_most(node, field, value, most);
  }

  // A share of requests: a fraction from 0 to 1, or a percentage such as 2% or 0.5%.
  double fraction(const YAML::Node& node, const std::string& field) const {
    if (node.IsScalar() && !node.Scalar().empty() && node.Scalar().back() == '%') {
      const auto digits = node.Scalar().substr(0, node.Scalar().size() - 1);
      double percent = 0;
      if (!YAML::convert<double>::decode(YAML::Node(digits), percent) || !std::isfinite(percent) || percent < 0 || percent > 100) {
        fail(node, field, fmt::format("'{}' is not a percentage from 0% to 100%", node.Scalar()), "a share such as 2% or 0.02");
      }
      return percent / 100;
    }
    const double value = number(node, field);
    if (value < 0 || value > 1) fail(node, field, fmt::format("is {}", value), "a share from 0 to 1, or a percentage such as 2%");
    return value;
  }

  bool boolean(const YAML::Node& node, const std::string& field) const {
    bool value = false;
    if (!node.IsScalar() || !YAML::convert<bool>::decode(node, value)) fail(node, field, fmt::format("'{}' is not true or false", node.Scalar()), "true or false");
    return value;
  }

  long long integer(const YAML::Node& node, const std::string& field) const {
    if (!node.IsScalar()) fail(node, field, "is not a whole number");
    long long value = 0;
    if (!YAML::convert<long long>::decode(node, value)) {
      fail(node, field, fmt::format("'{}' is not a whole number", node.Scalar()), "a whole number such as 2027");
    }
    return value;
  }

  int year(const YAML::Node& node, const std::string& field) const {
    const auto value = integer(node, field);
    if (value < 1900 || value > 2200) fail(node, field, fmt::format("{} is not a plausible year", value), "a year between 1900 and 2200");
    return static_cast<int>(value);
  }

  Seconds duration(const YAML::Node& node, const std::string& field) const {
    // Where the file expects seconds, a bare number is seconds, as on the command line.
    const auto value = parse_duration(text(node, field), BareNumber::seconds);
    if (!value) fail(node, field, fmt::format("'{}' is not a duration", node.Scalar()), duration_forms(BareNumber::seconds));
    return *value;
  }

  // A pause of a session: a duration (constant) or a distribution of durations.
  DurationDistribution think_time(const YAML::Node& node, const std::string& field) const {
    std::string problem;
    const auto value = DurationDistribution::parse(text(node, field), problem, true);
    if (!value) fail(node, field, problem, "a duration (3s) or a distribution: const:3s, exp:3s, lognormal:MEAN,SD such as lognormal:3s,2s");
    return *value;
  }

  sys_days date(const YAML::Node& node, const std::string& field) const {
    const auto value = parse_date(text(node, field));
    if (!value) fail(node, field, fmt::format("'{}' is not a valid date", node.Scalar()), "YYYY-MM-DD");
    return *value;
  }

  sys_seconds date_time(const YAML::Node& node, const std::string& field) const {
    const auto value = parse_date_time(text(node, field));
    if (!value) fail(node, field, fmt::format("'{}' is not a valid local date and time", node.Scalar()), "YYYY-MM-DDTHH:MM");
    return *value;
  }

  std::vector<double> factors(const YAML::Node& node, const std::string& field, std::initializer_list<std::size_t> sizes) const {
    if (!node.IsSequence()) fail(node, field, "is not a list", "a list of numbers in [ ]");
    if (std::find(sizes.begin(), sizes.end(), node.size()) == sizes.end()) {
      std::vector<std::size_t> allowed(sizes);
      fail(node, field, fmt::format("has {} values", node.size()), fmt::format("{} values", fmt::join(allowed, " or ")));
    }
    std::vector<double> values;
    double total = 0;
    for (std::size_t i = 0; i < node.size(); ++i) {
      const auto value_field = fmt::format("{}[{}]", field, i);
      values.push_back(non_negative(node[i], value_field, kMostWeight));
      total += values.back();
    }
    if (total <= 0) fail(node, field, "are all zero", "at least one weight above 0");
    return values;
  }

  static std::string join(const std::string& field, const std::string& key) { return field.empty() ? key : field + "." + key; }

  const std::string& file() const { return file_; }

 private:
  static constexpr double kUnbounded = std::numeric_limits<double>::infinity();

  // A value already read from `node`, refused above `most`.
  double at_most(const YAML::Node& node, const std::string& field, double value, double most) const {
    if (value > most) fail(node, field, fmt::format("is {}", value), fmt::format("a number of at most {:g}", most));
    return value;
  }

  std::string file_;
};

// What the loader may build from one file, aliases expanded. yaml-cpp shares an aliased node
// rather than copying it, but every reader of the tree walks each alias as if written out: a
// 30 KB file of 3000 aliases of an event with 3000 aliased endpoints became 9 million strings.
// The largest shipped scenario has a few hundred nodes.
constexpr std::size_t kMostExpandedNodes = 100'000;
constexpr std::size_t kMostExpandedScalarBytes = 16 << 20;

// Walks the document as the loader will, aliases expanded, stopping as soon as it exceeds the
// bounds above (so the walk itself stays within them), and refuses a key given twice in one
// mapping: yaml-cpp keeps both, and lookups would silently take the first.
class ExpandedWalk {
 public:
  explicit ExpandedWalk(const Reader& reader) : reader_(reader) {}

  void visit(const YAML::Node& node, const std::string& field) {
    if (++nodes_ > kMostExpandedNodes) {
      reader_.fail(node, field, fmt::format("expands (aliases written out) to more than {} values", kMostExpandedNodes),
                   "a scenario that is this large when its aliases are written out in full");
    }
    if (node.IsScalar()) {
      scalar_bytes_ += node.Scalar().size();
      if (scalar_bytes_ > kMostExpandedScalarBytes) {
        reader_.fail(node, field, fmt::format("expands (aliases written out) to more than {} MiB of text", kMostExpandedScalarBytes >> 20),
                     "a scenario that is this large when its aliases are written out in full");
      }
    } else if (node.IsSequence()) {
      for (std::size_t i = 0; i < node.size(); ++i) visit(node[i], fmt::format("{}[{}]", field, i));
    } else if (node.IsMap()) {
      std::set<std::string> keys;
      for (const auto& entry : node) {
        const auto key = entry.first.IsScalar() ? entry.first.Scalar() : std::string();
        const auto key_field = Reader::join(field, key);
        if (entry.first.IsScalar() && !keys.insert(key).second) reader_.fail(entry.first, key_field, "is given twice", "each key once in a mapping");
        visit(entry.first, key_field);
        visit(entry.second, key_field);
      }
    }
  }

 private:
  const Reader& reader_;
  std::size_t nodes_ = 0;
  std::size_t scalar_bytes_ = 0;
};

GrowthModelKind model_kind(const Reader& reader, const YAML::Node& node, const std::string& field) {
  const auto name = reader.text(node, field);
  if (name == "exponential") return GrowthModelKind::exponential;
  if (name == "logistic") return GrowthModelKind::logistic;
  if (name == "gompertz") return GrowthModelKind::gompertz;
  if (name == "bass") return GrowthModelKind::bass;
  if (name == "auto") return GrowthModelKind::automatic;
  reader.fail(node, field, fmt::format("'{}' is not a growth model", name), "exponential, logistic, gompertz, bass or auto");
}

// "2022-07" -> {2022, 7}
std::pair<int, int> year_month(const Reader& reader, const YAML::Node& node, const std::string& field) {
  const auto text = reader.text(node, field);
  const auto day = text.size() == 7 ? parse_date(text + "-01") : std::nullopt;
  if (!day) reader.fail(node, field, fmt::format("'{}' is not a month", text), "YYYY-MM");
  const year_month_day ymd{*day};
  return {static_cast<int>(ymd.year()), static_cast<int>(static_cast<unsigned>(ymd.month()))};
}

// `monthly: { 2022-01: v, ... }` and `periods: [{ from: 2022-07, to: 2022-12, volume: v }]` both
// become periods of whole months: a month is a period of one.
void load_periods(const Reader& reader, const YAML::Node& node, const std::string& field, Series& series) {
  std::vector<std::pair<PeriodVolume, YAML::Node>> periods;
  if (const auto monthly = node["monthly"]) {
    if (!monthly.IsMap()) reader.fail(monthly, field + ".monthly", "is not a mapping", "{ YYYY-MM: volume, ... }");
    for (const auto& point : monthly) {
      const auto month_field = fmt::format("{}.monthly.{}", field, point.first.Scalar());
      const auto [year, month] = year_month(reader, point.first, month_field);
      periods.push_back({{year, month, year, month, reader.positive(point.second, month_field, kMostVolume)}, point.first});
    }
  }
  if (const auto list = node["periods"]) {
    if (!list.IsSequence()) reader.fail(list, field + ".periods", "is not a list", "a list of { from: YYYY-MM, to: YYYY-MM, volume: N }");
    for (std::size_t i = 0; i < list.size(); ++i) {
      const auto item_field = fmt::format("{}.periods[{}]", field, i);
      reader.expect_map(list[i], item_field, {"from", "to", "volume"});
      const auto [first_year, first_month] = year_month(reader, reader.require(list[i], item_field, "from"), item_field + ".from");
      const auto [last_year, last_month] = year_month(reader, reader.require(list[i], item_field, "to"), item_field + ".to");
      if (std::tie(last_year, last_month) < std::tie(first_year, first_month)) {
        reader.fail(list[i]["to"], item_field + ".to", "is before 'from'", "a last month on or after the first");
      }
      periods.push_back({{first_year, first_month, last_year, last_month,
                          reader.positive(reader.require(list[i], item_field, "volume"), item_field + ".volume", kMostVolume)}, list[i]});
    }
  }
  std::sort(periods.begin(), periods.end(), [](const auto& a, const auto& b) {
    return std::tie(a.first.first_year, a.first.first_month) < std::tie(b.first.first_year, b.first.first_month);
  });
  for (std::size_t i = 1; i < periods.size(); ++i) {
    const auto& previous = periods[i - 1].first;
    const auto& current = periods[i].first;
    if (std::tie(current.first_year, current.first_month) <= std::tie(previous.last_year, previous.last_month)) {
      reader.fail(periods[i].second, field, fmt::format("has months counted twice: {}-{:02} falls inside an earlier period", current.first_year, current.first_month),
                  "monthly volumes and periods that do not overlap");
    }
  }
  for (const auto& [period, where] : periods) series.periods.push_back(period);
}

// An assumed value: a number, or a range { low: L, high: H } with an optional `likely`. Returns
// the value the fit is shown with (the number, or the range's centre) and the range if any.
std::pair<double, std::optional<ParameterRange>> assumed_value(const Reader& reader, const YAML::Node& node,
                                                                const std::string& field, bool positive) {
  if (!node.IsMap()) return {positive ? reader.positive(node, field) : reader.number(node, field), std::nullopt};
  reader.expect_map(node, field, {"low", "high", "likely"});
  const auto read = [&](const char* key) {
    const auto child = reader.require(node, field, key);
    return positive ? reader.positive(child, field + "." + key) : reader.number(child, field + "." + key);
  };
  ParameterRange range{read("low"), read("high"), std::nullopt};
  if (!(range.high > range.low)) {
    reader.fail(node["high"], field + ".high", fmt::format("{} is not above low ({})", range.high, range.low),
                "a range { low: L, high: H } with H > L");
  }
  if (node["likely"]) {
    range.likely = read("likely");
    if (*range.likely < range.low || *range.likely > range.high) {
      reader.fail(node["likely"], field + ".likely", fmt::format("{} is outside the range {} to {}", *range.likely, range.low, range.high),
                  "a most likely value between low and high");
    }
  }
  return {range_centre(range, positive), range};
}

void load_history(const Reader& reader, const YAML::Node& root, Scenario& scenario) {
  const auto history = reader.require(root, "", "history");
  reader.expect_map(history, "history", {"series"});
  const auto all_series = reader.require(history, "history", "series");
  if (!all_series.IsMap() || all_series.size() == 0) {
    reader.fail(all_series, "history.series", "has no series", "at least one named series with yearly volumes");
  }
  for (const auto& entry : all_series) {
    Series series;
    series.name = entry.first.Scalar();
    series.where = reader.at(entry.first);
    const std::string field = "history.series." + series.name;
    const auto& node = entry.second;
    reader.expect_map(node, field, {"unit", "yearly", "monthly", "periods", "cumulative", "model", "market_size", "launch", "fixed"});
    if (node["unit"]) series.unit = reader.text(node["unit"], field + ".unit");
    if (!node["yearly"] && !node["monthly"] && !node["periods"]) {
      reader.fail(node, field + ".yearly", "is missing", "yearly volumes, monthly volumes or periods");
    }
    const auto yearly = node["yearly"] ? node["yearly"] : YAML::Node(YAML::NodeType::Map);
    if (!yearly.IsMap()) reader.fail(yearly, field + ".yearly", "is not a mapping", "{ YEAR: volume, ... }");
    for (const auto& point : yearly) {
      const int year = reader.year(point.first, field + ".yearly");
      const auto year_field = fmt::format("{}.yearly.{}", field, year);
      if (series.yearly.count(year)) reader.fail(point.first, year_field, "is given twice");
      series.yearly[year] = reader.positive(point.second, year_field, kMostVolume);
    }
    load_periods(reader, node, field, series);
    if (node["cumulative"]) {
      series.cumulative = reader.boolean(node["cumulative"], field + ".cumulative");
      if (series.cumulative && !series.periods.empty()) {
        reader.fail(node["cumulative"], field + ".cumulative", "is true for a series with monthly volumes or periods",
                    "a cumulative series counts the stock at each year's end, in yearly only");
      }
    }
    if (series.yearly.empty() && series.periods.empty()) reader.fail(node, field, "has no volumes", "at least one yearly volume or period");
    series.model = node["model"] ? model_kind(reader, node["model"], field + ".model") : scenario.growth.model;
    if (node["market_size"]) {
      const auto [value, range] = assumed_value(reader, node["market_size"], field + ".market_size", true);
      series.market_size = value;
      if (range) series.ranges["K"] = *range;
      double largest = 0;
      for (const auto& [year, volume] : series.yearly) largest = std::max(largest, volume);
      const double lowest = range ? range->low : value;
      if (lowest <= largest) {
        reader.fail(node["market_size"], field + (range ? ".market_size.low" : ".market_size"),
                    fmt::format("{:.0f} is not above the largest yearly volume {:.0f}", lowest, largest),
                    "a yearly volume the series can grow towards");
      }
    }
    if (const auto fixed = node["fixed"]) {
      if (!fixed.IsMap()) reader.fail(fixed, field + ".fixed", "is not a mapping", "{ parameter: value, ... } such as { q: 0.38 }");
      for (const auto& parameter : fixed) {
        const auto name = parameter.first.Scalar();
        // Bounds are the fit's to check, with the model's names; a range's ends must be numbers.
        const auto [value, range] = assumed_value(reader, parameter.second, field + ".fixed." + name, false);
        series.fixed[name] = value;
        if (range) {
          if (spreads_on_log_scale(name) && range->low <= 0) {
            reader.fail(parameter.second["low"], field + ".fixed." + name + ".low", fmt::format("{} is not above 0", range->low),
                        fmt::format("a range of positive values for {}", name));
          }
          series.ranges[name] = *range;
          series.fixed[name] = range_centre(*range, spreads_on_log_scale(name));
        }
      }
    }
    if (node["launch"]) {
      series.launch = reader.number(node["launch"], field + ".launch");
      if (*series.launch >= series.first_year() + 1) {
        reader.fail(node["launch"], field + ".launch", fmt::format("{} is after the first year of history", *series.launch),
                    fmt::format("a fractional year before {}", series.first_year() + 1));
      }
    }
    scenario.series.push_back(std::move(series));
  }
}

void load_growth(const Reader& reader, const YAML::Node& root, Scenario& scenario) {
  const auto growth = root["growth"];
  if (!growth) return;
  reader.expect_map(growth, "growth", {"model", "project_to", "interval", "bootstrap_samples"});
  if (growth["model"]) scenario.growth.model = model_kind(reader, growth["model"], "growth.model");
  if (growth["project_to"]) scenario.growth.project_to_year = reader.year(growth["project_to"], "growth.project_to");
  if (growth["interval"]) {
    scenario.growth.interval_level = reader.number(growth["interval"], "growth.interval");
    if (scenario.growth.interval_level <= 0 || scenario.growth.interval_level >= 1) {
      reader.fail(growth["interval"], "growth.interval", fmt::format("is {}", scenario.growth.interval_level), "a level between 0 and 1, such as 0.90");
    }
  }
  if (growth["bootstrap_samples"]) {
    const auto samples = reader.integer(growth["bootstrap_samples"], "growth.bootstrap_samples");
    if (samples < 50 || samples > 100000) reader.fail(growth["bootstrap_samples"], "growth.bootstrap_samples", fmt::format("is {}", samples), "50 to 100000");
    scenario.growth.bootstrap_samples = static_cast<int>(samples);
  }
}

// Words of a yearly date rule such as "second monday of january"; index + 1 is the number.
constexpr std::array<const char*, 12> kMonthNames = {"january", "february", "march", "april", "may", "june", "july",
                                                     "august", "september", "october", "november", "december"};
constexpr std::array<const char*, 7> kWeekdayNames = {"monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"};
constexpr std::array<const char*, 5> kOrdinals = {"first", "second", "third", "fourth", "fifth"};
constexpr std::array<const char*, 5> kShortOrdinals = {"1st", "2nd", "3rd", "4th", "5th"};

// 1-based position of lower-case `word` among `names` (or, for weekdays and months, their
// first three letters: "mon", "jan"); 0 if none.
template <std::size_t N>
unsigned name_index(const std::string& word, const std::array<const char*, N>& names, bool three_letters = false) {
  for (std::size_t i = 0; i < N; ++i) {
    const std::string name = names[i];
    if (word == name || (three_letters && word.size() == 3 && name.compare(0, 3, word) == 0)) return static_cast<unsigned>(i + 1);
  }
  return 0;
}

// "MM-DD" (every year on that date) or "NTH WEEKDAY of MONTH" ("second monday of january",
// "last friday of may", "2nd mon of jan").
YearlyDate yearly_date(const Reader& reader, const YAML::Node& node, const std::string& field) {
  const auto text = reader.text(node, field);
  const char* expected = "MM-DD such as 03-01, or a weekday rule such as 'second monday of january' or 'last friday of may'";
  YearlyDate date;
  if (text.size() == 5 && text[2] == '-') {
    // Any leap year accepts 02-29, which then occurs only in leap years.
    const auto day = parse_date("2000-" + text);
    if (!day) reader.fail(node, field, fmt::format("'{}' is not a day of the year", text), expected);
    const year_month_day ymd{*day};
    date.month = static_cast<unsigned>(ymd.month());
    date.day = static_cast<unsigned>(ymd.day());
    return date;
  }
  std::string lower = text;
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  std::istringstream words(lower);
  std::string nth, weekday, of, month, rest;
  if (!(words >> nth >> weekday >> of >> month) || (words >> rest) || of != "of") {
    reader.fail(node, field, fmt::format("'{}' is not a yearly date", text), expected);
  }
  if (const auto ordinal = std::max(name_index(nth, kOrdinals), name_index(nth, kShortOrdinals))) {
    date.nth = static_cast<int>(ordinal);
  } else if (nth == "last") {
    date.nth = -1;
  } else {
    reader.fail(node, field, fmt::format("'{}' in '{}' is not an ordinal a month can have", nth, text),
                "first, second, third, fourth, fifth (or 1st to 5th), or last: a month has at most five of each weekday");
  }
  date.weekday = name_index(weekday, kWeekdayNames, true);
  if (!date.weekday) reader.fail(node, field, fmt::format("'{}' in '{}' is not a weekday", weekday, text), "monday to sunday (or mon to sun)");
  date.month = name_index(month, kMonthNames, true);
  if (!date.month) reader.fail(node, field, fmt::format("'{}' in '{}' is not a month", month, text), "january to december (or jan to dec)");
  return date;
}

void load_calendar(const Reader& reader, const YAML::Node& root, Scenario& scenario) {
  auto& calendar = scenario.calendar;
  calendar.month_factors.assign(12, 1.0);
  calendar.weekday_factors.assign(7, 1.0);
  calendar.hour_profile.assign(24, 1.0);
  const auto node = root["calendar"];
  if (!node) return;
  reader.expect_map(node, "calendar", {"timezone", "month_factors", "weekday_factors", "holidays", "holiday_factor", "hour_profile"});
  if (node["timezone"]) {
    const auto name = reader.text(node["timezone"], "calendar.timezone");
    if (const auto offset = parse_utc_offset(name)) {
      calendar.time_zone = TimeZone(*offset, name);
    } else if (auto zone = TimeZone::named(name)) {
      calendar.time_zone = std::move(*zone);
    } else {
      reader.fail(node["timezone"], "calendar.timezone", fmt::format("'{}' is not a UTC offset or a time zone the system's time zone database knows", name),
                  "UTC, a fixed offset such as +09:00, or an IANA name such as Asia/Seoul or Europe/Berlin");
    }
  }
  // The database's explicit transitions end in 2037; a zone still changing its clocks then
  // keeps its last offset afterwards, which is wrong half of each later year.
  const auto changes = calendar.time_zone.transitions();
  if (changes.size() >= 2 && changes.back() - changes[changes.size() - 2] < 366 * 86400.0) {
    const int last_change = static_cast<int>(year_month_day{floor<days>(sys_seconds{seconds{static_cast<long long>(changes.back())}})}.year());
    if (last_change < scenario.growth.project_to_year) {
      scenario.warnings.push_back(fmt::format("calendar.timezone: the system's time zone database has {}'s clock changes until {} only; {} modelled without daylight saving",
                                              calendar.time_zone.name(), last_change,
                                              last_change + 1 == scenario.growth.project_to_year ? fmt::format("{} is", scenario.growth.project_to_year)
                                                                                                 : fmt::format("{}-{} are", last_change + 1, scenario.growth.project_to_year)));
    }
  }
  if (node["month_factors"]) calendar.month_factors = reader.factors(node["month_factors"], "calendar.month_factors", {12});
  if (node["weekday_factors"]) calendar.weekday_factors = reader.factors(node["weekday_factors"], "calendar.weekday_factors", {7});
  if (node["hour_profile"]) calendar.hour_profile = reader.factors(node["hour_profile"], "calendar.hour_profile", {24, 96});
  if (node["holiday_factor"]) {
    calendar.holiday_factor = reader.non_negative(node["holiday_factor"], "calendar.holiday_factor", kMostWeight);
  }
  if (const auto holidays = node["holidays"]) {
    if (!holidays.IsSequence()) reader.fail(holidays, "calendar.holidays", "is not a list", "a list of dates [YYYY-MM-DD, MM-DD, ...]");
    for (std::size_t i = 0; i < holidays.size(); ++i) {
      const auto field = fmt::format("calendar.holidays[{}]", i);
      // A full date holds in its year only; MM-DD and weekday rules hold every year.
      const auto& text = holidays[i].IsScalar() ? holidays[i].Scalar() : std::string();
      const bool one_year = text.size() == 10 && std::isdigit(static_cast<unsigned char>(text[0])) && text[4] == '-';
      if (one_year) {
        calendar.holidays.push_back(reader.date(holidays[i], field));
      } else {
        calendar.yearly_holidays.push_back(yearly_date(reader, holidays[i], field));
      }
    }
    std::sort(calendar.holidays.begin(), calendar.holidays.end());
    calendar.holidays.erase(std::unique(calendar.holidays.begin(), calendar.holidays.end()), calendar.holidays.end());
  }
}

// "2026", "2026 and 2028", "2020-2022, 2025 and 2028-2030"
std::string year_list(const std::vector<int>& years) {
  std::vector<std::string> runs;
  for (std::size_t i = 0; i < years.size();) {
    std::size_t j = i;
    while (j + 1 < years.size() && years[j + 1] == years[j] + 1) ++j;
    runs.push_back(j == i ? std::to_string(years[i]) : fmt::format("{}-{}", years[i], years[j]));
    i = j + 1;
  }
  if (runs.size() == 1) return runs.front();
  const auto last = runs.back();
  runs.pop_back();
  return fmt::format("{} and {}", fmt::join(runs, ", "), last);
}

// Holidays listed for some years only (lunar ones, substitute days) leave the other years
// without them: their volume spreads over days that are holidays in fact. Loads, but is said.
void warn_of_years_without_holidays(Scenario& scenario, int first_year, int last_year) {
  const auto& listed = scenario.calendar.holidays;
  if (listed.empty()) return;
  std::set<int> with;
  for (const auto day : listed) with.insert(static_cast<int>(year_month_day{day}.year()));
  std::vector<int> without;
  std::vector<int> with_in_range;
  for (int year = first_year; year <= last_year; ++year) (with.count(year) ? with_in_range : without).push_back(year);
  if (without.empty()) return;
  const bool one = without.size() == 1;
  const auto others = with_in_range.empty() ? std::vector<int>(with.begin(), with.end()) : with_in_range;
  scenario.warnings.push_back(fmt::format(
      "calendar.holidays: {} {} no listed holidays while {} {}; {} volume spreads over every day as if {} had {}", year_list(without),
      one ? "has" : "have", year_list(others), others.size() == 1 ? "does" : "do", one ? "its" : "their", one ? "it" : "they",
      scenario.calendar.yearly_holidays.empty() ? "none" : "only the yearly ones"));
}

// An event happens once (`start`), on listed dates (`starts`), or every year (`every: year`)
// on start's date and time or by an `on` rule at `at`; see scenarios/README.md.
void load_occurrences(const Reader& reader, const YAML::Node& node, const std::string& field, Event& event) {
  const auto local = [](sys_seconds wall_clock) { return local_seconds{wall_clock.time_since_epoch()}; };
  const auto only_yearly = [&](const char* key) {
    if (node[key]) reader.fail(node[key], field + "." + key, "is only for events that recur", "every: year beside it");
  };
  const auto exclusive = [&](const char* key, const char* other) {
    if (node[key] && node[other]) reader.fail(node[other], field + "." + other, fmt::format("is given together with {}", key), fmt::format("either {} or {}", key, other));
  };
  exclusive("start", "starts");
  exclusive("start", "on");
  exclusive("starts", "every");
  if (!node["every"]) {
    for (const char* key : {"on", "at", "from", "until"}) only_yearly(key);
    if (const auto starts = node["starts"]) {
      if (!starts.IsSequence() || starts.size() == 0) reader.fail(starts, field + ".starts", "is not a non-empty list", "a list of local times [YYYY-MM-DDTHH:MM, ...]");
      for (std::size_t k = 0; k < starts.size(); ++k) event.starts.push_back(local(reader.date_time(starts[k], fmt::format("{}.starts[{}]", field, k))));
    } else {
      event.starts.push_back(local(reader.date_time(reader.require(node, field, "start"), field + ".start")));
    }
    return;
  }
  const auto every = reader.text(node["every"], field + ".every");
  if (every != "year") reader.fail(node["every"], field + ".every", fmt::format("'{}' is not a recurrence", every), "year");
  YearlyRecurrence yearly;
  if (node["start"]) {
    if (node["at"]) reader.fail(node["at"], field + ".at", "is given together with start", "the time of day in start, or on and at");
    if (node["from"]) reader.fail(node["from"], field + ".from", "is given together with start", "start alone: its year is the first");
    // The first occurrence fixes the date, the time of day and the first year.
    const auto start = reader.date_time(node["start"], field + ".start");
    const auto day = floor<days>(start);
    const year_month_day ymd{day};
    yearly.date.month = static_cast<unsigned>(ymd.month());
    yearly.date.day = static_cast<unsigned>(ymd.day());
    yearly.time_of_day = start - sys_seconds{day};
    yearly.first_year = static_cast<int>(ymd.year());
  } else {
    yearly.date = yearly_date(reader, reader.require(node, field, "on"), field + ".on");
    if (node["at"]) {
      const auto at = reader.text(node["at"], field + ".at");
      const auto wall_clock = parse_date_time("2000-01-01T" + at);
      if (!wall_clock) reader.fail(node["at"], field + ".at", fmt::format("'{}' is not a time of day", at), "HH:MM such as 09:00");
      yearly.time_of_day = *wall_clock - sys_seconds{sys_days{2000y / January / 1}};
    }
    if (node["from"]) yearly.first_year = reader.year(node["from"], field + ".from");
  }
  if (node["until"]) {
    yearly.last_year = reader.year(node["until"], field + ".until");
    if (yearly.first_year && yearly.last_year < yearly.first_year) {
      reader.fail(node["until"], field + ".until", fmt::format("{} is before the first occurrence, in {}", yearly.last_year, yearly.first_year),
                  fmt::format("{} or later", yearly.first_year));
    }
  }
  event.yearly = yearly;
}

void load_events(const Reader& reader, const YAML::Node& root, Scenario& scenario) {
  const auto events = root["events"];
  if (!events) return;
  if (!events.IsSequence()) reader.fail(events, "events", "is not a list", "a list of events, each starting with '- name:'");
  for (std::size_t i = 0; i < events.size(); ++i) {
    const auto node = events[i];
    const auto field = fmt::format("events[{}]", i);
    reader.expect_map(node, field, {"name", "start", "starts", "every", "on", "at", "from", "until", "ramp_up", "plateau", "decay",
                                    "multiplier", "endpoints", "additive"});
    Event event;
    event.name = reader.nonempty_text(reader.require(node, field, "name"), field + ".name");
    // Local wall-clock times in the file; the rate model turns them into real instants.
    load_occurrences(reader, node, field, event);
    if (node["ramp_up"]) event.ramp_up = reader.duration(node["ramp_up"], field + ".ramp_up");
    if (node["plateau"]) event.plateau = reader.duration(node["plateau"], field + ".plateau");
    if (node["decay"]) event.decay = reader.duration(node["decay"], field + ".decay");
    if ((event.ramp_up + event.plateau + event.decay).count() <= 0) {
      reader.fail(node, field, "lasts no time", "a ramp_up, plateau or decay longer than 0");
    }
    event.multiplier = reader.positive(reader.require(node, field, "multiplier"), field + ".multiplier", kMostFactor);
    if (node["additive"]) event.additive = reader.boolean(node["additive"], field + ".additive");
    if (const auto endpoints = node["endpoints"]) {
      if (!endpoints.IsSequence()) reader.fail(endpoints, field + ".endpoints", "is not a list", "a list of endpoint names");
      for (std::size_t k = 0; k < endpoints.size(); ++k) event.endpoints.push_back(reader.nonempty_text(endpoints[k], fmt::format("{}.endpoints[{}]", field, k)));
    }
    scenario.events.push_back(std::move(event));
  }
}

const Series* find_series(const Scenario& scenario, const std::string& name) {
  for (const auto& series : scenario.series) {
    if (series.name == name) return &series;
  }
  return nullptr;
}

std::string driving_series_name(const Reader& reader, const YAML::Node& node, const std::string& field, const Scenario& scenario) {
  if (!node["series"]) return scenario.series.front().name;
  const auto name = reader.text(node["series"], field + ".series");
  if (!find_series(scenario, name)) {
    std::vector<std::string> names;
    for (const auto& series : scenario.series) names.push_back(series.name);
    reader.fail(node["series"], field + ".series", fmt::format("names no series '{}'", name), fmt::format("one of: {}", fmt::join(names, ", ")));
  }
  return name;
}

Journeys load_journeys(const Reader& reader, const YAML::Node& node) {
  reader.expect_map(node, "journeys", {"series", "start", "think_time", "cookies", "steps"});
  Journeys journeys;
  journeys.start = reader.nonempty_text(reader.require(node, "journeys", "start"), "journeys.start");
  if (node["think_time"]) journeys.think_time = reader.think_time(node["think_time"], "journeys.think_time");
  if (node["cookies"]) journeys.cookies = reader.boolean(node["cookies"], "journeys.cookies");
  const auto steps = reader.require(node, "journeys", "steps");
  if (!steps.IsMap() || steps.size() == 0) reader.fail(steps, "journeys.steps", "has no steps", "a mapping of step names to { endpoint, next }");
  std::set<std::string> names;
  for (const auto& entry : steps) names.insert(entry.first.Scalar());
  if (names.count("exit")) reader.fail(steps, "journeys.steps.exit", "is reserved", "another name: 'exit' is where every journey ends");
  for (const auto& entry : steps) {
    JourneyStep step;
    step.name = entry.first.Scalar();
    const auto field = "journeys.steps." + step.name;
    reader.expect_map(entry.second, field, {"endpoint", "think_time", "next"});
    if (entry.second["endpoint"]) step.endpoint = reader.nonempty_text(entry.second["endpoint"], field + ".endpoint");
    if (entry.second["think_time"]) step.think_time = reader.think_time(entry.second["think_time"], field + ".think_time");
    const auto next = reader.require(entry.second, field, "next");
    if (!next.IsMap() || next.size() == 0) reader.fail(next, field + ".next", "has no successors", "{ step: probability, ... } with 'exit' to end");
    double total = 0;
    for (const auto& successor : next) {
      const auto name = successor.first.Scalar();
      const auto successor_field = field + ".next." + name;
      if (name != "exit" && !names.count(name)) {
        reader.fail(successor.first, successor_field, fmt::format("names no step '{}'", name), "a step of journeys.steps or 'exit'");
      }
      const double probability = reader.non_negative(successor.second, successor_field);
      if (probability > 1) reader.fail(successor.second, successor_field, fmt::format("probability {} is above 1", probability), "a probability in [0, 1]");
      total += probability;
      step.next.emplace_back(name, probability);
    }
    if (std::abs(total - 1.0) > 1e-6) reader.fail(next, field + ".next", fmt::format("probabilities sum to {:.6g}", total), "probabilities that sum to 1");
    journeys.steps.push_back(std::move(step));
  }
  if (std::all_of(journeys.steps.begin(), journeys.steps.end(), [](const JourneyStep& step) { return step.endpoint.empty(); })) {
    reader.fail(steps, "journeys.steps", "has no step with an endpoint: its sessions would send nothing", "at least one step that sends a request (endpoint: NAME)");
  }
  if (!names.count(journeys.start)) reader.fail(node["start"], "journeys.start", fmt::format("names no step '{}'", journeys.start), "one of the steps under journeys.steps");
  // A chain from which some step can never reach exit would make journeys endless.
  if (const auto trapped = step_that_cannot_exit(journeys)) {
    for (const auto& entry : steps) {
      if (entry.first.Scalar() == *trapped) {
        reader.fail(entry.first, "journeys.steps." + *trapped, "can never reach 'exit'", "every step to lead to 'exit' with some probability");
      }
    }
  }
  return journeys;
}

void load_mix(const Reader& reader, const YAML::Node& root, Scenario& scenario) {
  const auto mix = root["mix"];
  const auto journeys = root["journeys"];
  if (mix && journeys) reader.fail(journeys, "journeys", "is given together with mix", "either mix (endpoint shares) or journeys, not both");
  if (!mix && !journeys) reader.fail(root, "mix", "is missing", "mix (endpoint shares) or journeys (a Markov chain of user steps)");
  if (journeys) {
    // The journeys first: they check that the node is a map before anything looks inside it.
    scenario.mix.journeys = load_journeys(reader, journeys);
    scenario.mix.series = driving_series_name(reader, journeys, "journeys", scenario);
    return;
  }
  reader.expect_map(mix, "mix", {"series", "requests_per_use", "endpoints"});
  scenario.mix.series = driving_series_name(reader, mix, "mix", scenario);
  if (mix["requests_per_use"]) {
    scenario.mix.requests_per_use = reader.positive(mix["requests_per_use"], "mix.requests_per_use", kMostFactor);
  }
  const auto endpoints = reader.require(mix, "mix", "endpoints");
  if (!endpoints.IsMap() || endpoints.size() == 0) reader.fail(endpoints, "mix.endpoints", "has no endpoints", "{ endpoint: share, ... }");
  double total = 0;
  for (const auto& entry : endpoints) {
    const auto field = "mix.endpoints." + entry.first.Scalar();
    const double share = reader.non_negative(entry.second, field);
    total += share;
    scenario.mix.shares.emplace_back(entry.first.Scalar(), share);
  }
  if (std::abs(total - 1.0) > 1e-6) reader.fail(endpoints, "mix.endpoints", fmt::format("shares sum to {:.6g}", total), "shares that sum to 1");
}

// The variables a template may use: the synthetic ones (session_id with journeys), every capture
// of any flow and every column of every feeder (as FEEDER.COLUMN).
std::set<std::string> template_variables(const std::vector<Flow>& flows, const std::vector<Feeder>& feeders, bool sessions) {
  std::set<std::string> names{"citizen_id", "certificate_type", "request_id"};
  if (sessions) names.insert("session_id");  // the number of a journey's session
  for (const auto& flow : flows) {
    for (const auto& capture : flow.captures) names.insert(capture.name);
  }
  for (const auto& feeder : feeders) {
    for (const auto& column : feeder.table.columns) names.insert(feeder.name + "." + column);
  }
  return names;
}

// Feeders load before flows: their columns are template variables. A feeder's file is found
// relative to the scenario file, so a scenario and its data travel together.
void load_feeders(const Reader& reader, const YAML::Node& root, Scenario& scenario) {
  const auto feeders = root["feeders"];
  if (!feeders) return;
  if (!feeders.IsMap()) reader.fail(feeders, "feeders", "is not a mapping", "feeder names, each with file and order");
  for (const auto& entry : feeders) {
    Feeder feeder;
    feeder.name = entry.first.Scalar();
    const auto field = "feeders." + feeder.name;
    if (feeder.name.empty() || feeder.name.find_first_of(".{} ") != std::string::npos) {
      reader.fail(entry.first, field, "is not a usable feeder name", "a name of letters, digits, '_' or '-' (used as {{NAME.COLUMN}})");
    }
    const auto& node = entry.second;
    reader.expect_map(node, field, {"file", "order"});
    const auto file = reader.nonempty_text(reader.require(node, field, "file"), field + ".file");
    const auto folder = std::filesystem::path(scenario.file).parent_path();
    feeder.file = std::filesystem::path(file).is_absolute() ? file : (folder / file).lexically_normal().string();
    if (const auto order = node["order"]) {
      const auto name = reader.text(order, field + ".order");
      if (name == "sequential") feeder.order = FeederOrder::sequential;
      else if (name == "random") feeder.order = FeederOrder::random;
      else reader.fail(order, field + ".order", fmt::format("'{}' is not an order", name), "sequential or random");
    }
    feeder.table = read_csv(feeder.file);
    if (feeder.table.rows() == 0) {
      throw InputError({feeder.file, 2, 0}, "", "has a header line but no rows", fmt::format("at least one row of values for feeder '{}'", feeder.name));
    }
    scenario.feeders.push_back(std::move(feeder));
  }
}

void load_negative(const Reader& reader, const YAML::Node& node, const std::string& field, Flow& flow) {
  reader.expect_map(node, field, {"of", "tampered", "revoked", "revoke_with"});
  Negative negative;
  negative.variable = reader.nonempty_text(reader.require(node, field, "of"), field + ".of");
  if (node["tampered"]) negative.tampered = reader.fraction(node["tampered"], field + ".tampered");
  if (node["revoked"]) negative.revoked = reader.fraction(node["revoked"], field + ".revoked");
  if (negative.tampered + negative.revoked > 1 + 1e-12) {
    reader.fail(node, field, fmt::format("shares sum to {:.4g}", negative.tampered + negative.revoked), "tampered + revoked of at most 1 (100%)");
  }
  if (negative.revoked > 0) {
    negative.revoke_with = reader.nonempty_text(reader.require(node, field, "revoke_with"), field + ".revoke_with");
  } else if (node["revoke_with"]) {
    negative.revoke_with = reader.nonempty_text(node["revoke_with"], field + ".revoke_with");
  }
  flow.negative = std::move(negative);
}

// Whether `name` can name an environment variable: a letter or '_', then letters, digits, '_'.
bool environment_name(std::string_view name) {
  const auto word = [](char c, bool first) { return c == '_' || std::isalpha(static_cast<unsigned char>(c)) || (!first && std::isdigit(static_cast<unsigned char>(c))); };
  if (name.empty() || !word(name.front(), true)) return false;
  return std::all_of(name.begin() + 1, name.end(), [&](char c) { return word(c, false); });
}

// Checks every {{variable}} of a template; {{env.NAME}} is recorded in `environment` (its value
// is only read when a run's plan is compiled).
void check_template(const Reader& reader, const YAML::Node& node, const std::string& field, const std::string& text,
                    const std::set<std::string>& variables, std::vector<EnvironmentUse>& environment) {
  std::size_t at = 0;
  while ((at = text.find("{{", at)) != std::string::npos) {
    const auto close = text.find("}}", at);
    if (close == std::string::npos) reader.fail(node, field, "has '{{' without a closing '}}'", "{{variable}}");
    const auto name = text.substr(at + 2, close - at - 2);
    if (name.starts_with("env.")) {
      const auto variable = name.substr(4);
      if (!environment_name(variable)) {
        reader.fail(node, field, fmt::format("'{{{{{}}}}}' does not name an environment variable", name), "{{env.NAME}}, NAME of letters, digits and '_'");
      }
      const bool seen = std::any_of(environment.begin(), environment.end(), [&](const EnvironmentUse& use) { return use.name == variable && use.field == field; });
      if (!seen) environment.push_back({variable, field, reader.at(node)});
      at = close + 2;
      continue;
    }
    if (!variables.count(name)) {
      reader.fail(node, field, fmt::format("uses an unknown variable '{{{{{}}}}}'", name),
                  fmt::format("one of: {}, or env.NAME", fmt::join(variables, ", ")));
    }
    at = close + 2;
  }
}

// A regular expression as the run will compile it (loadgen: Boost.Regex, ECMAScript syntax), so
// that one the run could not use is refused here, with its line. `groups`: at least this many
// marked subexpressions.
void check_regex(const Reader& reader, const YAML::Node& node, const std::string& field, const std::string& pattern, unsigned groups) {
  if (pattern.empty()) reader.fail(node, field, "is empty", "a regular expression");
  try {
    const boost::regex compiled(pattern, boost::regex::ECMAScript);
    if (compiled.mark_count() < groups) {
      reader.fail(node, field, fmt::format("'{}' has no group to capture", pattern), "a regular expression with a group around the value, such as 'ticket=([A-Za-z0-9]+)'");
    }
  } catch (const boost::regex_error& error) {
    reader.fail(node, field, fmt::format("'{}' is not a regular expression: {}", pattern, error.what()), "ECMAScript regular expression syntax");
  }
}

void check_pointer(const Reader& reader, const YAML::Node& node, const std::string& field, const std::string& pointer) {
  if (!pointer.empty() && pointer.front() != '/') {
    reader.fail(node, field, fmt::format("'{}' is not a JSON pointer", pointer), "a pointer such as /credential or /data/0/id");
  }
}

// A YAML value as the JSON value a check compares with: a quoted scalar is a string; a plain one
// is a JSON number, true, false or null when it reads as one, else a string; mappings and
// sequences become objects and arrays.
nlohmann::json json_of(const Reader& reader, const YAML::Node& node, const std::string& field) {
  if (node.IsMap()) {
    auto object = nlohmann::json::object();
    for (const auto& entry : node) object[entry.first.Scalar()] = json_of(reader, entry.second, field + "." + entry.first.Scalar());
    return object;
  }
  if (node.IsSequence()) {
    auto array = nlohmann::json::array();
    for (std::size_t i = 0; i < node.size(); ++i) array.push_back(json_of(reader, node[i], fmt::format("{}[{}]", field, i)));
    return array;
  }
  if (!node.IsScalar()) return nullptr;  // an empty value: null
  if (node.Tag() != "!") {
    const auto parsed = nlohmann::json::parse(node.Scalar(), nullptr, false);
    if (!parsed.is_discarded() && (parsed.is_number() || parsed.is_boolean() || parsed.is_null())) return parsed;
  }
  return node.Scalar();
}

// status: 201, 200-299, or a list of those.
std::vector<StatusRange> load_status(const Reader& reader, const YAML::Node& node, const std::string& field) {
  std::vector<StatusRange> ranges;
  const auto one = [&](const YAML::Node& item, const std::string& item_field) {
    const auto text = reader.text(item, item_field);
    const auto dash = text.find('-');
    const auto read = [&](std::string_view digits) {
      int value = 0;
      const auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
      if (error != std::errc{} || end != digits.data() + digits.size() || digits.empty() || value < 100 || value > 599) {
        reader.fail(item, item_field, fmt::format("'{}' is not a status or a range of statuses", text), "a status from 100 to 599 such as 201, or a range such as 200-299");
      }
      return value;
    };
    StatusRange range;
    range.from = read(std::string_view(text).substr(0, dash));
    range.to = dash == std::string::npos ? range.from : read(std::string_view(text).substr(dash + 1));
    if (range.to < range.from) reader.fail(item, item_field, fmt::format("'{}' ends before it starts", text), "a range FROM-TO with FROM <= TO, such as 200-299");
    ranges.push_back(range);
  };
  if (node.IsSequence()) {
    if (node.size() == 0) reader.fail(node, field, "is an empty list", "statuses such as [200, 201] or ranges such as [200-299]");
    for (std::size_t i = 0; i < node.size(); ++i) one(node[i], fmt::format("{}[{}]", field, i));
  } else {
    one(node, field);
  }
  return ranges;
}

void load_checks(const Reader& reader, const YAML::Node& node, const std::string& field, Checks& checks) {
  reader.expect_map(node, field, {"status", "json", "body"});
  if (const auto status = node["status"]) checks.status = load_status(reader, status, field + ".status");
  if (const auto json = node["json"]) {
    if (!json.IsMap()) reader.fail(json, field + ".json", "is not a mapping", "{ /pointer: exists, /pointer: value, ... }");
    for (const auto& entry : json) {
      const auto pointer = entry.first.Scalar();
      const auto entry_field = field + ".json." + pointer;
      check_pointer(reader, entry.first, entry_field, pointer);
      JsonCheck check{pointer, {}};
      // The word exists, unquoted, asks only that the value be there; "exists" quoted is a string.
      const bool exists = entry.second.IsScalar() && entry.second.Tag() != "!" && entry.second.Scalar() == "exists";
      if (!exists) check.equals_json = json_of(reader, entry.second, entry_field).dump();
      checks.json.push_back(std::move(check));
    }
  }
  if (const auto body = node["body"]) {
    checks.body_regex = reader.text(body, field + ".body");
    check_regex(reader, body, field + ".body", checks.body_regex, 0);
  }
}

void load_capture(const Reader& reader, const YAML::Node& node, const std::string& field, Capture& capture) {
  if (node.IsScalar()) {
    capture.json_pointer = node.Scalar();
    return check_pointer(reader, node, field, capture.json_pointer);
  }
  if (!node.IsMap()) reader.fail(node, field, "is neither a JSON pointer nor a mapping", "/json/pointer, { header: NAME }, { regex: '...' } or { header: NAME, regex: '...' }");
  reader.expect_map(node, field, {"header", "regex"});
  if (!node["header"] && !node["regex"]) reader.fail(node, field, "names no source", "header: NAME, regex: '...' or both");
  if (const auto header = node["header"]) {
    capture.header = reader.nonempty_text(header, field + ".header");
    if (capture.header.find_first_of(": \t\r\n") != std::string::npos) reader.fail(header, field + ".header", fmt::format("'{}' is not a header name", capture.header), "a name such as Location");
  }
  if (const auto regex = node["regex"]) {
    capture.regex = reader.text(regex, field + ".regex");
    check_regex(reader, regex, field + ".regex", capture.regex, 1);
  }
}

void load_flows(const Reader& reader, const YAML::Node& root, Scenario& scenario) {
  const auto flows = root["flows"];
  if (!flows) return;
  if (!flows.IsMap()) reader.fail(flows, "flows", "is not a mapping", "endpoint names, each with method, path, headers, body, capture");
  const auto endpoints = scenario.endpoint_names();
  // Flows that only run in warm-up (to revoke credentials for the negative paths) need not be
  // endpoints of the mix.
  std::set<std::string> warm_up_flows;
  for (const auto& entry : flows) {
    if (entry.second.IsMap() && entry.second["negative"] && entry.second["negative"].IsMap() && entry.second["negative"]["revoke_with"]) {
      warm_up_flows.insert(entry.second["negative"]["revoke_with"].Scalar());
    }
  }
  // Each template with its field and the index of its flow.
  std::vector<std::tuple<YAML::Node, std::string, std::size_t>> template_fields;
  std::vector<YAML::Node> negative_nodes;
  for (const auto& entry : flows) {
    Flow flow;
    flow.endpoint = entry.first.Scalar();
    const auto field = "flows." + flow.endpoint;
    if (std::find(endpoints.begin(), endpoints.end(), flow.endpoint) == endpoints.end()) {
      if (!warm_up_flows.count(flow.endpoint)) {
        reader.fail(entry.first, field, "is not an endpoint of the mix or journeys", fmt::format("one of: {} (or a flow named by a revoke_with)", fmt::join(endpoints, ", ")));
      }
      flow.warm_up_only = true;
    }
    const auto& node = entry.second;
    reader.expect_map(node, field, {"method", "path", "headers", "body", "capture", "check", "negative", "redirects"});
    flow.method = reader.nonempty_text(reader.require(node, field, "method"), field + ".method");
    static const std::set<std::string> methods{"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"};
    if (!methods.count(flow.method)) reader.fail(node["method"], field + ".method", fmt::format("'{}' is not an HTTP method", flow.method), "GET, POST, PUT, PATCH, DELETE, HEAD or OPTIONS");
    flow.path = reader.nonempty_text(reader.require(node, field, "path"), field + ".path");
    if (flow.path.front() != '/') reader.fail(node["path"], field + ".path", fmt::format("'{}' does not start with '/'", flow.path), "a path such as /v1/verify");
    const auto index = scenario.flows.size();
    template_fields.emplace_back(node["path"], field + ".path", index);
    if (const auto headers = node["headers"]) {
      if (!headers.IsMap()) reader.fail(headers, field + ".headers", "is not a mapping", "{ Header-Name: value, ... }");
      for (const auto& header : headers) {
        flow.headers.emplace_back(header.first.Scalar(), reader.text(header.second, field + ".headers." + header.first.Scalar()));
        template_fields.emplace_back(header.second, field + ".headers." + header.first.Scalar(), index);
      }
    }
    if (node["body"]) {
      flow.body = reader.text(node["body"], field + ".body");
      template_fields.emplace_back(node["body"], field + ".body", index);
    }
    if (const auto captures = node["capture"]) {
      if (!captures.IsMap()) reader.fail(captures, field + ".capture", "is not a mapping", "{ variable: /json/pointer, variable: { header: NAME }, variable: { regex: '...' }, ... }");
      for (const auto& item : captures) {
        Capture capture;
        capture.name = item.first.Scalar();
        if (capture.name.starts_with("env.")) reader.fail(item.first, field + ".capture." + capture.name, "takes the name space of environment variables", "a name that does not start with env.");
        load_capture(reader, item.second, field + ".capture." + capture.name, capture);
        flow.captures.push_back(std::move(capture));
      }
    }
    if (const auto checks = node["check"]) load_checks(reader, checks, field + ".check", flow.checks);
    if (const auto negative = node["negative"]) load_negative(reader, negative, field + ".negative", flow);
    if (const auto redirects = node["redirects"]) {
      const auto count = reader.integer(redirects, field + ".redirects");
      if (count < 0 || count > kMostRedirects) {
        reader.fail(redirects, field + ".redirects", fmt::format("{} is not a number of redirects to follow", count), fmt::format("0 (the default: a 3xx is the answer) to {}", kMostRedirects));
      }
      flow.redirects = static_cast<int>(count);
    }
    negative_nodes.push_back(node["negative"]);
    scenario.flows.push_back(std::move(flow));
  }
  const auto variables = template_variables(scenario.flows, scenario.feeders, scenario.mix.journeys.has_value());
  for (const auto& [node, field, index] : template_fields) check_template(reader, node, field, node.Scalar(), variables, scenario.flows[index].environment);
  // A negative block must replace a value this flow uses and some flow captures, and revoke it
  // with a flow that exists.
  for (std::size_t i = 0; i < scenario.flows.size(); ++i) {
    const auto& flow = scenario.flows[i];
    if (!flow.negative) continue;
    const auto field = "flows." + flow.endpoint + ".negative";
    const auto& variable = flow.negative->variable;
    const bool captured = std::any_of(scenario.flows.begin(), scenario.flows.end(), [&](const Flow& other) {
      return std::any_of(other.captures.begin(), other.captures.end(), [&](const Capture& capture) { return capture.name == variable; });
    });
    const auto placeholder = "{{" + variable + "}}";
    bool used = flow.path.find(placeholder) != std::string::npos || flow.body.find(placeholder) != std::string::npos;
    for (const auto& header : flow.headers) used = used || header.second.find(placeholder) != std::string::npos;
    if (!captured || !used) {
      reader.fail(negative_nodes[i]["of"], field + ".of", fmt::format("'{}' is not a captured variable this flow uses", variable),
                  "the name of a capture (such as credential) that appears as {{name}} in this flow");
    }
    const auto& revoke_with = flow.negative->revoke_with;
    if (!revoke_with.empty() && std::none_of(scenario.flows.begin(), scenario.flows.end(), [&](const Flow& other) { return other.endpoint == revoke_with; })) {
      reader.fail(negative_nodes[i]["revoke_with"], field + ".revoke_with", fmt::format("names no flow '{}'", revoke_with), "the name of a flow under flows: that revokes");
    }
  }
}

void load_burstiness(const Reader& reader, const YAML::Node& root, Scenario& scenario) {
  const auto node = root["burstiness"];
  if (!node) return;
  reader.expect_map(node, "burstiness", {"interval", "rate_cv"});
  Burstiness burstiness;
  burstiness.where = reader.at(node);
  if (node["interval"]) {
    burstiness.interval = reader.duration(node["interval"], "burstiness.interval");
    if (!(burstiness.interval.count() >= 1 && burstiness.interval.count() <= 86400)) {
      reader.fail(node["interval"], "burstiness.interval", "is out of range", "from 1s to 1d");
    }
  }
  burstiness.rate_cv = reader.non_negative(reader.require(node, "burstiness", "rate_cv"), "burstiness.rate_cv", 10);
  scenario.burstiness = burstiness;
}

void load_synthetic(const Reader& reader, const YAML::Node& root, Scenario& scenario) {
  scenario.synthetic.certificate_types = {"resident-registration"};
  const auto node = root["synthetic"];
  if (!node) return;
  reader.expect_map(node, "synthetic", {"citizens", "certificate_types"});
  if (node["citizens"]) {
    scenario.synthetic.citizens = reader.integer(node["citizens"], "synthetic.citizens");
    if (scenario.synthetic.citizens < 1) reader.fail(node["citizens"], "synthetic.citizens", "is below 1", "a positive count");
  }
  if (const auto types = node["certificate_types"]) {
    if (!types.IsSequence() || types.size() == 0) reader.fail(types, "synthetic.certificate_types", "is not a non-empty list", "[resident-registration, vaccination, ...]");
    scenario.synthetic.certificate_types.clear();
    for (std::size_t i = 0; i < types.size(); ++i) scenario.synthetic.certificate_types.push_back(reader.nonempty_text(types[i], fmt::format("synthetic.certificate_types[{}]", i)));
  }
}

void load_replay(const Reader& reader, const YAML::Node& root, Scenario& scenario) {
  auto& replay = scenario.replay;
  replay.year = scenario.growth.project_to_year;
  const auto node = root["replay"];
  replay.where = node ? reader.at(node) : scenario.driving_series().where;
  if (!node) return;
  reader.expect_map(node, "replay", {"window", "year", "day", "from", "to", "duration", "scale"});
  const auto window = node["window"] ? reader.text(node["window"], "replay.window") : std::string("peak_hour");
  // Local times in the file; the replay works in real instants.
  const auto real = [&](sys_seconds local) { return real_instant(scenario, local); };
  if (window == "peak_hour") {
    replay.window = ReplayWindowKind::peak_hour;
    if (node["year"]) replay.year = reader.year(node["year"], "replay.year");
  } else if (window == "day") {
    replay.window = ReplayWindowKind::day;
    const auto day = reader.date(reader.require(node, "replay", "day"), "replay.day");
    replay.from = real(sys_seconds{day});
    replay.to = real(sys_seconds{day + days{1}});
  } else if (window == "interval") {
    replay.window = ReplayWindowKind::interval;
    replay.from = real(reader.date_time(reader.require(node, "replay", "from"), "replay.from"));
    replay.to = real(reader.date_time(reader.require(node, "replay", "to"), "replay.to"));
    if (replay.to <= replay.from) reader.fail(node["to"], "replay.to", "is not after replay.from", "an end later than the start");
  } else {
    reader.fail(node["window"], "replay.window", fmt::format("'{}' is not a window", window), "peak_hour, day or interval");
  }
  // The bounds are those of `run SCENARIO`'s overrides too (replay_override.hpp).
  if (node["duration"]) {
    replay.duration = reader.duration(node["duration"], "replay.duration");
    if (const auto problem = replay_duration_problem(*replay.duration)) reader.fail(node["duration"], "replay.duration", problem->problem, problem->expected);
  } else if (const auto problem = replay_real_time_problem(replay, "replay.duration")) {
    // Replayed in real time, the interval is the run's length.
    reader.fail(node["to"], "replay.to", problem->problem, problem->expected);
  }
  if (node["scale"]) replay.scale = reader.positive(node["scale"], "replay.scale", kMostFactor);
}

void load_slo(const Reader& reader, const YAML::Node& root, Scenario& scenario) {
  const auto slo = root["slo"];
  if (!slo) return;
  if (!slo.IsSequence()) reader.fail(slo, "slo", "is not a list", "a list of thresholds such as [p99<300ms, error_rate<0.1%]");
  const auto endpoints = scenario.endpoint_names();
  for (std::size_t i = 0; i < slo.size(); ++i) {
    const auto field = fmt::format("slo[{}]", i);
    const auto text = reader.text(slo[i], field);
    std::string problem;
    const auto threshold = parse_threshold(text, problem);
    if (!threshold) reader.fail(slo[i], field, problem);
    if (!threshold->endpoint.empty() && std::find(endpoints.begin(), endpoints.end(), threshold->endpoint) == endpoints.end()) {
      reader.fail(slo[i], field, fmt::format("'{}' names no endpoint '{}'", text, threshold->endpoint), fmt::format("one of: {}", fmt::join(endpoints, ", ")));
    }
    scenario.slo.push_back(text);
  }
}

}  // namespace

namespace {

// Notes where a document's first node starts, and whether it has one that is not null.
class FirstNodeOfDocument : public YAML::EventHandler {
 public:
  bool has_node() const { return has_node_; }
  const YAML::Mark& mark() const { return mark_; }

  void OnDocumentStart(const YAML::Mark&) override {}
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark& mark, YAML::anchor_t) override { note(mark); }
  void OnScalar(const YAML::Mark& mark, const std::string&, YAML::anchor_t, const std::string&) override { note(mark); }
  void OnSequenceStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override { note(mark); }
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override { note(mark); }
  void OnMapEnd() override {}

 private:
  void note(const YAML::Mark& mark) {
    if (!has_node_) mark_ = mark;
    has_node_ = true;
  }
  bool has_node_ = false;
  YAML::Mark mark_;
};

// The file's one YAML document. A second one would be ignored, so that the scenario that runs
// would not be all the file says: it is refused. yaml-cpp 0.7's LoadAll is not used: on a stray
// ',' where a document may start it yields empty documents for ever (yaml-cpp #1040, fixed in
// 0.8), so the parser is asked for two documents at most.
YAML::Node load_one_document(const std::string& text, const Reader& reader) {
  try {
    const auto root = YAML::Load(text);
    std::istringstream stream(text);
    YAML::Parser parser(stream);
    FirstNodeOfDocument first, second;
    if (parser.HandleNextDocument(first) && parser.HandleNextDocument(second) && second.has_node()) {
      throw InputError(reader.at(second.mark()), "", "holds a second YAML document",
                       "one scenario per file, without a second '---'");
    }
    return root;
  } catch (const YAML::ParserException& error) {
    throw InputError(reader.at(error.mark), "", "is not valid YAML: " + error.msg,
                     "a YAML document (see scenarios/README.md)");
  }
}

}  // namespace

Scenario parse_scenario(const std::string& text, const std::string& file_name) {
  const Reader reader(file_name);
  const YAML::Node root = load_one_document(text, reader);
  ExpandedWalk(reader).visit(root, "");
  if (!root.IsMap()) throw InputError({file_name, 1, 1}, "", "does not hold a mapping at the top", "a scenario with name, history, mix, ...");
  reader.expect_map(root, "", {"name", "description", "seed", "history", "growth", "calendar", "events", "mix", "journeys",
                               "feeders", "flows", "synthetic", "replay", "http", "burstiness", "slo"});
  Scenario scenario;
  scenario.file = file_name;
  scenario.name = reader.nonempty_text(reader.require(root, "", "name"), "name");
  if (!is_usable_scenario_name(scenario.name)) {
    reader.fail(root["name"], "name", fmt::format("'{}' is not a usable scenario name", scenario.name), kUsableScenarioName);
  }
  if (root["description"]) scenario.description = reader.text(root["description"], "description");
  if (root["seed"]) {
    const auto seed = reader.integer(root["seed"], "seed");
    if (seed < 0) reader.fail(root["seed"], "seed", "is negative", "a whole number of 0 or more");
    scenario.seed = static_cast<std::uint64_t>(seed);
  }
  if (root["http"]) {
    const auto version = reader.text(root["http"], "http");
    if (version != "1.1" && version != "2") reader.fail(root["http"], "http", fmt::format("'{}' is not an HTTP version uptake speaks", version), "1.1 or 2");
    scenario.http2 = version == "2";
    scenario.http_where = reader.at(root["http"]);
  }
  load_growth(reader, root, scenario);
  load_history(reader, root, scenario);
  int last_history_year = 0;
  for (const auto& series : scenario.series) last_history_year = std::max(last_history_year, series.last_year());
  if (scenario.growth.project_to_year == 0) scenario.growth.project_to_year = last_history_year + 5;
  if (scenario.growth.project_to_year < last_history_year) {
    reader.fail(root["growth"]["project_to"], "growth.project_to", fmt::format("{} is before the last year of history {}", scenario.growth.project_to_year, last_history_year),
                fmt::format("{} or later", last_history_year));
  }
  load_calendar(reader, root, scenario);
  int first_history_year = last_history_year;
  for (const auto& series : scenario.series) first_history_year = std::min(first_history_year, series.first_year());
  warn_of_years_without_holidays(scenario, first_history_year, scenario.growth.project_to_year);
  load_events(reader, root, scenario);
  load_mix(reader, root, scenario);
  const auto endpoints = scenario.endpoint_names();
  for (const auto& event : scenario.events) {
    for (const auto& endpoint : event.endpoints) {
      if (std::find(endpoints.begin(), endpoints.end(), endpoint) == endpoints.end()) {
        throw InputError(reader.at(root["events"]), "events." + event.name + ".endpoints", fmt::format("names no endpoint '{}'", endpoint),
                         fmt::format("one of: {}", fmt::join(endpoints, ", ")));
      }
    }
  }
  load_feeders(reader, root, scenario);
  load_flows(reader, root, scenario);
  load_synthetic(reader, root, scenario);
  load_replay(reader, root, scenario);
  load_burstiness(reader, root, scenario);
  load_slo(reader, root, scenario);
  const auto& replay = scenario.replay;
  if (replay.window == ReplayWindowKind::peak_hour) {
    if (const auto problem = replay_year_problem(scenario, replay.year)) {
      const auto replay_node = root["replay"];
      reader.fail(replay_node && replay_node["year"] ? replay_node["year"] : root, "replay.year", problem->problem, problem->expected);
    }
  }
  return scenario;
}

Scenario load_scenario(const std::string& path) { return parse_scenario(read_whole_file(path, "a scenario file"), path); }

std::string scenario_template(const std::string& name) {
  std::string text = kScenarioTemplate;
  const auto at = text.find("name: NAME");
  // A plain name as it is; any other (spaces, colons, quotes) as a double-quoted YAML string,
  // so that the file still parses to the same name.
  const bool plain = std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
  });
  std::string quoted = "\"";
  for (char c : name) quoted += c == '"' ? std::string("\\\"") : std::string(1, c);
  quoted += "\"";
  if (at != std::string::npos) text.replace(at, 10, "name: " + (plain ? name : quoted));
  return text;
}

bool is_usable_scenario_name(std::string_view name) {
  if (name.empty() || name.size() > 100 || name == "." || name == "..") return false;
  return std::none_of(name.begin(), name.end(), [](char c) {
    const auto byte = static_cast<unsigned char>(c);
    return c == '/' || c == '\\' || byte < 0x20 || byte == 0x7f;
  });
}

}  // namespace uptake::sim
