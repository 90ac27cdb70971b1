#include <catch2/catch.hpp>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <string>

#include "uptake/base/input_error.hpp"
#include "temporary_directory.hpp"
#include "uptake/ecert/credential.hpp"

using namespace uptake::ecert;
using uptake::test::TemporaryDirectory;
namespace fs = std::filesystem;

namespace {


constexpr std::int64_t kIssuedAt = 1'700'000'000;
constexpr std::int64_t kExpiresAt = kIssuedAt + 365 * 24 * 3600;
constexpr std::int64_t kDuringValidity = kIssuedAt + 1000;

CredentialClaims sample_claims() {
  CredentialClaims claims;
  claims.id = "cert-0001";
  claims.holder = "holder-42";
  claims.type = "VaccinationCertificate";
  claims.issued_at = kIssuedAt;
  claims.expires_at = kExpiresAt;
  return claims;
}

// A signing key is costly enough to make once for all tests that need just some key.
const SigningKey& shared_key() {
  static const SigningKey key = SigningKey::generate();
  return key;
}

std::string segment(const std::string& compact, int which) {
  const std::size_t first = compact.find('.');
  const std::size_t second = compact.find('.', first + 1);
  if (which == 0) return compact.substr(0, first);
  if (which == 1) return compact.substr(first + 1, second - first - 1);
  return compact.substr(second + 1);
}

// A different character of the base64url alphabet that keeps the same top bits, so the
// segment stays decodable and only the signed content changes.
char flip_low_bit(char character) {
  const std::string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  const std::size_t value = alphabet.find(character);
  return alphabet[value ^ 1];
}

}  // namespace

TEST_CASE("base64url matches RFC 4648 vectors and rejects non-canonical text") {
  CHECK(base64url_encode("") == "");
  CHECK(base64url_encode("f") == "Zg");
  CHECK(base64url_encode("fo") == "Zm8");
  CHECK(base64url_encode("foo") == "Zm9v");
  CHECK(base64url_encode("foob") == "Zm9vYg");
  CHECK(base64url_encode("fooba") == "Zm9vYmE");
  CHECK(base64url_encode("foobar") == "Zm9vYmFy");
  CHECK(base64url_encode("\xfb\xff") == "-_8");  // the two characters that differ from base64

  std::string decoded;
  REQUIRE(base64url_decode("Zm9vYmE", decoded));
  CHECK(decoded == "fooba");
  REQUIRE(base64url_decode("-_8", decoded));
  CHECK(decoded == "\xfb\xff");
  CHECK_FALSE(base64url_decode("Zg==", decoded));  // JWS forbids padding
  CHECK_FALSE(base64url_decode("Z", decoded));     // no byte fits in 6 bits
  CHECK_FALSE(base64url_decode("Zh", decoded));    // trailing bits set: a second spelling of "f"
  CHECK_FALSE(base64url_decode("+/8", decoded));   // plain base64 alphabet
  CHECK_FALSE(base64url_decode(std::string_view("Zm\0v", 4), decoded));
}

TEST_CASE("a signed credential verifies and carries its claims") {
  const SigningKey& key = shared_key();
  const std::string compact = sign_credential(key, sample_claims());

  const Verification verification = verify_credential(key, compact, kDuringValidity);
  REQUIRE(verification.status == VerifyStatus::valid);
  CHECK(std::string(to_string(verification.status)) == "valid");
  CHECK(verification.claims.id == "cert-0001");
  CHECK(verification.claims.holder == "holder-42");
  CHECK(verification.claims.type == "VaccinationCertificate");
  CHECK(verification.claims.issued_at == kIssuedAt);
  CHECK(verification.claims.expires_at == kExpiresAt);
  CHECK(verification.claims.issuer_key_id == key.key_id());
  CHECK(key.key_id().size() == 16);

  std::string header;
  REQUIRE(base64url_decode(segment(compact, 0), header));
  CHECK(header == R"({"alg":"EdDSA","kid":")" + key.key_id() + R"(","typ":"vc+jwt"})");
  std::string payload;
  REQUIRE(base64url_decode(segment(compact, 1), payload));
  CHECK(payload.find(R"("iss":"did:web:ecert.uptake.example")") != std::string::npos);
  CHECK(payload.find(R"("type":["VerifiableCredential","VaccinationCertificate"])") != std::string::npos);
  CHECK(payload.find(R"("credentialSubject":{"certificateType":"VaccinationCertificate","id":"holder-42"})") !=
        std::string::npos);
}

TEST_CASE("a changed payload or signature is a bad signature") {
  const SigningKey& key = shared_key();
  const std::string compact = sign_credential(key, sample_claims());
  const std::size_t payload_start = compact.find('.') + 1;
  const std::size_t signature_start = compact.rfind('.') + 1;

  std::string tampered_payload = compact;
  tampered_payload[payload_start + 10] = flip_low_bit(tampered_payload[payload_start + 10]);
  const Verification payload_result = verify_credential(key, tampered_payload, kDuringValidity);
  CHECK(payload_result.status == VerifyStatus::bad_signature);
  CHECK(payload_result.claims.id.empty());  // nothing unauthenticated is handed out

  std::string tampered_signature = compact;
  tampered_signature[signature_start + 5] = flip_low_bit(tampered_signature[signature_start + 5]);
  CHECK(verify_credential(key, tampered_signature, kDuringValidity).status == VerifyStatus::bad_signature);

  // Our key id in a header that is not byte-for-byte ours still reaches the signature check.
  const std::string reordered_header =
      base64url_encode(R"({"kid":")" + key.key_id() + R"(","alg":"EdDSA","typ":"vc+jwt"})");
  const std::string rewrapped = reordered_header + compact.substr(payload_start - 1);
  CHECK(verify_credential(key, rewrapped, kDuringValidity).status == VerifyStatus::bad_signature);
}

TEST_CASE("every truncation of a credential is malformed") {
  const SigningKey& key = shared_key();
  const std::string compact = sign_credential(key, sample_claims());
  for (std::size_t length = 0; length < compact.size(); ++length) {
    INFO("truncated to " << length << " of " << compact.size());
    CHECK(verify_credential(key, std::string_view(compact).substr(0, length), kDuringValidity).status ==
          VerifyStatus::malformed);
  }
}

TEST_CASE("validity is the half-open interval [iat, exp)") {
  const SigningKey& key = shared_key();
  const std::string compact = sign_credential(key, sample_claims());
  CHECK(verify_credential(key, compact, kIssuedAt).status == VerifyStatus::valid);
  CHECK(verify_credential(key, compact, kExpiresAt - 1).status == VerifyStatus::valid);
  const Verification expired = verify_credential(key, compact, kExpiresAt);
  CHECK(expired.status == VerifyStatus::expired);
  CHECK(expired.claims.id == "cert-0001");  // authentic, so the caller may still say which
  CHECK(verify_credential(key, compact, kIssuedAt - 1).status == VerifyStatus::not_yet_valid);
  CHECK(std::string(to_string(VerifyStatus::expired)) == "expired");
  CHECK(std::string(to_string(VerifyStatus::not_yet_valid)) == "not_yet_valid");
}

TEST_CASE("a credential of another key is an unknown key") {
  const SigningKey other = SigningKey::generate();
  REQUIRE(other.key_id() != shared_key().key_id());
  const std::string foreign = sign_credential(other, sample_claims());
  const Verification verification = verify_credential(shared_key(), foreign, kDuringValidity);
  CHECK(verification.status == VerifyStatus::unknown_key);
  CHECK(std::string(to_string(verification.status)) == "unknown_key");
}

TEST_CASE("the signing key persists in the data directory") {
  TemporaryDirectory directory("ecert-credential-test");
  const fs::path data_dir = directory.path() / "nested" / "data";  // created on demand
  std::string first_credential;
  std::string first_key_id;
  {
    const SigningKey key = SigningKey::load_or_create(data_dir);
    first_key_id = key.key_id();
    first_credential = sign_credential(key, sample_claims());
  }
  const fs::path key_file = data_dir / "signing-key.pem";
  REQUIRE(fs::exists(key_file));
  CHECK(fs::status(key_file).permissions() == (fs::perms::owner_read | fs::perms::owner_write));
  for (const auto& entry : fs::directory_iterator(data_dir)) {
    CHECK(entry.path().filename() == "signing-key.pem");  // no temporary file left behind
  }

  const SigningKey reloaded = SigningKey::load_or_create(data_dir);
  CHECK(reloaded.key_id() == first_key_id);
  CHECK(verify_credential(reloaded, first_credential, kDuringValidity).status == VerifyStatus::valid);

  SigningKey moved = SigningKey::load_or_create(data_dir);
  SigningKey target = std::move(moved);
  CHECK(verify_credential(target, first_credential, kDuringValidity).status == VerifyStatus::valid);
}

TEST_CASE("a corrupt key file is an input error naming the file") {
  TemporaryDirectory directory("ecert-credential-test");
  fs::create_directories(directory.path());
  const fs::path key_file = directory.path() / "signing-key.pem";
  {
    std::ofstream file(key_file);
    file << "-----BEGIN PRIVATE KEY-----\nnot a key at all\n-----END PRIVATE KEY-----\n";
  }
  try {
    (void)SigningKey::load_or_create(directory.path());
    FAIL("a corrupt key file was accepted");
  } catch (const uptake::InputError& error) {
    CHECK(error.where().file == key_file.string());
    CHECK(std::string(error.what()).find(key_file.string()) != std::string::npos);
  }
  // The corrupt file is left for a person to look at, not silently replaced.
  CHECK(fs::file_size(key_file) > 0);
  CHECK_THROWS_AS(SigningKey::load_or_create(directory.path()), uptake::InputError);
}

TEST_CASE("garbage never throws and never verifies") {
  const SigningKey& key = shared_key();
  const std::string compact = sign_credential(key, sample_claims());
  const std::string payload_and_signature = compact.substr(compact.find('.'));
  const std::string huge = std::string(1 << 20, 'A') + "." + std::string(1 << 20, 'B') + "." + std::string(86, 'C');

  const std::vector<std::pair<std::string, VerifyStatus>> cases = {
      {"", VerifyStatus::malformed},
      {".", VerifyStatus::malformed},
      {"..", VerifyStatus::malformed},
      {"...", VerifyStatus::malformed},
      {"a.b.c", VerifyStatus::malformed},
      {"a.b", VerifyStatus::malformed},
      {compact + ".", VerifyStatus::malformed},
      {compact + "=", VerifyStatus::malformed},
      {std::string("\0\xff\x80.\x01.\x02", 7), VerifyStatus::malformed},
      {huge, VerifyStatus::malformed},
      {base64url_encode("not json") + payload_and_signature, VerifyStatus::malformed},
      {base64url_encode("[1,2]") + payload_and_signature, VerifyStatus::malformed},
      {base64url_encode(R"({"alg":"none","kid":")" + key.key_id() + "\"}") + payload_and_signature, VerifyStatus::malformed},
      {base64url_encode(R"({"alg":"HS256","kid":")" + key.key_id() + "\"}") + payload_and_signature, VerifyStatus::malformed},
      {base64url_encode(R"({"alg":"EdDSA","kid":7})") + payload_and_signature, VerifyStatus::malformed},
      {base64url_encode(R"({"alg":"EdDSA"})") + payload_and_signature, VerifyStatus::malformed},
      {base64url_encode(R"({"alg":"EdDSA","kid":")" + key.key_id() + R"(","crit":["x"]})") + payload_and_signature,
       VerifyStatus::malformed},
      {base64url_encode(R"({"alg":"EdDSA","kid":"someone-else"})") + payload_and_signature, VerifyStatus::unknown_key},
      {key.encoded_header() + "." + base64url_encode("{}") + "." + std::string(86, 'A'), VerifyStatus::bad_signature},
      {key.encoded_header() + "." + base64url_encode("{}") + "." + std::string(40, 'A'), VerifyStatus::malformed},
  };
  for (const auto& [input, expected] : cases) {
    INFO("input of " << input.size() << " bytes: " << input.substr(0, 80));
    CHECK_NOTHROW(verify_credential(key, input, kDuringValidity));
    CHECK(verify_credential(key, input, kDuringValidity).status == expected);
  }

  // Seeded random mutations of a real credential: any change at all must stop it verifying.
  std::mt19937 random(20220715);
  std::uniform_int_distribution<int> any_byte(0, 255);
  for (int round = 0; round < 300; ++round) {
    std::string mutated = compact;
    std::uniform_int_distribution<std::size_t> position(0, mutated.size() - 1);
    const int changes = 1 + round % 3;
    for (int change = 0; change < changes; ++change) mutated[position(random)] = static_cast<char>(any_byte(random));
    if (mutated == compact) continue;
    INFO("mutation round " << round);
    CHECK(verify_credential(key, mutated, kDuringValidity).status != VerifyStatus::valid);
  }
}

TEST_CASE("holders and types with unusual text round-trip") {
  const SigningKey& key = shared_key();
  CredentialClaims claims = sample_claims();
  claims.holder = "Jöns \"the quoted\" Ørsted\n<&>";
  claims.type = "証明書";
  claims.id = "";
  const Verification verification = verify_credential(key, sign_credential(key, claims), kDuringValidity);
  REQUIRE(verification.status == VerifyStatus::valid);
  CHECK(verification.claims.holder == claims.holder);
  CHECK(verification.claims.type == claims.type);
  CHECK(verification.claims.id.empty());
}
