#pragma once
// A scenario with the negative paths and a CSV feeder, written with its feeder file into a
// folder: issuances take holders from holders.csv, and verifications send 10% tampered and
// 10% revoked credentials (revoked in warm-up through the revoke flow).
#include <filesystem>
#include <fstream>
#include <string>

namespace uptake::test {

inline std::string write_negative_paths_scenario(const std::filesystem::path& folder, const std::string& feeder_order = "sequential") {
  std::filesystem::create_directories(folder);
  std::ofstream(folder / "holders.csv") << "holder,type\n"
                                           "900101-1000001,vaccination\n"
                                           "900101-1000002,\"family-relations\"\n"
                                           "900101-1000003,resident-registration\n";
  const auto file = folder / "negative-paths.yaml";
  std::ofstream(file) << R"(name: negative paths
seed: 3
history:
  series:
    flat:
      yearly: { 2023: 1576800000, 2024: 1581120000 }
      model: exponential
growth: { project_to: 2024 }
mix: { endpoints: { issue: 0.4, verify: 0.6 } }
feeders:
  holders: { file: holders.csv, order: )" << feeder_order << R"( }
flows:
  issue:
    method: POST
    path: /v1/certificates
    headers: { Content-Type: application/json }
    body: '{"holder":"{{holders.holder}}","type":"{{holders.type}}"}'
    capture: { credential: /credential, credential_id: /id }
  verify:
    method: POST
    path: /v1/verify
    headers: { Content-Type: application/json }
    body: '{"credential":"{{credential}}"}'
    negative: { of: credential, tampered: 10%, revoked: 0.1, revoke_with: revoke }
  revoke:
    method: POST
    path: /v1/certificates/{{credential_id}}/revoke
replay: { window: interval, from: 2024-03-04T10:00, to: 2024-03-04T10:00:04, scale: 1 }
)";
  return file.string();
}

}  // namespace uptake::test
