#include "uptake/loadgen/request_plan.hpp"

#include <boost/url/grammar/ci_string.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdlib>
#include <cstring>

#include "uptake/base/input_error.hpp"
#include "uptake/loadgen/response_parser.hpp"

namespace uptake::loadgen {
namespace {

int variable_index(const std::vector<std::string>& names, std::string_view name) {
  const auto found = std::find(names.begin(), names.end(), name);
  return found == names.end() ? -1 : static_cast<int>(found - names.begin());
}

void append_number(std::string& out, std::uint64_t value) {
  char digits[24];
  const auto [end, ec] = std::to_chars(digits, digits + sizeof digits, value);
  out.append(digits, end);
}

}  // namespace

namespace {

// Whether the JSON text before `end` leaves a string literal open (a placeholder there is inside
// it). Placeholders before `end` are taken for string contents: they never hold a quote.
bool inside_json_string(std::string_view text, std::size_t end) {
  bool inside = false;
  for (std::size_t i = 0; i < end; ++i) {
    if (inside && text[i] == '\\') ++i;
    else if (text[i] == '"') inside = !inside;
  }
  return inside;
}

Escape escape_at(std::string_view text, std::size_t open, TemplateKind kind) {
  switch (kind) {
    case TemplateKind::request_head: {
      const auto request_line_end = text.find("\r\n");
      if (open > request_line_end) return Escape::header_value;
      const auto query = text.find('?');
      return query < open ? Escape::query : Escape::path_segment;
    }
    case TemplateKind::json_body: return inside_json_string(text, open) ? Escape::json_string : Escape::json_value;
    case TemplateKind::form_body: return Escape::query;
    case TemplateKind::raw_body: break;
  }
  return Escape::none;
}

}  // namespace

Template::Template(std::string_view text, const std::vector<std::string>& variable_names, TemplateKind kind) {
  std::size_t at = 0;
  while (at < text.size()) {
    const auto open = text.find("{{", at);
    const auto close = open == std::string_view::npos ? open : text.find("}}", open);
    if (open == std::string_view::npos || close == std::string_view::npos) {
      parts_.push_back({std::string(text.substr(at)), -1});
      break;
    }
    if (open > at) parts_.push_back({std::string(text.substr(at, open - at)), -1});
    const auto name = text.substr(open + 2, close - open - 2);
    const int index = variable_index(variable_names, name);
    // The scenario loader has rejected unknown variables; an unknown one here stays literal.
    if (index < 0) parts_.push_back({std::string(text.substr(open, close + 2 - open)), -1});
    else parts_.push_back({{}, index, escape_at(text, open, kind)});
    at = close + 2;
  }
}

namespace {

// What a body is, for the escaping of its values: the Content-Type says, when there is one
// (any type naming json is JSON); without one, a body that is JSON with its placeholders taken
// for values is JSON.
TemplateKind body_kind(std::string_view body, const std::vector<std::pair<std::string, std::string>>& headers) {
  for (const auto& [name, value] : headers) {
    if (!boost::urls::grammar::ci_is_equal(name, "Content-Type")) continue;
    std::string type(value.substr(0, value.find(';')));
    std::transform(type.begin(), type.end(), type.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (type.find("json") != std::string::npos) return TemplateKind::json_body;
    if (type.find("application/x-www-form-urlencoded") != std::string::npos) return TemplateKind::form_body;
    return TemplateKind::raw_body;
  }
  std::string sample;
  std::size_t at = 0;
  for (std::size_t open; (open = body.find("{{", at)) != std::string_view::npos;) {
    const auto close = body.find("}}", open);
    if (close == std::string_view::npos) break;
    sample.append(body.substr(at, open - at));
    if (!inside_json_string(body, open)) sample += '0';
    at = close + 2;
  }
  sample.append(body.substr(std::min(at, body.size())));
  const auto trimmed = sample.find_first_not_of(" \t\r\n");
  if (trimmed == std::string::npos || (sample[trimmed] != '{' && sample[trimmed] != '[')) return TemplateKind::raw_body;
  return nlohmann::json::accept(sample) ? TemplateKind::json_body : TemplateKind::raw_body;
}

EndpointRequest compile(const std::string& endpoint, const std::string& method, const std::string& path, const std::string& body,
                        const std::vector<std::pair<std::string, std::string>>& headers, const Target& target,
                        const std::vector<std::string>& names) {
  std::string head = fmt::format("{} {}{} HTTP/1.1\r\nHost: {}\r\nUser-Agent: uptake\r\n", method, target.base_path, path, target.host_header());
  // The URL's user information, unless an Authorization header of the user's own says otherwise.
  const bool own_authorization = std::any_of(headers.begin(), headers.end(), [](const auto& header) { return boost::urls::grammar::ci_is_equal(header.first, "Authorization"); });
  if (!target.authorization.empty() && !own_authorization) head += "Authorization: " + target.authorization + "\r\n";
  for (const auto& [name, value] : headers) head += name + ": " + value + "\r\n";
  EndpointRequest request{endpoint, Template(head, names, TemplateKind::request_head), Template(body, names, body_kind(body, headers)),
                          !body.empty() || method == "POST" || method == "PUT" || method == "PATCH", {}, {}, {}, method == "HEAD", {}};
  for (const auto* part_list : {&request.head.parts(), &request.body.parts()}) {
    for (const auto& part : *part_list) {
      if (part.variable >= synthetic_variable_count && std::find(request.needs.begin(), request.needs.end(), part.variable) == request.needs.end()) {
        request.needs.push_back(part.variable);
      }
    }
  }
  return request;
}

}  // namespace

std::vector<std::pair<std::string, std::string>> environment_values(const sim::Scenario& scenario) {
  std::vector<std::pair<std::string, std::string>> values;
  for (const auto& flow : scenario.flows) {
    for (const auto& use : flow.environment) {
      const char* value = std::getenv(use.name.c_str());
      if (!value) {
        throw InputError(use.where, use.field, fmt::format("uses {{{{env.{}}}}}, but the environment variable {} is not set", use.name, use.name),
                         fmt::format("{} set in the environment of uptake", use.name));
      }
      const std::string_view text(value);
      // A header line cannot hold it; refused before any load rather than at every request.
      if (use.field.find(".headers.") != std::string::npos && text.find_first_of(std::string_view("\r\n", 2)) != std::string_view::npos) {
        throw InputError(use.where, use.field, fmt::format("uses {{{{env.{}}}}}, whose value holds a line break, which a header cannot hold", use.name),
                         fmt::format("{} without CR or LF", use.name));
      }
      if (std::none_of(values.begin(), values.end(), [&](const auto& known) { return known.first == use.name; })) values.emplace_back(use.name, text);
    }
  }
  return values;
}

void redact_environment(const RequestPlan& plan, std::string& text) {
  std::string form;
  for (const auto& [name, value] : plan.environment) {
    if (value.empty()) continue;
    const auto placeholder = "{{env." + name + "}}";
    for (const auto escape : {Escape::none, Escape::path_segment, Escape::query, Escape::json_string}) {
      form.clear();
      append_escaped(form, value, escape);
      for (std::size_t at = 0; (at = text.find(form, at)) != std::string::npos;) {
        text.replace(at, form.size(), placeholder);
        at += placeholder.size();
      }
    }
  }
}

RequestPlan plan_from_scenario(const sim::Scenario& scenario, const std::vector<std::string>& endpoint_order, const Target& target) {
  RequestPlan plan;
  plan.variable_names = kSyntheticVariableNames;
  for (const auto& flow : scenario.flows) {
    for (const auto& capture : flow.captures) {
      if (variable_index(plan.variable_names, capture.name) < 0) plan.variable_names.push_back(capture.name);
    }
  }
  plan.first_feeder_variable = static_cast<int>(plan.variable_names.size());
  plan.feeders = scenario.feeders;
  for (std::size_t f = 0; f < plan.feeders.size(); ++f) {
    for (std::size_t c = 0; c < plan.feeders[f].table.columns.size(); ++c) {
      plan.variable_names.push_back(plan.feeders[f].name + "." + plan.feeders[f].table.columns[c]);
      plan.feeder_variables.push_back({f, c});
    }
  }
  plan.first_environment_variable = static_cast<int>(plan.variable_names.size());
  plan.environment = environment_values(scenario);
  for (const auto& [name, value] : plan.environment) plan.variable_names.push_back("env." + name);
  const auto internal_variables = plan.variable_names.size();  // revoked pools follow
  plan.citizens = scenario.synthetic.citizens;
  plan.certificate_types = scenario.synthetic.certificate_types;
  plan.seed = scenario.seed;
  auto compile_flow = [&](const sim::Flow& flow) {
    auto request = compile(flow.endpoint, flow.method, flow.path, flow.body, flow.headers, target,
                           std::vector<std::string>(plan.variable_names.begin(), plan.variable_names.begin() + static_cast<long>(internal_variables)));
    for (const auto& capture : flow.captures) {
      request.captures.push_back({variable_index(plan.variable_names, capture.name), capture.json_pointer, capture.header,
                                  capture.regex.empty() ? nullptr : compile_regex(capture.regex)});
    }
    request.checks = compile_checks(flow.checks);
    request.max_redirects = flow.redirects;
    return request;
  };
  for (const auto& endpoint : endpoint_order) {
    const auto flow = std::find_if(scenario.flows.begin(), scenario.flows.end(), [&](const sim::Flow& f) { return f.endpoint == endpoint; });
    if (flow == scenario.flows.end()) {
      throw InputError({scenario.file, 0, 0}, "flows." + endpoint, "is missing: the endpoint receives traffic but has no request",
                       "a flow with method and path for every endpoint of the mix or journeys");
    }
    auto request = compile_flow(*flow);
    if (flow->negative) {
      auto& rule = request.negative;
      rule.variable = variable_index(plan.variable_names, flow->negative->variable);
      rule.tampered = flow->negative->tampered;
      rule.revoked = flow->negative->revoked;
      if (rule.revoked > 0) {
        const auto& revoke_with = flow->negative->revoke_with;
        const auto revoke_flow = std::find_if(scenario.flows.begin(), scenario.flows.end(), [&](const sim::Flow& f) { return f.endpoint == revoke_with; });
        if (revoke_flow == scenario.flows.end()) {
          throw InputError({scenario.file, 0, 0}, "flows." + endpoint + ".negative.revoke_with", fmt::format("names no flow '{}'", revoke_with), "a flow that revokes");
        }
        rule.revoked_variable = static_cast<int>(plan.variable_names.size());
        plan.variable_names.push_back(flow->negative->variable + "#revoked");
        rule.revoke_request = static_cast<int>(plan.warm_up_requests.size());
        plan.warm_up_requests.push_back(compile_flow(*revoke_flow));
      }
    }
    plan.endpoints.push_back(std::move(request));
  }
  if (scenario.mix.journeys) {
    plan.sessions.emplace(*scenario.mix.journeys, endpoint_order);
    plan.cookies = scenario.mix.journeys->cookies;
    plan.session_scoped.assign(plan.variable_names.size(), false);
    for (const auto& request : plan.endpoints) {
      for (const auto& capture : request.captures) plan.session_scoped[static_cast<std::size_t>(capture.variable)] = true;
    }
  }
  return plan;
}

RequestPlan plan_ad_hoc(const Target& target, const std::string& method, const std::string& body,
                        const std::vector<std::pair<std::string, std::string>>& headers) {
  RequestPlan plan;
  plan.variable_names = kSyntheticVariableNames;
  plan.certificate_types = {"resident-registration"};
  Target bare = target;
  bare.base_path.clear();
  plan.endpoints.push_back(compile("request", method, target.path, body, headers, bare, plan.variable_names));
  return plan;
}

CapturePool::CapturePool(std::size_t variables, std::size_t capacity) : rings_(variables), capacity_(capacity) {}

void CapturePool::put(int variable, std::string_view value) {
  auto& ring = rings_[static_cast<std::size_t>(variable)];
  if (ring.values.size() < capacity_) {
    ring.values.emplace_back(value);
    return;
  }
  ring.values[ring.next].assign(value);  // reuses the string's storage once the ring is full
  ring.next = (ring.next + 1) % capacity_;
}

const std::string* CapturePool::pick(int variable, Random& random) const {
  if (shared_ && !(*own_)[static_cast<std::size_t>(variable)]) return shared_->pick(variable, random);
  const auto& ring = rings_[static_cast<std::size_t>(variable)];
  if (ring.values.empty()) return nullptr;
  return &ring.values[random() % ring.values.size()];
}

void CapturePool::clear() {
  for (auto& ring : rings_) {
    ring.values.clear();
    ring.next = 0;
  }
}

std::size_t CapturePool::size(int variable) const { return rings_[static_cast<std::size_t>(variable)].values.size(); }

std::size_t feeder_row(const sim::Feeder& feeder, std::uint64_t sequence, std::uint64_t seed) noexcept {
  const auto rows = static_cast<std::uint64_t>(feeder.rows());
  if (feeder.order == sim::FeederOrder::sequential) return static_cast<std::size_t>(sequence % rows);
  std::uint64_t state = sequence ^ (seed * 0x9E3779B97F4A7C15ULL) ^ std::hash<std::string>{}(feeder.name);
  return static_cast<std::size_t>(splitmix64(state) % rows);
}

void tamper(std::string& value, std::size_t from) noexcept {
  if (value.size() <= from) return;
  const auto dot = value.rfind('.');
  const std::size_t begin = dot == std::string::npos || dot < from ? from : dot + 1;
  if (begin >= value.size()) return;
  auto& c = value[begin + (value.size() - begin) / 2];
  c = c == 'A' ? 'B' : 'A';
}

namespace {

constexpr char kHexDigits[] = "0123456789ABCDEF";

// Which bytes each kind of escaping leaves as they are, by table: a call per byte (isalnum,
// find_first_of) costs more than the rest of rendering a long credential.
struct ByteSet {
  bool member[256] = {};
  constexpr ByteSet(std::string_view listed, bool alphanumeric) {
    for (const char c : listed) member[static_cast<unsigned char>(c)] = true;
    for (int c = 0; alphanumeric && c < 256; ++c) member[c] = member[c] || (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
  }
  constexpr bool operator()(unsigned char c) const { return member[c]; }
};
constexpr ByteSet unreserved("-._~", true);
// RFC 3986 pchar less percent-encoded octets: what a path segment may hold as it is.
constexpr ByteSet path_character("-._~!$&'()*+,;=:@", true);
// What a JSON string literal holds as it is: all but '"', '\' and the control characters.
constexpr ByteSet json_string_character = [] {
  ByteSet set("", false);
  for (int c = 0x20; c < 256; ++c) set.member[c] = c != '"' && c != '\\';
  return set;
}();

template <class Keep>
void append_percent_encoded(std::string& out, std::string_view value, Keep keep) {
  std::size_t from = 0;
  for (std::size_t i = 0; i < value.size(); ++i) {
    const auto c = static_cast<unsigned char>(value[i]);
    if (keep(c)) continue;
    out.append(value.substr(from, i - from));
    const char encoded[3] = {'%', kHexDigits[c >> 4], kHexDigits[c & 15]};
    out.append(encoded, 3);
    from = i + 1;
  }
  out.append(value.substr(from));
}

// The contents of a JSON string literal (RFC 8259): '"', '\' and the control characters
// escaped; everything else, UTF-8 included, as it is.
void append_json_string(std::string& out, std::string_view value) {
  std::size_t from = 0;
  for (std::size_t i = 0; i < value.size(); ++i) {
    const auto c = static_cast<unsigned char>(value[i]);
    if (json_string_character(c)) continue;
    out.append(value.substr(from, i - from));
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default: {
        const char escaped[6] = {'\\', 'u', '0', '0', kHexDigits[c >> 4], kHexDigits[c & 15]};
        out.append(escaped, 6);
      }
    }
    from = i + 1;
  }
  out.append(value.substr(from));
}

// Whether `value` is a JSON number, true, false or null: one JSON value, that may stand as it is.
bool json_literal(std::string_view value) {
  if (value == "true" || value == "false" || value == "null") return true;
  std::size_t i = 0;
  const auto digits = [&] {
    const auto from = i;
    while (i < value.size() && value[i] >= '0' && value[i] <= '9') ++i;
    return i - from;
  };
  if (i < value.size() && value[i] == '-') ++i;
  const auto integer_from = i;
  const auto integer_digits = digits();
  if (integer_digits == 0 || (integer_digits > 1 && value[integer_from] == '0')) return false;
  if (i < value.size() && value[i] == '.') {
    ++i;
    if (digits() == 0) return false;
  }
  if (i < value.size() && (value[i] == 'e' || value[i] == 'E')) {
    ++i;
    if (i < value.size() && (value[i] == '+' || value[i] == '-')) ++i;
    if (digits() == 0) return false;
  }
  return i == value.size();
}

// The copy of a captured value a tampered request carries: per thread, reused.
std::string& tamper_scratch() {
  thread_local std::string scratch;
  return scratch;
}

bool render(const Template& text, const RequestPlan& plan, const CapturePool& pool, Random& random, std::uint64_t sequence, std::string& out,
            int& missing, RenderProblem& problem, const NegativeRule& negative, NegativeCase chosen) {
  const auto put = [&](const Template::Part& part, std::string_view value) {
    if (append_escaped(out, value, part.escape)) return true;
    missing = part.variable;
    problem = RenderProblem::unsafe_value;
    return false;
  };
  const auto lacking = [&](int variable) {
    missing = variable;
    problem = RenderProblem::missing_capture;
    return false;
  };
  for (const auto& part : text.parts()) {
    if (part.variable < 0) {
      out += part.literal;
      continue;
    }
    if (part.variable == negative.variable && chosen != NegativeCase::none) {
      if (chosen == NegativeCase::revoked) {
        const auto* value = pool.pick(negative.revoked_variable, random);
        if (!value) return lacking(negative.revoked_variable);
        if (!put(part, *value)) return false;
      } else {
        const auto* value = pool.pick(part.variable, random);
        if (!value) return lacking(part.variable);
        // Altered before it is escaped, so that the escaping stays whole.
        auto& altered = tamper_scratch();
        altered.assign(*value);
        tamper(altered);
        if (!put(part, altered)) return false;
      }
      continue;
    }
    if (part.variable >= plan.first_feeder_variable && part.variable < plan.first_feeder_variable + static_cast<int>(plan.feeder_variables.size())) {
      const auto& [feeder, column] = plan.feeder_variables[static_cast<std::size_t>(part.variable - plan.first_feeder_variable)];
      const auto& source = plan.feeders[feeder];
      if (!put(part, source.table.at(feeder_row(source, sequence, plan.seed), column))) return false;
      continue;
    }
    if (part.variable >= plan.first_environment_variable && part.variable < plan.first_environment_variable + static_cast<int>(plan.environment.size())) {
      if (!put(part, plan.environment[static_cast<std::size_t>(part.variable - plan.first_environment_variable)].second)) return false;
      continue;
    }
    switch (part.variable) {
      case citizen_id: {
        // Synthetic resident registration style id: six digits of birth date, a dash, seven digits.
        const auto citizen = random() % static_cast<std::uint64_t>(plan.citizens);
        char id[32];
        const auto end = fmt::format_to_n(id, sizeof id, "{:06}-{:07}", 500101 + citizen / 10'000'000 % 500'000, citizen % 10'000'000).out;
        if (!put(part, std::string_view(id, static_cast<std::size_t>(end - id)))) return false;
        break;
      }
      case certificate_type:
        if (!put(part, plan.certificate_types[random() % plan.certificate_types.size()])) return false;
        break;
      case request_id: {
        char digits[24];
        const auto [end, ec] = std::to_chars(digits, digits + sizeof digits, sequence);
        if (!put(part, std::string_view(digits, static_cast<std::size_t>(end - digits)))) return false;
        break;
      }
      case session_id: {
        char digits[24];
        const auto [end, ec] = std::to_chars(digits, digits + sizeof digits, sequence >> kSessionRequestBits);
        if (!put(part, std::string_view(digits, static_cast<std::size_t>(end - digits)))) return false;
        break;
      }
      default: {
        const auto* value = pool.pick(part.variable, random);
        if (!value) return lacking(part.variable);
        if (!put(part, *value)) return false;
      }
    }
  }
  return true;
}

}  // namespace

bool append_escaped(std::string& out, std::string_view value, Escape escape) {
  switch (escape) {
    case Escape::none: out += value; return true;
    case Escape::path_segment: append_percent_encoded(out, value, path_character); return true;
    case Escape::query: append_percent_encoded(out, value, unreserved); return true;
    case Escape::header_value:
      // memchr is vectorised: three passes cost less than one byte-by-byte test.
      for (const char refused : {'\r', '\n', '\0'}) {
        if (std::memchr(value.data(), refused, value.size())) return false;
      }
      out += value;
      return true;
    case Escape::json_string: append_json_string(out, value); return true;
    case Escape::json_value:
      if (json_literal(value)) {
        out += value;
      } else {
        out += '"';
        append_json_string(out, value);
        out += '"';
      }
      return true;
  }
  return true;
}

bool render_request(const EndpointRequest& request, const RequestPlan& plan, const CapturePool& pool, Random& random, std::uint64_t sequence,
                    std::string& body_scratch, std::string& out, int& missing, NegativeCase* chosen, RenderProblem* problem) {
  out.clear();
  body_scratch.clear();
  auto negative_case = NegativeCase::none;
  if (request.negative.variable >= 0) {
    const double draw = random.uniform();
    if (draw < request.negative.tampered) negative_case = NegativeCase::tampered;
    else if (draw < request.negative.tampered + request.negative.revoked) negative_case = NegativeCase::revoked;
  }
  if (chosen) *chosen = negative_case;
  RenderProblem why = RenderProblem::missing_capture;
  const bool rendered = render(request.body, plan, pool, random, sequence, body_scratch, missing, why, request.negative, negative_case) &&
                        render(request.head, plan, pool, random, sequence, out, missing, why, request.negative, negative_case);
  if (problem) *problem = why;
  if (!rendered) return false;
  if (request.has_body) {
    out += "Content-Length: ";
    append_number(out, body_scratch.size());
    out += "\r\n";
  }
  out += "\r\n";
  out += body_scratch;
  return true;
}

void capture_values(const std::vector<CaptureRule>& rules, std::string_view head, std::string_view body, CapturePool& pool, std::string& scratch) {
  for (const auto& rule : rules) {
    std::optional<std::string_view> value;
    if (!rule.header.empty()) {
      value = find_header(head, rule.header);
      if (value && rule.regex) value = regex_first_group(*rule.regex, *value);
    } else if (rule.regex) {
      value = regex_first_group(*rule.regex, body);
    } else {
      value = extract_json_pointer(body, rule.json_pointer, scratch);
    }
    if (value) pool.put(rule.variable, *value);
  }
}

std::optional<std::string_view> extract_json_pointer(std::string_view body, std::string_view pointer, std::string& scratch) {
  if (pointer.empty()) return body;
  const auto name = pointer.substr(1);
  if (name.find_first_of("/~\\\"") == std::string_view::npos) {
    // Fast path: "name":"value" with no escapes in the value (credentials, ids). A nested
    // member of the same name could fool it, so the match must be at depth one.
    std::size_t at = 0;
    while ((at = body.find(name, at)) != std::string_view::npos) {
      const bool quoted = at > 0 && body[at - 1] == '"' && at + name.size() < body.size() && body[at + name.size()] == '"';
      std::size_t depth = 0;
      for (std::size_t i = 0; quoted && i < at; ++i) depth += body[i] == '{' ? 1 : body[i] == '}' ? static_cast<std::size_t>(-1) : 0;
      auto rest = body.substr(at + name.size() + 1);
      while (!rest.empty() && (rest.front() == ' ' || rest.front() == ':')) rest.remove_prefix(1);
      if (quoted && depth == 1 && !rest.empty() && rest.front() == '"') {
        const auto end = rest.find('"', 1);
        const auto value = rest.substr(1, end == std::string_view::npos ? 0 : end - 1);
        if (end != std::string_view::npos && value.find('\\') == std::string_view::npos) return value;
        break;  // escaped: let the full parser decode it
      }
      at += name.size();
    }
  }
  const auto document = nlohmann::json::parse(body, nullptr, false);
  if (document.is_discarded()) return std::nullopt;
  try {
    const auto& value = document.at(nlohmann::json::json_pointer(std::string(pointer)));
    scratch = value.is_string() ? value.get<std::string>() : value.dump();
    return std::string_view(scratch);
  } catch (const nlohmann::json::exception&) {
    return std::nullopt;
  }
}

}  // namespace uptake::loadgen
