// `durationd migrate` and `durationd inspect` (protocol.md, "Command lines") run as real
// processes on databases made by the real sqlite3 CLI.
#include <sys/stat.h>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <catch2/catch.hpp>
#include <fstream>
#include <set>

#include "daemon_process.hpp"
#include "tests/support/file_facts.hpp"

using namespace durationd::test;
namespace fs = std::filesystem;

namespace {

constexpr const char* kSqlite3 = "/usr/bin/sqlite3";
constexpr std::string_view kPassphrase = "a passphrase of more than sixteen bytes";

// Tables with an index, a view, a trigger, blobs, NULLs, a WITHOUT ROWID table and a
// user_version, as a real application's database might have.
constexpr const char* kFrameworkSql = R"sql(
  CREATE TABLE projects(id INTEGER PRIMARY KEY, name TEXT NOT NULL, icon BLOB);
  INSERT INTO projects VALUES (1, 'alpha', x'00ff00ff'), (2, 'beta', NULL), (3, 'gamma', x'');
  CREATE TABLE sessions(id INTEGER PRIMARY KEY, project INTEGER, minutes REAL, note TEXT);
  INSERT INTO sessions VALUES (1, 1, 25.0, NULL), (2, 1, 50.5, 'deep work'), (3, 2, NULL, NULL), (4, 3, 5, '');
  CREATE TABLE settings(key TEXT PRIMARY KEY, value) WITHOUT ROWID;
  INSERT INTO settings VALUES ('theme', 'dark'), ('volume', 3), ('blob', x'deadbeef');
  CREATE TABLE log(entry TEXT);
  CREATE INDEX sessions_project ON sessions(project);
  CREATE VIEW project_minutes AS SELECT project, sum(minutes) AS total FROM sessions GROUP BY project;
  CREATE TRIGGER sessions_log AFTER INSERT ON sessions BEGIN INSERT INTO log VALUES ('added'); END;
  PRAGMA user_version = 7;
)sql";

struct Files {
  TempDir dir;
  fs::path db = dir.path() / "framework.db";
  fs::path key = dir.path() / "durationd.key";
};

void write_key_file(const fs::path& path, std::string_view passphrase, mode_t mode) {
  std::ofstream(path) << passphrase << "\n";
  REQUIRE(::chmod(path.c_str(), mode) == 0);
}

void make_plaintext(const fs::path& db, const char* sql) {
  const auto r = run_command({kSqlite3, db.string(), sql});
  INFO(r.stderr_text);
  REQUIRE(r.exit_code == 0);
}

struct Run {
  ExitResult result;
  std::string out;
};

Run run_durationd(std::vector<std::string> args) {
  args.insert(args.begin(), DURATIOND_BINARY);
  Run run;
  run.result = run_command(args, {}, &run.out);
  return run;
}

Run migrate(const Files& f) {
  return run_durationd({"migrate", "--key-file", f.key.string(), f.db.string()});
}

std::size_t line_count(const std::string& text) {
  return static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n'));
}

// The backup's path, from "migrated F (N tables, M rows; backup B)".
fs::path backup_named_in(const std::string& out) {
  const auto from = out.find("; backup ");
  const auto to = out.rfind(")");
  REQUIRE(from != std::string::npos);
  REQUIRE(to != std::string::npos);
  return out.substr(from + 9, to - from - 9);
}

boost::json::object inspect_json(const Files& f) {
  const Run run = run_durationd({"inspect", "--key-file", f.key.string(), f.db.string()});
  INFO(run.result.stderr_text);
  REQUIRE(run.result.exit_code == 0);
  REQUIRE(line_count(run.out) == 1);
  return boost::json::parse(run.out).as_object();
}

}  // namespace

TEST_CASE(
    "migrate encrypts a plaintext database in place, keeps a 0600 backup, and inspect reads it") {
  Files f;
  write_key_file(f.key, kPassphrase, 0600);
  make_plaintext(f.db, kFrameworkSql);
  const std::string original = read_file(f.db);

  const Run run = migrate(f);
  INFO(run.result.stderr_text);
  REQUIRE(run.result.exit_code == 0);
  CHECK(run.result.stderr_text.empty());
  CHECK_THAT(run.out,
             Catch::StartsWith("migrated " + f.db.string() + " (4 tables, 10 rows; backup " +
                               f.db.string() + ".plaintext-backup-"));
  CHECK(line_count(run.out) == 1);

  const fs::path backup = backup_named_in(run.out);
  CHECK(read_file(backup) == original);
  CHECK(mode_of(backup) == 0600);
  CHECK(mode_of(f.db) == 0600);
  CHECK(names_in(f.dir.path()) ==
        std::set<std::string>{"framework.db", "durationd.key", backup.filename().string()});

  const auto plain_cli =
      run_command({kSqlite3, f.db.string(), "SELECT count(*) FROM sqlite_master"});
  CHECK(plain_cli.exit_code != 0);
  CHECK_THAT(plain_cli.stderr_text, Catch::Contains("file is not a database"));

  const boost::json::object report = inspect_json(f);
  CHECK(report.at("tables") ==
        boost::json::parse(R"({"log":0,"projects":3,"sessions":4,"settings":3})"));
  CHECK(report.at("integrity") == "ok");
  CHECK(report.at("user_version") == 7);
  CHECK(report.at("encrypted") == true);
  CHECK(report.at("page_size") == 4096);
  CHECK(report.at("kdf") == "pbkdf2-hmac-sha512");
  CHECK(report.at("kdf_iter") == 256000);
  CHECK(report.at("indexes") == boost::json::parse(R"(["sessions_project"])"));
  CHECK(report.at("views") == boost::json::parse(R"(["project_minutes"])"));
  CHECK(report.at("triggers") == boost::json::parse(R"(["sessions_log"])"));

  SECTION("a second migrate says it is already encrypted and changes nothing") {
    const std::string encrypted = read_file(f.db);
    const Run again = migrate(f);
    INFO(again.result.stderr_text);
    CHECK(again.result.exit_code == 0);
    CHECK(again.out == f.db.string() + ": already encrypted\n");
    CHECK(read_file(f.db) == encrypted);
  }

  SECTION("inspect with a wrong key prints nothing on stdout and one clear line on stderr") {
    const fs::path wrong_key = f.dir.path() / "wrong.key";
    write_key_file(wrong_key, "not the passphrase that was used", 0600);
    const Run wrong = run_durationd({"inspect", "--key-file", wrong_key.string(), f.db.string()});
    CHECK(wrong.result.exit_code != 0);
    CHECK(wrong.out.empty());
    CHECK(line_count(wrong.result.stderr_text) == 1);
    CHECK_THAT(wrong.result.stderr_text,
               Catch::Contains(f.db.string()) && Catch::Contains("wrong key"));
    CHECK_THAT(wrong.result.stderr_text, !Catch::Contains("not the passphrase"));
  }
}

TEST_CASE("migrate with a key file readable by others is refused and touches nothing") {
  Files f;
  write_key_file(f.key, kPassphrase, 0644);
  make_plaintext(f.db, kFrameworkSql);
  const std::string original = read_file(f.db);

  const Run run = migrate(f);
  CHECK(run.result.exit_code != 0);
  CHECK(run.out.empty());
  CHECK(line_count(run.result.stderr_text) == 1);
  CHECK_THAT(run.result.stderr_text, Catch::Contains("0644"));
  CHECK(read_file(f.db) == original);
  CHECK(names_in(f.dir.path()) == std::set<std::string>{"framework.db", "durationd.key"});
}

TEST_CASE(
    "migrate: a failure while encrypting leaves the original byte-identical and nothing beside "
    "it") {
  Files f;
  write_key_file(f.key, kPassphrase, 0600);
  // 512-byte pages: a file size limit equal to the original's lets the backup be written
  // but not the encrypted copy, whose pages are 4096 bytes. A real EFBIG, no test hook.
  make_plaintext(
      f.db,
      "PRAGMA page_size = 512; CREATE TABLE a(x); CREATE TABLE b(y); CREATE INDEX ia ON a(x);"
      "INSERT INTO a VALUES (1), (2); INSERT INTO b VALUES (x'00ff');");
  const std::string original = read_file(f.db);
  REQUIRE(original.size() % 512 == 0);

  const std::string limited = "trap '' XFSZ; ulimit -f " + std::to_string(original.size() / 512) +
                              " && exec \"$0\" migrate --key-file \"$1\" \"$2\"";
  std::string out;
  const auto r = run_command(
      {"/bin/sh", "-c", limited, DURATIOND_BINARY, f.key.string(), f.db.string()}, {}, &out);
  CHECK(r.exit_code == 1);
  CHECK(out.empty());
  CHECK(line_count(r.stderr_text) == 1);
  CHECK_THAT(r.stderr_text, Catch::Contains(f.db.string() + ": encrypt: "));
  CHECK(read_file(f.db) == original);
  CHECK(names_in(f.dir.path()) == std::set<std::string>{"framework.db", "durationd.key"});
}

TEST_CASE(
    "migrate goes through every file, reports each on its own line, and fails if any failed") {
  Files f;
  const fs::path second = f.dir.path() / "second.db";
  const fs::path missing = f.dir.path() / "missing.db";
  make_plaintext(f.db, kFrameworkSql);
  make_plaintext(second, "CREATE TABLE t(x); INSERT INTO t VALUES (1);");

  std::string out;
  // The key from the environment this time, the daemon's third source.
  const auto r =
      run_command({DURATIOND_BINARY, "migrate", f.db.string(), missing.string(), second.string()},
                  {{"DURATIOND_KEY", std::string(kPassphrase)}}, &out);
  CHECK(r.exit_code == 1);
  CHECK_THAT(out, Catch::Contains("migrated " + f.db.string() + " (4 tables, 10 rows; backup "));
  CHECK_THAT(out, Catch::Contains("migrated " + second.string() + " (1 table, 1 row; backup "));
  CHECK(line_count(out) == 2);
  CHECK(line_count(r.stderr_text) == 1);
  CHECK_THAT(r.stderr_text, Catch::Contains(missing.string() + ": no such file"));
  CHECK_FALSE(fs::exists(missing));
}

TEST_CASE("inspect refuses a plaintext database with one line on stderr") {
  Files f;
  write_key_file(f.key, kPassphrase, 0600);
  make_plaintext(f.db, kFrameworkSql);
  const Run run = run_durationd({"inspect", "--key-file", f.key.string(), f.db.string()});
  CHECK(run.result.exit_code != 0);
  CHECK(run.out.empty());
  CHECK(line_count(run.result.stderr_text) == 1);
  CHECK_THAT(run.result.stderr_text, Catch::Contains("plaintext"));
}
