// Credentials arrive in verification requests from anyone. Verification must never throw and
// never call anything valid that this key did not sign; what it signs must verify, with its claims.
#include <nlohmann/json.hpp>

#include <string>

#include "entries.hpp"
#include "uptake/ecert/credential.hpp"

namespace uptake::fuzz {
namespace {

const ecert::SigningKey& key() {
  static const auto key = ecert::SigningKey::generate();
  return key;
}

constexpr std::int64_t kNow = 1'700'000'000;

bool is_utf8(const std::string& text) {
  try {
    (void)nlohmann::json(text).dump();
    return true;
  } catch (const nlohmann::json::type_error&) {
    return false;
  }
}

}  // namespace

void credential(std::string_view input) {
  if (input.empty()) return;
  const auto mode = input[0];
  const auto rest = input.substr(1);
  if (mode & 1) {
    // Claims taken from the input, signed, then verified: the claims come back unchanged, and any
    // single changed byte of the credential makes it fail.
    ecert::CredentialClaims claims;
    std::string_view fields = rest;
    auto next = [&fields] {
      const auto end = fields.find('\0');
      const auto field = fields.substr(0, end);
      fields.remove_prefix(end == std::string_view::npos ? fields.size() : end + 1);
      return std::string(field);
    };
    claims.id = next();
    claims.holder = next();
    claims.type = next();
    claims.issued_at = kNow - static_cast<unsigned char>(mode);
    claims.expires_at = kNow + 3600;
    const auto compact = ecert::sign_credential(key(), claims);
    const auto verified = ecert::verify_credential(key(), compact, kNow);
    fuzz_require(verified.status == ecert::VerifyStatus::valid, "a credential this key signed verifies");
    // Text that is not UTF-8 is written with replacement characters (the service only signs
    // holders and types from parsed JSON, which are UTF-8); the rest must come back as signed.
    const bool exact = is_utf8(claims.id) && is_utf8(claims.holder) && is_utf8(claims.type);
    fuzz_require(!exact || (verified.claims.id == claims.id && verified.claims.holder == claims.holder && verified.claims.type == claims.type),
                 "verification returns the claims that were signed");
    fuzz_require(verified.claims.issued_at == claims.issued_at && verified.claims.expires_at == claims.expires_at,
                 "verification returns the times that were signed");
    if (!fields.empty()) {
      auto tampered = compact;
      const auto at = static_cast<unsigned char>(fields[0]) * 7919u % tampered.size();
      tampered[at] = static_cast<char>(tampered[at] ^ (fields.size() > 1 ? (fields[1] | 1) : 1));
      fuzz_require(ecert::verify_credential(key(), tampered, kNow).status != ecert::VerifyStatus::valid, "a changed byte never verifies");
    }
    return;
  }
  // Arbitrary bytes, or a credential of this key's header with the rest fuzzed.
  const std::string compact = (mode & 2) ? key().encoded_header() + "." + std::string(rest) : std::string(rest);
  const auto verified = ecert::verify_credential(key(), compact, kNow);
  if (verified.status == ecert::VerifyStatus::valid || verified.status == ecert::VerifyStatus::expired ||
      verified.status == ecert::VerifyStatus::not_yet_valid) {
    // Only possible if the fuzzer forged an Ed25519 signature: report it loudly.
    fuzz_require(false, "bytes the key never signed verified as authentic");
  }
  fuzz_require(verified.claims.id.empty() && verified.claims.holder.empty(), "nothing unauthenticated leaves verification");
  std::string decoded;
  if (ecert::base64url_decode(rest, decoded)) {
    fuzz_require(ecert::base64url_encode(decoded) == rest, "strict base64url has one encoding per byte string");
  }
}

}  // namespace uptake::fuzz
