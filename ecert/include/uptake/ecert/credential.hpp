#pragma once
// Ed25519-signed e-certificate credentials of the reference service, as compact JWS
// (RFC 7515) with a verifiable-credential style payload:
//
//   header  {"alg":"EdDSA","kid":<key id>,"typ":"vc+jwt"}
//   payload {"exp":..,"iat":..,"iss":kCredentialIssuer,"jti":<certificate id>,"sub":<holder>,
//            "vc":{"credentialSubject":{"certificateType":<type>,"id":<holder>},
//                  "type":["VerifiableCredential",<type>]}}
//
// Thread-safety: a SigningKey is immutable after construction; sign_credential and
// verify_credential may be called on one key from any number of threads at once.
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

// OpenSSL's key type, declared here so that including this header does not pull in OpenSSL.
struct evp_pkey_st;

namespace uptake::ecert {

// The "iss" claim of every credential this service issues.
inline constexpr std::string_view kCredentialIssuer = "did:web:ecert.uptake.example";

// Credentials longer than this are rejected as malformed before any decoding, so that a
// hostile request cannot make verification spend time or memory in proportion to its size.
// Real credentials are a few hundred bytes.
inline constexpr std::size_t kMaxCredentialLength = 16 * 1024;

// The service's Ed25519 signing key. Owns its OpenSSL key (RAII); move-only. A moved-from
// SigningKey may only be assigned to or destroyed.
class SigningKey {
 public:
  // Loads data_dir/signing-key.pem, or creates it when it does not exist: the directory is
  // created if missing, and a new key file is written with mode 0600 to a temporary file that
  // is then linked into place, so that no process ever reads half a key and two processes
  // starting at once agree on one key (the loser of the race loads the winner's file).
  // Throws uptake::InputError naming the file when it exists but is not a PEM Ed25519 private
  // key, or when the directory or file cannot be read or written.
  static SigningKey load_or_create(const std::filesystem::path& data_dir);

  // A fresh key that lives only in memory (tests, throwaway targets).
  static SigningKey generate();

  SigningKey(SigningKey&&) noexcept;
  SigningKey& operator=(SigningKey&&) noexcept;
  SigningKey(const SigningKey&) = delete;
  SigningKey& operator=(const SigningKey&) = delete;
  ~SigningKey();

  // Short, stable id of the public key: base64url (no padding) of the first 12 bytes of
  // SHA-256 of the raw 32-byte public key; 16 characters. Goes into the JWS "kid".
  const std::string& key_id() const noexcept { return key_id_; }

  // The base64url-encoded JWS protected header every credential of this key carries. Lets
  // verification recognise its own header by comparing bytes instead of parsing JSON.
  const std::string& encoded_header() const noexcept { return encoded_header_; }

  // Borrowed OpenSSL key; valid as long as this object is. Not for callers outside ecert.
  evp_pkey_st* native_handle() const noexcept { return key_.get(); }

 private:
  struct KeyDeleter {
    void operator()(evp_pkey_st* key) const noexcept;
  };
  using KeyPointer = std::unique_ptr<evp_pkey_st, KeyDeleter>;

  explicit SigningKey(KeyPointer key);

  KeyPointer key_;
  std::string key_id_;
  std::string encoded_header_;
};

struct CredentialClaims {
  std::string id;             // "jti": the certificate id, the key of the store
  std::string holder;         // "sub" and credentialSubject.id
  std::string type;           // credentialSubject.certificateType and the second vc.type
  std::string issuer_key_id;  // the header's "kid"; ignored by sign_credential (it uses the key's)
  std::int64_t issued_at = 0;   // "iat", unix seconds
  std::int64_t expires_at = 0;  // "exp", unix seconds; the credential is valid while now < exp
};

// Signs claims with key and returns the compact JWS. Throws std::runtime_error only when
// OpenSSL itself fails (out of memory), never because of the claims' content.
std::string sign_credential(const SigningKey& key, const CredentialClaims& claims);

enum class VerifyStatus {
  valid,          // signature checks out and now lies in [iat, exp)
  malformed,      // not a compact JWS of this service: structure, base64url, JSON, alg, claims, size
  bad_signature,  // well-formed, our key id, but the signature does not match the content
  unknown_key,    // well-formed EdDSA JWS whose "kid" is not this service's key
  expired,        // authentic, but now >= exp
  not_yet_valid,  // authentic, but now < iat
};

// The "reason" string of a verification answer: "valid", "malformed", "bad_signature",
// "unknown_key", "expired", "not_yet_valid". Static storage; never null.
const char* to_string(VerifyStatus status) noexcept;

struct Verification {
  VerifyStatus status = VerifyStatus::malformed;
  // Filled when the signature checked out (valid, expired, not_yet_valid); empty otherwise,
  // so nothing unauthenticated ever leaves this function.
  CredentialClaims claims;
};

// Verifies a compact JWS against key at the given time. Never throws, whatever the input
// (an internal failure such as out-of-memory is reported as malformed). The signature is
// checked before the payload's JSON is parsed, so a tampered payload is bad_signature even
// when the tampering breaks its JSON. Revocation is not checked here: the caller asks the
// CertificateStore about claims.id.
Verification verify_credential(const SigningKey& key, std::string_view compact,
                               std::int64_t now_unix_seconds) noexcept;

// base64url without padding (RFC 4648 section 5, as JWS uses it).
std::string base64url_encode(std::string_view bytes);
// Strict decoding: rejects '=', characters outside the alphabet, impossible lengths and
// non-zero trailing bits (so that each byte string has exactly one encoding). Returns false
// and leaves `out` unspecified on bad input; `out` is overwritten, its capacity reused.
bool base64url_decode(std::string_view text, std::string& out);

}  // namespace uptake::ecert
