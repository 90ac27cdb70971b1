// uptake serve: the reference e-certificate service, the embedded default target.
#include <fmt/format.h>

#include <charconv>
#include <cstdio>

#include "command.hpp"
#include "uptake/base/input_error.hpp"
#include "uptake/ecert/server.hpp"

namespace uptake::cli {
namespace {

// "127.0.0.1:8080", "[::1]:0", "localhost:9000", ":8080"
std::pair<std::string, std::uint16_t> parse_listen(const std::string& text) {
  const auto colon = text.rfind(':');
  std::string host = colon == std::string::npos ? std::string() : text.substr(0, colon);
  const auto port_text = colon == std::string::npos ? text : text.substr(colon + 1);
  unsigned port = 0;
  const auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (colon == std::string::npos || ec != std::errc{} || end != port_text.data() + port_text.size() || port > 65535) {
    throw InputError({}, "--listen", fmt::format("'{}' is not HOST:PORT", text), "an address and port such as 127.0.0.1:8080, [::1]:0 or :8080");
  }
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  if (host.empty()) host = "127.0.0.1";
  if (host == "localhost") host = "127.0.0.1";
  return {host, static_cast<std::uint16_t>(port)};
}

int run_serve(const po::variables_map& values) {
  ecert::ServerOptions options;
  std::tie(options.host, options.port) = parse_listen(values["listen"].as<std::string>());
  options.threads = values["threads"].as<unsigned>();
  // A thread per core is the point; thousands only exhaust the system's limits.
  if (options.threads > 1024) throw InputError({}, "--threads", fmt::format("{} is too many", options.threads), "0 (one per hardware thread) to 1024");
  options.tls = values.count("tls") > 0;
  if (values.count("tls-cert")) options.tls_certificate = values["tls-cert"].as<std::string>();
  if (values.count("tls-key")) options.tls_key = values["tls-key"].as<std::string>();
  ecert::ServiceConfig service;
  service.data_dir = values["data"].as<std::string>();
  service.workers = values["workers"].as<unsigned>();
  if (service.workers == 0 || service.workers > 100000) {
    throw InputError({}, "--workers", fmt::format("is {}", service.workers), "1 to 100000 servers per synthetic endpoint");
  }
  if (values.count("service-time")) {
    for (const auto& item : values["service-time"].as<std::vector<std::string>>()) {
      const auto equals = item.find('=');
      const std::string endpoint = item.substr(0, equals);
      static const std::vector<std::string> endpoints{"issue", "verify", "get", "revoke"};
      if (equals == std::string::npos || std::find(endpoints.begin(), endpoints.end(), endpoint) == endpoints.end()) {
        throw InputError({}, "--service-time", fmt::format("'{}' does not start with an endpoint and '='", item), "ENDPOINT=DIST with ENDPOINT one of issue, verify, get, revoke");
      }
      std::string problem;
      const auto distribution = ecert::ServiceTimeDistribution::parse(item.substr(equals + 1), problem);
      if (!distribution) throw InputError({}, "--service-time", problem);
      service.synthetic.push_back({endpoint, *distribution});
    }
  }
  ecert::HttpServer server(options, service);
  // Before the first line: whoever reads it may signal the service at once.
  server.stop_on_signals();
  // The first line names the address, so that scripts and tests can read the chosen port.
  fmt::print("uptake serve: listening on {}://{}:{} (data in {}{})\n", options.tls ? "https" : "http", options.host.find(':') == std::string::npos ? options.host : "[" + options.host + "]",
             server.port(), service.data_dir.string(), service.synthetic.empty() ? "" : fmt::format("; synthetic mode, {} workers", service.workers));
  std::fflush(stdout);
  server.run(true);
  fmt::print("uptake serve: stopped; every acknowledged issuance is committed\n");
  return kExitOk;
}

}  // namespace

std::vector<Command> serve_commands() {
  return {{"serve", "Run the reference e-certificate service (issue, verify, revoke; Ed25519; SQLite)",
           "uptake serve [--listen HOST:PORT] [--threads N] [--data DIR] [--tls [--tls-cert PEM --tls-key PEM]] [--service-time ENDPOINT=DIST]... [--workers N]",
           {"uptake serve                                   # http://127.0.0.1:8080, data in ./ecert-data",
            "uptake serve --listen 127.0.0.1:0 --data /tmp/ecert   # port 0: a free port, printed on the first line",
            "uptake serve --service-time verify=exp:2ms --workers 4   # verify behaves as an M/M/4 station",
            "uptake serve --tls                             # HTTPS with a self-signed pair made at start-up (curl -k)",
            "curl -s -XPOST localhost:8080/v1/certificates -d '{\"holder\":\"900101-1\",\"type\":\"vaccination\"}'",
            "curl -s -XPOST localhost:8080/v1/verify -d '{\"credential\":\"<the credential from the answer above>\"}'"},
           [](po::options_description& options, po::positional_options_description&) {
             options.add_options()("listen", po::value<std::string>()->default_value("127.0.0.1:8080"), "address and port; port 0 picks a free one")(
                 "threads", po::value<unsigned>()->default_value(0), "I/O threads (0: one per hardware thread)")(
                 "tls", "serve HTTPS (TLS 1.2+)")("tls-cert", po::value<std::string>(), "with --tls: PEM certificate chain (default: self-signed)")(
                 "tls-key", po::value<std::string>(), "with --tls: PEM private key of the certificate")(
                 "data", po::value<std::string>()->default_value("ecert-data"), "folder of the signing key and the certificate store")(
                 "service-time", po::value<std::vector<std::string>>()->composing(),
                 "synthetic mode: ENDPOINT=DIST replaces an endpoint's work by a wait; DIST is exp:MEAN, const:VALUE or lognormal:MEAN,SD")(
                 "workers", po::value<unsigned>()->default_value(1), "synthetic mode: servers per endpoint (requests beyond wait in FIFO order)");
           },
           run_serve}};
}

}  // namespace uptake::cli
