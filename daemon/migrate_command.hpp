// `durationd migrate` and `durationd inspect` (protocol.md, "Command lines"): the
// command-line edge of storage/plaintext_migration.hpp and storage/inspection.hpp. The
// passphrase comes from the same sources as the daemon's (crypto::load_passphrase).
#pragma once

#include <string>

#include "daemon/options.hpp"
#include "storage/inspection.hpp"

namespace durationd::app {

// Encrypts each of options.files in place, in order. Per file, one line: on stdout
// "migrated F (3 tables, 1204 rows; backup F.plaintext-backup-...)" or
// "F: already encrypted"; on stderr the reason it failed. Progress of large files goes
// to stderr. Returns 0 when every file ends up encrypted, 1 otherwise (also when no key
// can be loaded, in which case no file is touched).
int run_migrate(const Options& options);

// Prints the JSON object of render_inspect_json() for the encrypted database
// options.files[0] and returns 0. Cannot open it (wrong key, plaintext, missing): nothing
// on stdout, one line on stderr, 1. Integrity check finds damage: the JSON, one line on
// stderr, 1.
int run_inspect(const Options& options);

// One JSON object, on one line:
// {"tables":{"<name>":<rows>,...},"indexes":[...],"views":[...],"triggers":[...],
//  "integrity":"ok","user_version":N,"encrypted":true,
//  "cipher":"aes-256-cbc","cipher_version":"3.4.1","page_size":4096,
//  "kdf":"pbkdf2-hmac-sha512","kdf_iter":256000,"journal_mode":"delete"}
std::string render_inspect_json(const storage::InspectReport& report);

}  // namespace durationd::app
