#include "uptake/loadgen/request_plan.hpp"

#include <boost/url/grammar/ci_string.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <charconv>

#include "uptake/base/input_error.hpp"

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

Template::Template(std::string_view text, const std::vector<std::string>& variable_names) {
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
    else parts_.push_back({{}, index});
    at = close + 2;
  }
}

namespace {

EndpointRequest compile(const std::string& endpoint, const std::string& method, const std::string& path, const std::string& body,
                        const std::vector<std::pair<std::string, std::string>>& headers, const Target& target,
                        const std::vector<std::string>& names) {
  std::string head = fmt::format("{} {}{} HTTP/1.1\r\nHost: {}\r\nUser-Agent: uptake\r\n", method, target.base_path, path, target.host_header());
  // The URL's user information, unless an Authorization header of the user's own says otherwise.
  const bool own_authorization = std::any_of(headers.begin(), headers.end(), [](const auto& header) { return boost::urls::grammar::ci_is_equal(header.first, "Authorization"); });
  if (!target.authorization.empty() && !own_authorization) head += "Authorization: " + target.authorization + "\r\n";
  for (const auto& [name, value] : headers) head += name + ": " + value + "\r\n";
  EndpointRequest request{endpoint, Template(head, names), Template(body, names), !body.empty() || method == "POST" || method == "PUT" || method == "PATCH", {}, {}, {}, method == "HEAD"};
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

RequestPlan plan_from_scenario(const sim::Scenario& scenario, const std::vector<std::string>& endpoint_order, const Target& target) {
  RequestPlan plan;
  plan.variable_names = {"citizen_id", "certificate_type", "request_id"};
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
  const auto internal_variables = plan.variable_names.size();  // revoked pools follow
  plan.citizens = scenario.synthetic.citizens;
  plan.certificate_types = scenario.synthetic.certificate_types;
  plan.seed = scenario.seed;
  auto compile_flow = [&](const sim::Flow& flow) {
    auto request = compile(flow.endpoint, flow.method, flow.path, flow.body, flow.headers, target,
                           std::vector<std::string>(plan.variable_names.begin(), plan.variable_names.begin() + static_cast<long>(internal_variables)));
    for (const auto& capture : flow.captures) request.captures.push_back({variable_index(plan.variable_names, capture.name), capture.json_pointer});
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
  return plan;
}

RequestPlan plan_ad_hoc(const Target& target, const std::string& method, const std::string& body,
                        const std::vector<std::pair<std::string, std::string>>& headers) {
  RequestPlan plan;
  plan.variable_names = {"citizen_id", "certificate_type", "request_id"};
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
  const auto& ring = rings_[static_cast<std::size_t>(variable)];
  if (ring.values.empty()) return nullptr;
  return &ring.values[random() % ring.values.size()];
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

bool render(const Template& text, const RequestPlan& plan, const CapturePool& pool, Random& random, std::uint64_t sequence, std::string& out,
            int& missing, const NegativeRule& negative, NegativeCase chosen) {
  for (const auto& part : text.parts()) {
    if (part.variable >= 0 && part.variable == negative.variable && chosen != NegativeCase::none) {
      if (chosen == NegativeCase::revoked) {
        const auto* value = pool.pick(negative.revoked_variable, random);
        if (!value) {
          missing = negative.revoked_variable;
          return false;
        }
        out += *value;
      } else {
        const auto* value = pool.pick(part.variable, random);
        if (!value) {
          missing = part.variable;
          return false;
        }
        const auto at = out.size();
        out += *value;
        tamper(out, at);
      }
      continue;
    }
    if (part.variable >= plan.first_feeder_variable && part.variable < plan.first_feeder_variable + static_cast<int>(plan.feeder_variables.size())) {
      const auto& [feeder, column] = plan.feeder_variables[static_cast<std::size_t>(part.variable - plan.first_feeder_variable)];
      const auto& source = plan.feeders[feeder];
      out += source.table.at(feeder_row(source, sequence, plan.seed), column);
      continue;
    }
    switch (part.variable) {
      case -1: out += part.literal; break;
      case citizen_id: {
        // Synthetic resident registration style id: six digits of birth date, a dash, seven digits.
        const auto citizen = random() % static_cast<std::uint64_t>(plan.citizens);
        fmt::format_to(std::back_inserter(out), "{:06}-{:07}", 500101 + citizen / 10'000'000 % 500'000, citizen % 10'000'000);
        break;
      }
      case certificate_type: out += plan.certificate_types[random() % plan.certificate_types.size()]; break;
      case request_id: append_number(out, sequence); break;
      default: {
        const auto* value = pool.pick(part.variable, random);
        if (!value) {
          missing = part.variable;
          return false;
        }
        out += *value;
      }
    }
  }
  return true;
}

}  // namespace

bool render_request(const EndpointRequest& request, const RequestPlan& plan, const CapturePool& pool, Random& random, std::uint64_t sequence,
                    std::string& body_scratch, std::string& out, int& missing, NegativeCase* chosen) {
  out.clear();
  body_scratch.clear();
  auto negative_case = NegativeCase::none;
  if (request.negative.variable >= 0) {
    const double draw = random.uniform();
    if (draw < request.negative.tampered) negative_case = NegativeCase::tampered;
    else if (draw < request.negative.tampered + request.negative.revoked) negative_case = NegativeCase::revoked;
  }
  if (chosen) *chosen = negative_case;
  if (!render(request.body, plan, pool, random, sequence, body_scratch, missing, request.negative, negative_case)) return false;
  if (!render(request.head, plan, pool, random, sequence, out, missing, request.negative, negative_case)) return false;
  if (request.has_body) {
    out += "Content-Length: ";
    append_number(out, body_scratch.size());
    out += "\r\n";
  }
  out += "\r\n";
  out += body_scratch;
  return true;
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
