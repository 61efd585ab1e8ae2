// What protects a database file at rest: the key schedule (storage/database_key.hpp),
// pinned by known answers computed outside durationd, the salt each file carries, and
// SQLCipher's settings as storage::Connection applies them, down to a changed byte.
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <string>

#include "crypto/hex.hpp"
#include "storage/connection.hpp"
#include "storage/database_key.hpp"
#include "tests/support/catch_result.hpp"
#include "tests/support/temp_dir.hpp"

using namespace durationd;
using namespace durationd::storage;
using durationd::test::TempDir;

namespace {

constexpr std::string_view kPassphrase = "correct horse battery staple 2026";

Salt fixed_salt() {
  Salt salt;
  for (std::size_t i = 0; i < salt.size(); ++i) salt[i] = static_cast<std::byte>(0x10 + i);
  return salt;
}

// Test keys only: a real key is never turned into a std::string.
std::string hex_of(const crypto::SecretBytes& secret) {
  return crypto::to_hex(secret.span());
}

}  // namespace

TEST_CASE(
    "cipher: the key is PBKDF2-HMAC-SHA512 x 256,000, then HKDF-SHA256 per purpose, as known "
    "answers") {
  // python3: m = hashlib.pbkdf2_hmac("sha512", passphrase, salt, 256000, 32); the page key
  // and subkey are RFC 5869 HKDF-SHA256(ikm=m, salt=salt, info=purpose, L=32). `openssl kdf`
  // (PBKDF2, then HKDF) gives the same bytes.
  const auto key = derive_database_key(kPassphrase, fixed_salt(), 256'000);
  REQUIRE(key);
  CHECK(hex_of(key->master) == "8785a148648dacdbab47ca886132108bc934f3560423f45f7008c95538b9f1a3");
  CHECK(hex_of(key->page_key) ==
        "9994490ac4bfad0e093d65c7d1ce1c45d286a7e227b7a10ad611316e7a8a4372");
  const auto integrity = derive_subkey(*key, "durationd/v1/cache-integrity");
  REQUIRE(integrity);
  CHECK(hex_of(*integrity) == "da7cd35c3152e8b6af27959ca6b76d3c717c6aa7b550ef5dc2268c6608adfdce");

  // SQLCipher gets the page key and the salt as a raw key, so its own KDF never runs.
  CHECK(sqlcipher_key_literal(*key).view() ==
        "x'9994490ac4bfad0e093d65c7d1ce1c45d286a7e227b7a10ad611316e7a8a4372"
        "101112131415161718191a1b1c1d1e1f'");
}

TEST_CASE("cipher: a new database carries its salt in its first 16 bytes and opens by it") {
  TempDir dir;
  const auto path = dir / "cache.db";
  auto salt = new_salt();
  REQUIRE(salt);
  CHECK(*salt != new_salt().value());  // random, one per database
  {
    const auto key = derive_database_key(kPassphrase, *salt, 256'000);
    REQUIRE(key);
    auto c = Connection::open(path, *key, {.create = true, .wal = false});
    REQUIRE(c);
    REQUIRE(c->exec("CREATE TABLE t(x)"));
  }
  const auto probe = probe_database_file(path);
  REQUIRE(probe);
  CHECK(probe->kind == FileKind::kEncrypted);
  CHECK(probe->salt == *salt);
  const auto key = derive_database_key(kPassphrase, probe->salt, 256'000);
  REQUIRE(key);
  CHECK(Connection::prove_key(path, *key));
  const auto other = derive_database_key("another passphrase, long enough", probe->salt, 256'000);
  REQUIRE(other);
  CHECK(Connection::prove_key(path, *other).error().code == Errc::wrong_key);
}

TEST_CASE(
    "cipher: AES-256-CBC pages with an HMAC each: a byte changed on disk is an error, never "
    "altered data") {
  TempDir dir;
  const auto path = dir / "timers.db";
  const auto key = derive_database_key(kPassphrase, fixed_salt(), 256'000);
  REQUIRE(key);
  const std::string original(3000, 'A');  // one row on page 2, from about byte 1040 to its end
  {
    auto c = Connection::open(path, *key, {.create = true, .wal = false});
    REQUIRE(c);
    CHECK(c->query_text("PRAGMA cipher").value() == "AES-256-CBC");
    CHECK(c->query_int("PRAGMA cipher_use_hmac").value() == 1);
    CHECK(c->query_int("PRAGMA cipher_page_size").value() == 4096);
    REQUIRE(c->exec("CREATE TABLE t(v BLOB)"));
    auto insert = c->prepare("INSERT INTO t VALUES (?1)");
    REQUIRE(insert);
    insert->bind_blob(1, std::as_bytes(std::span(original.data(), original.size())));
    REQUIRE(insert->run());
  }
  REQUIRE(std::filesystem::file_size(path) == 2 * 4096);
  {
    // One bit in the middle of page 2: in CBC mode this garbles one 16-byte block of the
    // row and flips one bit of the next, which only the page's HMAC can notice.
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    f.seekg(4096 + 2048);
    const char byte = static_cast<char>(f.get());
    f.seekp(4096 + 2048);
    f.put(static_cast<char>(byte ^ 0x01));
  }
  auto c = Connection::open(path, *key, {.create = false, .wal = false});
  REQUIRE(c);  // page 1 is intact
  auto select = c->prepare("SELECT v FROM t");
  REQUIRE(select);
  const auto row = select->step();
  CHECK_FALSE(row);
  if (row && *row)
    CHECK(std::string(reinterpret_cast<const char*>(select->column_blob(0).data()),
                      select->column_blob(0).size()) == original);
}
