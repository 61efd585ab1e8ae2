// storage::migrate_plaintext_database and storage::inspect_database on real files.
// Every key derivation costs ~0.2 s (the KDF policy refuses fewer than 256,000
// iterations), so each test derives as few keys as it can.
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <csignal>
#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>

#include "crypto/digest.hpp"
#include "storage/connection.hpp"
#include "storage/database_key.hpp"
#include "storage/inspection.hpp"
#include "storage/plaintext_migration.hpp"
#include "tests/support/catch_result.hpp"
#include "tests/support/file_facts.hpp"

using namespace durationd::storage;
namespace fs = std::filesystem;

using durationd::test::mode_of;
using durationd::test::names_in;

namespace {

constexpr std::string_view kPass = "migration passphrase, long enough";
constexpr std::string_view kOtherPass = "another passphrase, long enough";
constexpr std::uint32_t kIterations = durationd::crypto::kKdfIterations;

// Several tables (one WITHOUT ROWID, one with rowid gaps, two whose rowid names are taken
// by columns), an index, a view, a trigger, blobs, NULLs, header values.
constexpr std::string_view kRichSchema = R"sql(
  CREATE TABLE notes(id INTEGER PRIMARY KEY, body TEXT, data BLOB, score REAL);
  INSERT INTO notes VALUES (1, 'one', x'00ff00', 1.5), (2, NULL, x'', NULL), (3, 'three', NULL, -0.25);
  CREATE TABLE loose(a, b);
  INSERT INTO loose VALUES (1, 'x'), (2, 'y'), (3, 'z'), (4, 'w');
  DELETE FROM loose WHERE a = 2;
  CREATE TABLE kv(k TEXT PRIMARY KEY, v) WITHOUT ROWID;
  INSERT INTO kv VALUES ('b', x'0102'), ('a', 1), ('c', NULL);
  CREATE TABLE shadowed(rowid TEXT, v);
  INSERT INTO shadowed VALUES ('r1', 1), ('r2', 2);
  CREATE TABLE hidden(rowid, _rowid_, oid);
  INSERT INTO hidden VALUES (1, 2, 3), (1, 2, 3), (4, 5, 6);
  CREATE TABLE audit(id INTEGER PRIMARY KEY AUTOINCREMENT, note_id INTEGER);
  CREATE INDEX notes_body ON notes(body);
  CREATE VIEW named_notes AS SELECT id, body FROM notes WHERE body IS NOT NULL;
  CREATE TRIGGER notes_audit AFTER INSERT ON notes BEGIN INSERT INTO audit(note_id) VALUES (new.id); END;
  PRAGMA user_version = 7;
  PRAGMA application_id = 42;
)sql";

struct TempDir {
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "durationd-migrate-XXXXXX").string();
    REQUIRE(::mkdtemp(pattern.data()) != nullptr);
    path = pattern;
  }
  ~TempDir() { fs::remove_all(path); }
  fs::path path;
};

void make_plaintext(const fs::path& path, std::string_view sql) {
  auto c = Connection::open_plaintext(path, /*read_only=*/false);
  REQUIRE(c);
  REQUIRE(c->exec(sql));
}

std::string file_bytes(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// Opens a migrated file as the daemon would: the passphrase and the salt in its header.
Connection open_encrypted(const fs::path& path, std::string_view pass) {
  auto probe = probe_database_file(path);
  REQUIRE(probe);
  REQUIRE(probe->kind == FileKind::kEncrypted);
  auto key = derive_database_key(pass, probe->salt, kIterations);
  REQUIRE(key);
  auto c = Connection::open(path, *key, {.create = false, .wal = false});
  REQUIRE(c);
  return std::move(*c);
}

std::string text_of(Connection& c, std::string_view sql) {
  auto r = c.query_text(sql);
  REQUIRE(r);
  return *r;
}

std::int64_t int_of(Connection& c, std::string_view sql) {
  auto r = c.query_int(sql);
  REQUIRE(r);
  return *r;
}

Result<MigrationReport> migrate(const fs::path& path) {
  return migrate_plaintext_database(path, kPass, kIterations, {});
}

// Ignores SIGXFSZ and caps the size of files this process writes, for one scope: a
// real "file too large" failure, with no test hook in the code under test.
class FileSizeLimit {
 public:
  explicit FileSizeLimit(rlim_t bytes) {
    REQUIRE(::getrlimit(RLIMIT_FSIZE, &saved_) == 0);
    saved_handler_ = std::signal(SIGXFSZ, SIG_IGN);
    const rlimit limit{bytes, saved_.rlim_max};
    REQUIRE(::setrlimit(RLIMIT_FSIZE, &limit) == 0);
  }
  ~FileSizeLimit() {
    ::setrlimit(RLIMIT_FSIZE, &saved_);
    std::signal(SIGXFSZ, saved_handler_);
  }
  FileSizeLimit(const FileSizeLimit&) = delete;
  FileSizeLimit& operator=(const FileSizeLimit&) = delete;

 private:
  rlimit saved_{};
  void (*saved_handler_)(int) = nullptr;
};

}  // namespace

TEST_CASE(
    "migrate: a plaintext database becomes encrypted with the same schema, rows and header "
    "values") {
  TempDir dir;
  const fs::path db = dir.path / "framework.db";
  make_plaintext(db, kRichSchema);
  const std::string original = file_bytes(db);

  int progress_calls = 0;
  const auto report = migrate_plaintext_database(db, kPass, kIterations,
                                                 [&](std::string_view, int) { ++progress_calls; });
  REQUIRE(report);
  CHECK(report->outcome == MigrationOutcome::kMigrated);
  CHECK(report->tables == 6);  // sqlite_sequence is SQLite's, not the user's
  CHECK(report->rows == 3 + 3 + 3 + 2 + 3 + 0);
  CHECK(progress_calls == 0);  // a small file finishes too soon for progress

  SECTION("the backup is the original, byte for byte, mode 0600, and nothing else is left") {
    CHECK(report->backup.parent_path() == dir.path);
    CHECK(report->backup.filename().string().starts_with("framework.db.plaintext-backup-"));
    CHECK(file_bytes(report->backup) == original);
    CHECK(mode_of(report->backup) == 0600);
    CHECK(mode_of(db) == 0600);
    CHECK(names_in(dir.path) ==
          std::set<std::string>{"framework.db", report->backup.filename().string()});
    CHECK(file_bytes(db).substr(0, 16) != std::string("SQLite format 3\0", 16));
  }

  SECTION("it opens with the passphrase alone and holds the same things") {
    Connection c = open_encrypted(db, kPass);
    CHECK(text_of(c, "PRAGMA integrity_check") == "ok");
    CHECK(int_of(c, "PRAGMA user_version") == 7);
    CHECK(int_of(c, "PRAGMA application_id") == 42);
    CHECK(
        int_of(c,
               "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name = 'notes_body'") ==
        1);
    CHECK(
        int_of(c,
               "SELECT count(*) FROM sqlite_master WHERE type = 'view' AND name = 'named_notes'") ==
        1);
    CHECK(
        int_of(
            c,
            "SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND name = 'notes_audit'") ==
        1);
    CHECK(text_of(c, "SELECT hex(data) FROM notes WHERE id = 1") == "00FF00");
    CHECK(text_of(c, "SELECT typeof(data) FROM notes WHERE id = 2") == "blob");
    CHECK(text_of(c, "SELECT typeof(body) FROM notes WHERE id = 2") == "null");
    CHECK(text_of(c, "SELECT group_concat(rowid) FROM loose") == "1,3,4");  // rowids kept, gaps too
    CHECK(text_of(c, "SELECT group_concat(k) FROM kv") == "a,b,c");
    CHECK(int_of(c, "SELECT count(*) FROM named_notes") == 2);
    REQUIRE(c.exec("INSERT INTO notes(id, body) VALUES (4, 'four')"));
    CHECK(int_of(c, "SELECT note_id FROM audit") == 4);  // the trigger came along and fires
  }

  SECTION("inspect reports its tables, row counts and integrity") {
    const auto inspected = inspect_database(db, kPass, kIterations);
    REQUIRE(inspected);
    std::vector<std::pair<std::string, std::int64_t>> tables;
    for (const auto& t : inspected->tables) tables.emplace_back(t.name, t.rows);
    CHECK(tables ==
          std::vector<std::pair<std::string, std::int64_t>>{
              {"audit", 0}, {"hidden", 3}, {"kv", 3}, {"loose", 3}, {"notes", 3}, {"shadowed", 2}});
    CHECK(inspected->integrity == "ok");
    CHECK(inspected->user_version == 7);
    CHECK(inspected->page_size == 4096);
    CHECK(inspected->indexes == std::vector<std::string>{"notes_body"});
    CHECK(inspected->views == std::vector<std::string>{"named_notes"});
    CHECK(inspected->triggers == std::vector<std::string>{"notes_audit"});
  }
}

TEST_CASE(
    "migrate: an encrypted file is left byte-identical: reported if the key opens it, an error if "
    "not") {
  TempDir dir;
  const fs::path db = dir.path / "cache.db";
  make_plaintext(db, "CREATE TABLE t(x); INSERT INTO t VALUES (1);");
  REQUIRE(migrate(db));
  const std::string encrypted = file_bytes(db);
  const auto names = names_in(dir.path);

  const auto again = migrate(db);
  REQUIRE(again);
  CHECK(again->outcome == MigrationOutcome::kAlreadyEncrypted);
  CHECK(file_bytes(db) == encrypted);

  const auto other = migrate_plaintext_database(db, kOtherPass, kIterations, {});
  REQUIRE_FALSE(other);
  CHECK(other.error().code == Errc::wrong_key);
  CHECK_THAT(other.error().message, Catch::Contains(db.string()) && Catch::Contains("left alone"));
  CHECK(file_bytes(db) == encrypted);
  CHECK(names_in(dir.path) == names);
}

TEST_CASE("migrate: a WAL database's frames not yet checkpointed are carried over") {
  TempDir dir;
  const fs::path db = dir.path / "wal.db";
  auto writer = Connection::open_plaintext(db, /*read_only=*/false);
  REQUIRE(writer);
  REQUIRE(writer->exec(
      "PRAGMA journal_mode = WAL; CREATE TABLE t(x); INSERT INTO t VALUES (1), (2), (3);"));
  REQUIRE(fs::file_size(dir.path / "wal.db-wal") > 0);  // the rows are in the WAL only

  const auto report = migrate(db);
  REQUIRE(report);
  CHECK(report->rows == 3);
  // Stale companions of the plaintext file are gone, even with the writer still open.
  CHECK(names_in(dir.path) == std::set<std::string>{"wal.db", report->backup.filename().string()});
  *writer = Connection();
  CHECK(names_in(dir.path) == std::set<std::string>{"wal.db", report->backup.filename().string()});

  Connection c = open_encrypted(db, kPass);
  CHECK(int_of(c, "SELECT sum(x) FROM t") == 6);
  auto backup = Connection::open_plaintext(report->backup, /*read_only=*/true);
  REQUIRE(backup);
  CHECK(int_of(*backup, "SELECT sum(x) FROM t") == 6);
}

TEST_CASE(
    "migrate: a failure while encrypting leaves the original as it was and nothing beside it") {
  TempDir dir;
  const fs::path db = dir.path / "small-pages.db";
  // 512-byte pages: the backup fits under a limit of the original's size, the encrypted
  // copy (4096-byte pages) does not, so the failure comes after the backup was written.
  make_plaintext(
      db,
      "PRAGMA page_size = 512; CREATE TABLE a(x); CREATE TABLE b(x); CREATE INDEX ia ON a(x);"
      "INSERT INTO a VALUES (1); INSERT INTO b VALUES (x'00ff');");
  const std::string original = file_bytes(db);

  Result<MigrationReport> report = Error{};
  {
    FileSizeLimit limit(original.size());
    report = migrate(db);
  }
  REQUIRE_FALSE(report);
  CHECK((report.error().code == Errc::full || report.error().code == Errc::io));
  CHECK_THAT(report.error().message, Catch::StartsWith(db.string() + ": encrypt: "));
  CHECK(file_bytes(db) == original);
  CHECK(names_in(dir.path) == std::set<std::string>{"small-pages.db"});
}

TEST_CASE("migrate: refuses what it cannot migrate safely, leaving it alone") {
  TempDir dir;
  const fs::path db = dir.path / "notes.db";
  std::string expected_error;
  Errc expected_code = Errc::io;

  SECTION("a missing file") {
    expected_error = "no such file";
  }
  SECTION("an empty file") {
    std::ofstream(db).close();
    expected_error = "not a database";
    expected_code = Errc::corrupt;
  }
  SECTION("a symbolic link") {
    make_plaintext(dir.path / "real.db", "CREATE TABLE t(x)");
    fs::create_symlink(dir.path / "real.db", db);
    expected_error = "symbolic link";
  }
  SECTION("a file with a second hard link") {
    make_plaintext(db, "CREATE TABLE t(x)");
    fs::create_hard_link(db, dir.path / "other-name.db");
    expected_error = "hard links";
  }
  SECTION("a damaged database") {
    make_plaintext(db, "CREATE TABLE t(x); INSERT INTO t VALUES (1);");
    REQUIRE(fs::file_size(db) == 2 * 4096);
    // The first byte of page 2 (t's root) is its b-tree page type: make it invalid.
    std::fstream f(db, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(4096);
    f.put('\x7f');
    f.close();
    expected_error = "fails PRAGMA integrity_check";
    expected_code = Errc::corrupt;
  }

  const auto names = names_in(dir.path);
  const std::string before = fs::exists(db) ? file_bytes(db) : "";
  const auto r = migrate(db);
  REQUIRE_FALSE(r);
  CHECK(r.error().code == expected_code);
  CHECK_THAT(r.error().message, Catch::Contains(db.string()) && Catch::Contains(expected_error));
  CHECK((fs::exists(db) ? file_bytes(db) : "") == before);
  CHECK(names_in(dir.path) == names);
}

TEST_CASE("migrate: a large file reports progress for each stage, in 10% steps") {
  TempDir dir;
  const fs::path db = dir.path / "large.db";
  make_plaintext(db,
                 "CREATE TABLE b(x); WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM "
                 "n WHERE i < 80)"
                 " INSERT INTO b SELECT randomblob(65536) FROM n;");
  REQUIRE(fs::file_size(db) >= kProgressMinBytes);

  std::vector<std::pair<std::string, int>> calls;
  const auto report = migrate_plaintext_database(
      db, kPass, kIterations,
      [&](std::string_view stage, int percent) { calls.emplace_back(stage, percent); });
  REQUIRE(report);
  for (const std::string stage : {"backing up", "encrypting", "verifying"}) {
    std::vector<int> percents;
    for (const auto& [s, p] : calls)
      if (s == stage) percents.push_back(p);
    INFO(stage);
    REQUIRE_FALSE(percents.empty());
    CHECK(std::is_sorted(percents.begin(), percents.end()));
    CHECK(std::adjacent_find(percents.begin(), percents.end()) == percents.end());
    CHECK(percents.back() == 100);
    for (const int p : percents) CHECK(p % 10 == 0);
  }
}

TEST_CASE(
    "inspect: a wrong key, a plaintext file and a missing file are clear errors naming the file") {
  TempDir dir;
  const fs::path db = dir.path / "timers.db";
  {
    auto salt = new_salt();
    REQUIRE(salt);
    auto key = derive_database_key(kPass, *salt, kIterations);
    REQUIRE(key);
    auto c = Connection::open(db, *key, {.create = true, .wal = false});
    REQUIRE(c);
    REQUIRE(c->exec("CREATE TABLE t(x)"));
  }
  const auto wrong = inspect_database(db, kOtherPass, kIterations);
  REQUIRE_FALSE(wrong);
  CHECK(wrong.error().code == Errc::wrong_key);
  CHECK_THAT(wrong.error().message, Catch::Contains(db.string()));

  const fs::path plain = dir.path / "plain.db";
  make_plaintext(plain, "CREATE TABLE t(x)");
  const auto plaintext = inspect_database(plain, kPass, kIterations);
  REQUIRE_FALSE(plaintext);
  CHECK(plaintext.error().code == Errc::plaintext);
  CHECK_THAT(plaintext.error().message, Catch::Contains(plain.string()));

  const auto missing = inspect_database(dir.path / "none.db", kPass, kIterations);
  REQUIRE_FALSE(missing);
  CHECK_THAT(missing.error().message, Catch::Contains("none.db"));
}
