#include "uptake/ecert/credential.hpp"

#include <fcntl.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>
#include <limits>
#include <nlohmann/json.hpp>
#include <random>
#include <stdexcept>
#include <system_error>

#include "uptake/base/input_error.hpp"

namespace uptake::ecert {
namespace {

using json = nlohmann::json;
namespace fs = std::filesystem;

constexpr std::size_t kEd25519SignatureSize = 64;
constexpr std::size_t kEd25519PublicKeySize = 32;
constexpr std::size_t kKeyIdDigestBytes = 12;  // 96 bits: collisions are not a concern for a kid
constexpr const char* kKeyFileName = "signing-key.pem";

// ---------------------------------------------------------------------------------- base64url

constexpr char kBase64UrlAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
constexpr std::uint8_t kNotBase64 = 0xFF;

constexpr std::array<std::uint8_t, 256> make_decoding_table() {
  std::array<std::uint8_t, 256> table{};
  for (auto& entry : table) entry = kNotBase64;
  for (std::uint8_t value = 0; value < 64; ++value) {
    table[static_cast<unsigned char>(kBase64UrlAlphabet[value])] = value;
  }
  return table;
}
constexpr std::array<std::uint8_t, 256> kDecodingTable = make_decoding_table();

// ------------------------------------------------------------------------------ OpenSSL glue

struct MdContextDeleter {
  void operator()(EVP_MD_CTX* context) const noexcept { EVP_MD_CTX_free(context); }
};
using MdContext = std::unique_ptr<EVP_MD_CTX, MdContextDeleter>;

struct BioDeleter {
  void operator()(BIO* bio) const noexcept { BIO_free(bio); }
};
using Bio = std::unique_ptr<BIO, BioDeleter>;

// Takes OpenSSL's thread-local error queue, so that failures neither leak into a later,
// unrelated call nor pile up on a long-lived server thread.
std::string take_openssl_errors() {
  std::string text;
  while (const unsigned long code = ERR_get_error()) {
    char buffer[256];
    ERR_error_string_n(code, buffer, sizeof buffer);
    if (!text.empty()) text += "; ";
    text += buffer;
  }
  return text.empty() ? std::string("unknown OpenSSL error") : text;
}

[[noreturn]] void throw_openssl_failure(const char* what) {
  throw std::runtime_error(std::string(what) + ": " + take_openssl_errors());
}

std::string key_id_of(EVP_PKEY* key) {
  std::array<unsigned char, kEd25519PublicKeySize> public_key{};
  std::size_t public_key_size = public_key.size();
  if (EVP_PKEY_get_raw_public_key(key, public_key.data(), &public_key_size) != 1 ||
      public_key_size != kEd25519PublicKeySize) {
    throw_openssl_failure("reading the Ed25519 public key");
  }
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int digest_size = 0;
  if (EVP_Digest(public_key.data(), public_key_size, digest.data(), &digest_size, EVP_sha256(), nullptr) != 1) {
    throw_openssl_failure("hashing the public key");
  }
  return base64url_encode(std::string_view(reinterpret_cast<const char*>(digest.data()), kKeyIdDigestBytes));
}

// --------------------------------------------------------------------------- the key's file

[[noreturn]] void throw_key_file_error(const fs::path& file, std::string problem, std::string expected) {
  throw InputError({file.string(), 0, 0}, "", std::move(problem), std::move(expected));
}

std::string read_whole_file(const fs::path& file) {
  std::ifstream stream(file, std::ios::binary);
  if (!stream) {
    throw_key_file_error(file, "cannot be read: " + std::string(std::strerror(errno)), "a readable key file");
  }
  std::string content((std::istreambuf_iterator<char>(stream)), std::istreambuf_iterator<char>());
  if (stream.bad()) throw_key_file_error(file, "could not be read completely", "a readable key file");
  return content;
}

EVP_PKEY* parse_private_key_pem(const fs::path& file, const std::string& pem) {
  if (pem.size() > static_cast<std::size_t>(std::numeric_limits<int>::max())) {
    throw_key_file_error(file, "is far too large to be a key", "a PEM Ed25519 private key");
  }
  Bio bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) throw_openssl_failure("reading the signing key");
  EVP_PKEY* key = PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr);
  if (key == nullptr) {
    ERR_clear_error();
    throw_key_file_error(file, "is not a readable PEM private key (corrupt or truncated?)",
                         "a PEM Ed25519 private key; delete the file to have a new key made");
  }
  if (EVP_PKEY_get_id(key) != EVP_PKEY_ED25519) {
    EVP_PKEY_free(key);
    throw_key_file_error(file, "holds a private key that is not Ed25519", "a PEM Ed25519 private key");
  }
  return key;
}

std::string private_key_pem(EVP_PKEY* key) {
  Bio bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    throw_openssl_failure("encoding the signing key");
  }
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(size));
}

void write_all_and_sync(int descriptor, const std::string& content, const fs::path& file) {
  std::size_t written = 0;
  while (written < content.size()) {
    const ssize_t result = ::write(descriptor, content.data() + written, content.size() - written);
    if (result < 0 && errno == EINTR) continue;
    if (result <= 0) throw_key_file_error(file, "could not be written: " + std::string(std::strerror(errno)), "a writable data directory");
    written += static_cast<std::size_t>(result);
  }
  if (::fsync(descriptor) != 0) {
    throw_key_file_error(file, "could not be flushed to disk: " + std::string(std::strerror(errno)), "a writable data directory");
  }
}

void sync_directory(const fs::path& directory) {
  // Makes the new directory entry itself durable; without it a crash could leave a service
  // that issued credentials under a key whose file has vanished.
  const int descriptor = ::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (descriptor < 0) return;  // best effort: the key file itself is already on disk
  ::fsync(descriptor);
  ::close(descriptor);
}

// Writes pem to `file` unless the file appears meanwhile. Returns false when another process
// won the race; the caller then loads that file instead, so everyone uses one key.
bool publish_new_key_file(const fs::path& file, const std::string& pem) {
  std::random_device entropy;
  const fs::path temporary = file.parent_path() / (file.filename().string() + "." + std::to_string(::getpid()) + "." +
                                                   std::to_string(entropy()) + ".partial");
  // 0600 from the moment the file exists: a chmod afterwards would leave a window in which
  // other users could read the private key.
  const int descriptor = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (descriptor < 0) {
    throw_key_file_error(file, "cannot be created: " + std::string(std::strerror(errno)), "a writable data directory");
  }
  try {
    write_all_and_sync(descriptor, pem, file);
  } catch (...) {
    ::close(descriptor);
    ::unlink(temporary.c_str());
    throw;
  }
  ::close(descriptor);
  // link() rather than rename(): both are atomic, but link refuses to replace an existing file,
  // so a key another process has just published (and maybe signed with) is never overwritten.
  const int link_result = ::link(temporary.c_str(), file.c_str());
  const int link_errno = errno;
  ::unlink(temporary.c_str());
  if (link_result != 0) {
    if (link_errno == EEXIST) return false;
    throw_key_file_error(file, "could not be put in place: " + std::string(std::strerror(link_errno)), "a writable data directory");
  }
  sync_directory(file.parent_path());
  return true;
}

EVP_PKEY* generate_ed25519_key() {
  EVP_PKEY* key = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
  if (key == nullptr) throw_openssl_failure("generating an Ed25519 key");
  return key;
}

// ----------------------------------------------------------------------------- verification

std::string encode_header(const std::string& key_id) {
  const json header = {{"alg", "EdDSA"}, {"typ", "vc+jwt"}, {"kid", key_id}};
  return base64url_encode(header.dump());
}

const json* member(const json& object, const char* name) {
  if (!object.is_object()) return nullptr;
  const auto found = object.find(name);
  return found == object.end() ? nullptr : &*found;
}

bool read_string(const json& object, const char* name, std::string& out) {
  const json* value = member(object, name);
  if (value == nullptr) return false;
  const auto* text = value->get_ptr<const std::string*>();
  if (text == nullptr) return false;
  out = *text;
  return true;
}

bool read_seconds(const json& object, const char* name, std::int64_t& out) {
  const json* value = member(object, name);
  if (value == nullptr) return false;
  if (value->is_number_unsigned()) {
    const auto seconds = value->get<std::uint64_t>();
    if (seconds > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) return false;
    out = static_cast<std::int64_t>(seconds);
    return true;
  }
  if (!value->is_number_integer()) return false;
  out = value->get<std::int64_t>();
  return true;
}

// The header of a JWS that is not byte-for-byte ours: parsed to tell a foreign key apart from
// garbage. Only reached for credentials this key did not sign (or re-serialised ones).
VerifyStatus check_foreign_header(const SigningKey& key, std::string_view encoded, std::string& scratch) {
  if (!base64url_decode(encoded, scratch)) return VerifyStatus::malformed;
  const json header = json::parse(scratch, nullptr, /*allow_exceptions=*/false);
  if (!header.is_object()) return VerifyStatus::malformed;
  std::string text;
  if (!read_string(header, "alg", text) || text != "EdDSA") return VerifyStatus::malformed;
  // Unknown critical extensions must be refused (RFC 7515 section 4.1.11); we know none.
  if (member(header, "crit") != nullptr) return VerifyStatus::malformed;
  if (!read_string(header, "kid", text)) return VerifyStatus::malformed;
  if (text != key.key_id()) return VerifyStatus::unknown_key;
  return VerifyStatus::valid;
}

VerifyStatus read_claims(const std::string& payload_json, CredentialClaims& claims) {
  const json payload = json::parse(payload_json, nullptr, /*allow_exceptions=*/false);
  if (!payload.is_object()) return VerifyStatus::malformed;
  std::string issuer;
  if (!read_string(payload, "iss", issuer) || issuer != kCredentialIssuer) return VerifyStatus::malformed;
  if (!read_string(payload, "jti", claims.id) || !read_string(payload, "sub", claims.holder) ||
      !read_seconds(payload, "iat", claims.issued_at) || !read_seconds(payload, "exp", claims.expires_at)) {
    return VerifyStatus::malformed;
  }
  const json* vc = member(payload, "vc");
  const json* subject = vc == nullptr ? nullptr : member(*vc, "credentialSubject");
  if (subject == nullptr || !read_string(*subject, "certificateType", claims.type)) return VerifyStatus::malformed;
  return VerifyStatus::valid;
}

}  // namespace

// ------------------------------------------------------------------------------- base64url API

std::string base64url_encode(std::string_view bytes) {
  std::string text;
  text.reserve((bytes.size() * 4 + 2) / 3);
  const auto* data = reinterpret_cast<const unsigned char*>(bytes.data());
  std::size_t index = 0;
  for (; index + 3 <= bytes.size(); index += 3) {
    const std::uint32_t group = (std::uint32_t{data[index]} << 16) | (std::uint32_t{data[index + 1]} << 8) | data[index + 2];
    text += kBase64UrlAlphabet[(group >> 18) & 63];
    text += kBase64UrlAlphabet[(group >> 12) & 63];
    text += kBase64UrlAlphabet[(group >> 6) & 63];
    text += kBase64UrlAlphabet[group & 63];
  }
  const std::size_t remaining = bytes.size() - index;
  if (remaining == 1) {
    const std::uint32_t group = std::uint32_t{data[index]} << 16;
    text += kBase64UrlAlphabet[(group >> 18) & 63];
    text += kBase64UrlAlphabet[(group >> 12) & 63];
  } else if (remaining == 2) {
    const std::uint32_t group = (std::uint32_t{data[index]} << 16) | (std::uint32_t{data[index + 1]} << 8);
    text += kBase64UrlAlphabet[(group >> 18) & 63];
    text += kBase64UrlAlphabet[(group >> 12) & 63];
    text += kBase64UrlAlphabet[(group >> 6) & 63];
  }
  return text;
}

bool base64url_decode(std::string_view text, std::string& out) {
  out.clear();
  if (text.size() % 4 == 1) return false;  // one leftover character cannot carry a whole byte
  out.reserve(text.size() / 4 * 3 + 2);
  std::uint32_t accumulator = 0;
  int bits = 0;
  for (const char character : text) {
    const std::uint8_t value = kDecodingTable[static_cast<unsigned char>(character)];
    if (value == kNotBase64) return false;
    accumulator = (accumulator << 6) | value;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((accumulator >> bits) & 0xFF);
    }
  }
  // Leftover bits must be zero; otherwise several texts would decode to the same bytes.
  return (accumulator & ((1u << bits) - 1)) == 0;
}

// ------------------------------------------------------------------------------- SigningKey

void SigningKey::KeyDeleter::operator()(evp_pkey_st* key) const noexcept { EVP_PKEY_free(key); }

SigningKey::SigningKey(KeyPointer key)
    : key_(std::move(key)), key_id_(key_id_of(key_.get())), encoded_header_(encode_header(key_id_)) {}

SigningKey::SigningKey(SigningKey&&) noexcept = default;
SigningKey& SigningKey::operator=(SigningKey&&) noexcept = default;
SigningKey::~SigningKey() = default;

SigningKey SigningKey::generate() { return SigningKey(KeyPointer(generate_ed25519_key())); }

SigningKey SigningKey::load_or_create(const fs::path& data_dir) {
  const fs::path file = data_dir / kKeyFileName;
  std::error_code error;
  fs::create_directories(data_dir, error);
  if (error) {
    throw InputError({data_dir.string(), 0, 0}, "", "cannot be created: " + error.message(), "a writable data directory");
  }
  if (!fs::exists(file, error)) {
    KeyPointer fresh(generate_ed25519_key());
    if (publish_new_key_file(file, private_key_pem(fresh.get()))) return SigningKey(std::move(fresh));
  }
  return SigningKey(KeyPointer(parse_private_key_pem(file, read_whole_file(file))));
}

// ------------------------------------------------------------------------ signing, verifying

std::string sign_credential(const SigningKey& key, const CredentialClaims& claims) {
  const json payload = {
      {"jti", claims.id},
      {"sub", claims.holder},
      {"iss", kCredentialIssuer},
      {"iat", claims.issued_at},
      {"exp", claims.expires_at},
      {"vc",
       {{"type", json::array({"VerifiableCredential", claims.type})},
        {"credentialSubject", {{"id", claims.holder}, {"certificateType", claims.type}}}}},
  };
  // Invalid UTF-8 in a holder or type is replaced (U+FFFD) rather than thrown: a signing
  // request must not fail on its text, and the credential states exactly what was signed.
  const std::string payload_json = payload.dump(-1, ' ', false, json::error_handler_t::replace);

  std::string compact;
  compact.reserve(key.encoded_header().size() + payload_json.size() * 4 / 3 + 100);
  compact += key.encoded_header();
  compact += '.';
  compact += base64url_encode(payload_json);

  MdContext context(EVP_MD_CTX_new());
  std::array<unsigned char, kEd25519SignatureSize> signature{};
  std::size_t signature_size = signature.size();
  // Ed25519 hashes internally: no digest is given, and signing is one-shot (EVP_DigestSign).
  if (!context || EVP_DigestSignInit(context.get(), nullptr, nullptr, nullptr, key.native_handle()) != 1 ||
      EVP_DigestSign(context.get(), signature.data(), &signature_size,
                     reinterpret_cast<const unsigned char*>(compact.data()), compact.size()) != 1) {
    throw_openssl_failure("signing a credential");
  }
  compact += '.';
  compact += base64url_encode(std::string_view(reinterpret_cast<const char*>(signature.data()), signature_size));
  return compact;
}

const char* to_string(VerifyStatus status) noexcept {
  switch (status) {
    case VerifyStatus::valid: return "valid";
    case VerifyStatus::malformed: return "malformed";
    case VerifyStatus::bad_signature: return "bad_signature";
    case VerifyStatus::unknown_key: return "unknown_key";
    case VerifyStatus::expired: return "expired";
    case VerifyStatus::not_yet_valid: return "not_yet_valid";
  }
  return "malformed";
}

Verification verify_credential(const SigningKey& key, std::string_view compact, std::int64_t now_unix_seconds) noexcept {
  Verification result;
  try {
    if (compact.empty() || compact.size() > kMaxCredentialLength || key.native_handle() == nullptr) return result;
    const std::size_t first_dot = compact.find('.');
    if (first_dot == std::string_view::npos) return result;
    const std::size_t second_dot = compact.find('.', first_dot + 1);
    if (second_dot == std::string_view::npos || compact.find('.', second_dot + 1) != std::string_view::npos) return result;

    const std::string_view encoded_header = compact.substr(0, first_dot);
    const std::string_view encoded_payload = compact.substr(first_dot + 1, second_dot - first_dot - 1);
    const std::string_view encoded_signature = compact.substr(second_dot + 1);
    // The signing input is the first two segments exactly as sent: a view, no copy.
    const std::string_view signing_input = compact.substr(0, second_dot);

    std::string decoded;  // reused for header, then signature, then payload
    // Our own credentials carry our header byte for byte: compare instead of parsing JSON.
    if (encoded_header != key.encoded_header()) {
      const VerifyStatus header_status = check_foreign_header(key, encoded_header, decoded);
      if (header_status != VerifyStatus::valid) {
        result.status = header_status;
        return result;
      }
    }

    std::array<unsigned char, kEd25519SignatureSize> signature{};
    if (!base64url_decode(encoded_signature, decoded) || decoded.size() != kEd25519SignatureSize) return result;
    std::memcpy(signature.data(), decoded.data(), signature.size());
    if (!base64url_decode(encoded_payload, decoded)) return result;

    MdContext context(EVP_MD_CTX_new());
    if (!context || EVP_DigestVerifyInit(context.get(), nullptr, nullptr, nullptr, key.native_handle()) != 1) {
      ERR_clear_error();
      return result;
    }
    const int verified = EVP_DigestVerify(context.get(), signature.data(), signature.size(),
                                          reinterpret_cast<const unsigned char*>(signing_input.data()), signing_input.size());
    if (verified != 1) {
      ERR_clear_error();  // a mismatch queues an error; don't let it pile up on server threads
      result.status = VerifyStatus::bad_signature;
      return result;
    }

    CredentialClaims claims;
    if (read_claims(decoded, claims) != VerifyStatus::valid) return result;
    claims.issuer_key_id = key.key_id();
    if (now_unix_seconds >= claims.expires_at) {
      result.status = VerifyStatus::expired;
    } else if (now_unix_seconds < claims.issued_at) {
      result.status = VerifyStatus::not_yet_valid;
    } else {
      result.status = VerifyStatus::valid;
    }
    result.claims = std::move(claims);
    return result;
  } catch (...) {
    // Only allocation failure can get here; the input itself never throws.
    return Verification{};
  }
}

}  // namespace uptake::ecert
