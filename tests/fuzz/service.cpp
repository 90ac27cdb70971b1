// Requests reach the reference service from anyone. Each must get exactly one answer, a status
// the service documents, and (for errors) a JSON body; nothing may crash or throw out of it.
//
// Input: requests separated by NUL bytes, each "METHOD TARGET" on its first line and the body
// after it. "$ID" and "$CREDENTIAL" in a target or body stand for the id and credential of the
// last certificate issued in this input, so that the fuzzer reaches verify, get and revoke of
// real certificates.
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <future>
#include <string>
#include <thread>
#include <unistd.h>

#include "entries.hpp"
#include "uptake/ecert/service.hpp"

namespace uptake::fuzz {
namespace {

// One service for the whole process, on a throwaway data folder (memory-backed where the machine
// has /dev/shm, so that the store's fsyncs cost little), removed at a normal exit. libFuzzer ends
// without running destructors, so scripts/fuzz names a folder of its own in UPTAKE_FUZZ_DATA_DIR
// and removes it itself.
class FuzzedService {
 public:
  FuzzedService() {
    const char* given = std::getenv("UPTAKE_FUZZ_DATA_DIR");
    const std::filesystem::path base = given ? given : std::filesystem::exists("/dev/shm") ? "/dev/shm" : std::filesystem::temp_directory_path();
    data_ = base / ("uptake-fuzz-service-" + std::to_string(::getpid()));
    ecert::ServiceConfig config;
    config.data_dir = data_;
    config.now_unix_seconds = [] { return std::int64_t{1'700'000'000}; };
    config.seed = 7;
    service_ = std::make_unique<ecert::Service>(std::move(config), [](std::chrono::nanoseconds, std::function<void()> task) { task(); });
  }
  ~FuzzedService() {
    service_.reset();
    std::error_code ignored;
    std::filesystem::remove_all(data_, ignored);
  }
  ecert::Service& operator*() { return *service_; }

 private:
  std::filesystem::path data_;
  std::unique_ptr<ecert::Service> service_;
};

std::string substitute(std::string text, const std::string& id, const std::string& credential) {
  for (const auto& [name, value] : {std::pair<std::string_view, const std::string&>{"$ID", id}, {"$CREDENTIAL", credential}}) {
    for (auto at = text.find(name); at != std::string::npos; at = text.find(name, at + value.size())) text.replace(at, name.size(), value);
  }
  return text;
}

bool documented(int status) {
  for (const int known : {200, 201, 400, 404, 405, 409, 413, 431, 503}) {
    if (status == known) return true;
  }
  return false;
}

}  // namespace

void service(std::string_view input) {
  static FuzzedService fuzzed;
  std::string last_id, last_credential;
  for (int requests = 0; !input.empty() && requests < 16; ++requests) {
    const auto end = input.find('\0');
    const auto text = input.substr(0, end);
    input.remove_prefix(end == std::string_view::npos ? input.size() : end + 1);
    const auto line_end = text.find('\n');
    const auto line = text.substr(0, line_end);
    const auto space = line.find(' ');
    ecert::HttpRequest request;
    request.method = std::string(line.substr(0, space));
    request.target = space == std::string_view::npos ? "/" : substitute(std::string(line.substr(space + 1)), last_id, last_credential);
    request.body = line_end == std::string_view::npos ? "" : substitute(std::string(text.substr(line_end + 1)), last_id, last_credential);

    std::promise<ecert::HttpResponse> answered;
    auto answer = answered.get_future();
    int calls = 0;
    (*fuzzed).handle(std::move(request), [&answered, &calls](ecert::HttpResponse response) {
      ++calls;
      answered.set_value(std::move(response));
    });
    // Issuance and revocation answer from the store's commit thread; a lost answer is a finding.
    fuzz_require(answer.wait_for(std::chrono::seconds(10)) == std::future_status::ready, "every request is answered");
    const auto response = answer.get();
    fuzz_require(calls == 1, "every request is answered once");
    fuzz_require(documented(response.status), "the status is one the service documents");
    if (response.content_type == "application/json") {
      const auto body = nlohmann::json::parse(response.body, nullptr, false);
      fuzz_require(!body.is_discarded(), "a JSON answer is valid JSON");
      if (response.status >= 400) fuzz_require(body.contains("error") && body.contains("message"), "an error answer has error and message");
      if (response.status == 201) {
        last_id = body.value("id", "");
        last_credential = body.value("credential", "");
        fuzz_require(!last_id.empty() && !last_credential.empty(), "an issuance answer has an id and a credential");
      }
    }
  }
  fuzz_require((*fuzzed).in_flight() == 0, "nothing stays in flight once every request is answered");
}

}  // namespace uptake::fuzz
