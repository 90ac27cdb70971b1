#include "uptake/sim/journey.hpp"

#include <Eigen/Dense>

#include <algorithm>
#include <map>

namespace uptake::sim {
namespace {

std::map<std::string, Eigen::Index> step_indices(const Journeys& journeys) {
  std::map<std::string, Eigen::Index> index;
  for (std::size_t i = 0; i < journeys.steps.size(); ++i) index[journeys.steps[i].name] = static_cast<Eigen::Index>(i);
  return index;
}

}  // namespace

std::vector<double> expected_step_visits(const Journeys& journeys) {
  const auto index = step_indices(journeys);
  const auto n = static_cast<Eigen::Index>(journeys.steps.size());
  Eigen::MatrixXd transient = Eigen::MatrixXd::Zero(n, n);
  for (Eigen::Index i = 0; i < n; ++i) {
    for (const auto& [name, probability] : journeys.steps[static_cast<std::size_t>(i)].next) {
      if (name != "exit") transient(i, index.at(name)) += probability;
    }
  }
  // Solve (I - Q)^T x = e_start rather than inverting: x is row `start` of N.
  const Eigen::MatrixXd system = (Eigen::MatrixXd::Identity(n, n) - transient).transpose();
  Eigen::VectorXd unit = Eigen::VectorXd::Zero(n);
  unit(index.at(journeys.start)) = 1.0;
  const Eigen::VectorXd visits = system.fullPivLu().solve(unit);
  return {visits.data(), visits.data() + n};
}

std::vector<EndpointVisits> expected_endpoint_requests(const Journeys& journeys) {
  const auto visits = expected_step_visits(journeys);
  std::vector<EndpointVisits> result;
  for (std::size_t i = 0; i < journeys.steps.size(); ++i) {
    const auto& endpoint = journeys.steps[i].endpoint;
    if (endpoint.empty()) continue;
    auto found = std::find_if(result.begin(), result.end(), [&](const auto& e) { return e.endpoint == endpoint; });
    if (found == result.end()) {
      result.push_back({endpoint, 0});
      found = result.end() - 1;
    }
    found->requests_per_journey += visits[i];
  }
  return result;
}

std::optional<std::string> step_that_cannot_exit(const Journeys& journeys) {
  const auto index = step_indices(journeys);
  // Walk backwards from exit: a step reaches exit when any successor with positive probability does.
  std::vector<bool> reaches(journeys.steps.size(), false);
  for (bool changed = true; changed;) {
    changed = false;
    for (std::size_t i = 0; i < journeys.steps.size(); ++i) {
      if (reaches[i]) continue;
      for (const auto& [name, probability] : journeys.steps[i].next) {
        if (probability > 0 && (name == "exit" || reaches[static_cast<std::size_t>(index.at(name))])) {
          reaches[i] = changed = true;
          break;
        }
      }
    }
  }
  for (std::size_t i = 0; i < journeys.steps.size(); ++i) {
    if (!reaches[i]) return journeys.steps[i].name;
  }
  return std::nullopt;
}

SessionChain::SessionChain(const Journeys& journeys, const std::vector<std::string>& endpoint_order) {
  const auto index = step_indices(journeys);
  const auto visits = expected_step_visits(journeys);
  requests_per_endpoint_.assign(endpoint_order.size(), 0.0);
  for (std::size_t i = 0; i < journeys.steps.size(); ++i) {
    const auto& from = journeys.steps[i];
    Step step;
    if (!from.endpoint.empty()) {
      const auto found = std::find(endpoint_order.begin(), endpoint_order.end(), from.endpoint);
      step.endpoint = static_cast<int>(found - endpoint_order.begin());
      requests_per_session_ += visits[i];
      requests_per_endpoint_[static_cast<std::size_t>(step.endpoint)] += visits[i];
    }
    step.think = from.think_time.value_or(journeys.think_time);
    double cumulative = 0;
    for (const auto& [name, probability] : from.next) {
      if (probability <= 0) continue;
      cumulative += probability;
      step.next.emplace_back(cumulative, name == "exit" ? -1 : static_cast<int>(index.at(name)));
    }
    steps_.push_back(std::move(step));
  }
  start_ = static_cast<int>(index.at(journeys.start));
}

SessionWalk::SessionWalk(const SessionChain& chain, std::uint64_t seed, std::uint64_t session)
    : chain_(&chain), random_(seed * 0x9E3779B97F4A7C15ULL + session) {}

int SessionWalk::successor() {
  const auto& next = chain_->steps_[static_cast<std::size_t>(step_)].next;
  // The last successor takes what rounding leaves of the total: the probabilities sum to 1 only
  // to within 1e-6.
  const double draw = random_.uniform() * next.back().first;
  for (const auto& [cumulative, step] : next) {
    if (draw < cumulative) return step;
  }
  return next.back().second;
}

bool SessionWalk::next(SessionVisit& visit) {
  visit.think = std::chrono::nanoseconds{0};
  if (!started_) {
    started_ = true;
    step_ = chain_->start_;
  } else {
    if (step_ < 0) return false;
    step_ = successor();
    if (step_ < 0) return false;
    visit.think += chain_->steps_[static_cast<std::size_t>(step_)].think.draw(random_);
  }
  // Steps that send nothing (reading a screen) pass their pause on to the next request.
  while (chain_->steps_[static_cast<std::size_t>(step_)].endpoint < 0) {
    step_ = successor();
    if (step_ < 0) return false;
    visit.think += chain_->steps_[static_cast<std::size_t>(step_)].think.draw(random_);
  }
  visit.endpoint = static_cast<std::uint32_t>(chain_->steps_[static_cast<std::size_t>(step_)].endpoint);
  return true;
}

ReplayWindow session_window(ReplayWindow window, const SessionChain& chain) {
  window.scale /= chain.requests_per_session();
  return window;
}

}  // namespace uptake::sim
