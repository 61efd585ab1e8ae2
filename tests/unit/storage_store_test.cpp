// storage::Store with real SQLCipher files: keys, wrong keys, backups, rotation.
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <thread>

#include <catch2/catch.hpp>

#include "storage/store.hpp"
#include "tests/support/catch_result.hpp"

using namespace durationd::storage;
namespace fs = std::filesystem;

namespace {

constexpr std::string_view kOldPass = "old passphrase, long enough";
constexpr std::string_view kNewPass = "new passphrase, also long enough";

constexpr Migration kNotesSchema[] = {{1, "CREATE TABLE notes(id INTEGER PRIMARY KEY, body TEXT NOT NULL)"}};

std::vector<DatabaseSpec> specs() {
  return {{"cache.db", kNotesSchema, {}}, {"timers.db", kNotesSchema, {}}};
}

struct TempStateDir {
  TempStateDir() {
    std::string pattern = (fs::temp_directory_path() / "durationd-store-XXXXXX").string();
    REQUIRE(::mkdtemp(pattern.data()) != nullptr);
    path = pattern;
  }
  ~TempStateDir() { fs::remove_all(path); }
  fs::path path;
};

std::unique_ptr<Store> open_store(const fs::path& dir, std::string_view pass) {
  auto store = Store::open({dir, 256'000, 2}, pass, specs());
  if (!store) FAIL(store.error().message);
  return std::move(*store);
}

void insert_notes(Store& store, std::string_view db, int count, std::string_view body) {
  auto c = store.pool(db).acquire();
  auto stmt = c->prepare("INSERT INTO notes(body) VALUES (?)");
  REQUIRE(stmt);
  for (int i = 0; i < count; ++i) {
    stmt->reset();
    stmt->bind(1, body);
    REQUIRE(stmt->run());
  }
}

std::int64_t count_notes(Store& store, std::string_view db) {
  auto c = store.pool(db).acquire();
  auto n = c->query_int("SELECT count(*) FROM notes");
  REQUIRE(n);
  return *n;
}

std::string file_bytes(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

TEST_CASE("store: a new state dir gets two encrypted databases that reopen with the passphrase") {
  TempStateDir dir;
  {
    auto store = open_store(dir.path, kOldPass);
    insert_notes(*store, "cache.db", 3, "hello");
    insert_notes(*store, "timers.db", 2, "world");
  }
  auto store = open_store(dir.path, kOldPass);
  CHECK(count_notes(*store, "cache.db") == 3);
  CHECK(count_notes(*store, "timers.db") == 2);
  // Each database has its own salt.
  CHECK(file_bytes(dir.path / "cache.db").substr(0, 16) != file_bytes(dir.path / "timers.db").substr(0, 16));
}

TEST_CASE("store: a wrong passphrase is a typed error naming the database, and writes nothing") {
  TempStateDir dir;
  { open_store(dir.path, kOldPass); }
  const std::string cache_before = file_bytes(dir.path / "cache.db");
  const std::string timers_before = file_bytes(dir.path / "timers.db");
  auto store = Store::open({dir.path, 256'000, 2}, kNewPass, specs());
  REQUIRE_FALSE(store);
  CHECK(store.error().code == Errc::wrong_key);
  CHECK(store.error().message.find(".db") != std::string::npos);
  CHECK(store.error().message.find("wrong key") != std::string::npos);
  CHECK(file_bytes(dir.path / "cache.db") == cache_before);
  CHECK(file_bytes(dir.path / "timers.db") == timers_before);
}

TEST_CASE("store: a wrong passphrase creates no missing database") {
  TempStateDir dir;
  { open_store(dir.path, kOldPass); }
  fs::remove(dir.path / "cache.db");
  auto store = Store::open({dir.path, 256'000, 2}, kNewPass, specs());
  REQUIRE_FALSE(store);
  CHECK_FALSE(fs::exists(dir.path / "cache.db"));
}

TEST_CASE("store: a plaintext database in the state dir is refused with a pointer to migrate") {
  TempStateDir dir;
  {
    auto plain = Connection::open_plaintext(dir.path / "cache.db", false);
    REQUIRE(plain);
    REQUIRE(plain->exec("CREATE TABLE t(x)"));
  }
  auto store = Store::open({dir.path, 256'000, 2}, kOldPass, specs());
  REQUIRE_FALSE(store);
  CHECK(store.error().code == Errc::plaintext);
  CHECK(store.error().message.find("durationd migrate") != std::string::npos);
}

TEST_CASE("store: no plaintext reaches any file of the state dir, and sqlite3 cannot read them") {
  TempStateDir dir;
  const std::string marker = "PLAINTEXT-MARKER-7f3a9c";
  auto store = open_store(dir.path, kOldPass);
  insert_notes(*store, "cache.db", 200, marker);
  insert_notes(*store, "timers.db", 200, marker);
  // The store stays open: the WAL still holds the rows.
  REQUIRE(fs::exists(dir.path / "cache.db-wal"));
  int files = 0;
  for (const auto& entry : fs::directory_iterator(dir.path)) {
    INFO(entry.path());
    ++files;
    CHECK(file_bytes(entry.path()).find(marker) == std::string::npos);
    CHECK(file_bytes(entry.path()).find("CREATE TABLE") == std::string::npos);
  }
  CHECK(files >= 4);
  for (const char* db : {"cache.db", "timers.db"}) {
    const std::string cmd = "sqlite3 '" + (dir.path / db).string() + "' 'SELECT count(*) FROM sqlite_master' 2>&1";
    FILE* p = ::popen(cmd.c_str(), "r");
    REQUIRE(p != nullptr);
    char buf[256] = {};
    const std::size_t n = std::fread(buf, 1, sizeof buf - 1, p);
    const int status = ::pclose(p);
    CHECK(status != 0);
    CHECK(std::string(buf, n).find("not a database") != std::string::npos);
  }
}

TEST_CASE("store: an online backup is consistent under concurrent writes, private, and opens with the passphrase") {
  TempStateDir dir;
  auto store = open_store(dir.path, kOldPass);
  insert_notes(*store, "cache.db", 100, "before");
  std::atomic<bool> stop = false;
  std::atomic<bool> writes_ok = true;  // Catch assertions are not thread-safe: report after join
  std::thread writer([&] {
    while (!stop) {
      auto c = store->pool("timers.db").acquire();
      auto tx = Transaction::begin(*c);
      bool ok = tx.has_value();
      for (int i = 0; ok && i < 10; ++i) ok = c->exec("INSERT INTO notes(body) VALUES ('during')").has_value();
      if (!ok || !tx->commit()) writes_ok = false;
    }
  });
  auto backup = store->backup(dir.path / "backups");
  stop = true;
  writer.join();
  CHECK(writes_ok);
  REQUIRE(backup);
  CHECK(backup->bytes > 0);
  struct stat st{};
  REQUIRE(::stat(backup->path.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0700);
  for (const char* db : {"cache.db", "timers.db"}) {
    REQUIRE(::stat((backup->path / db).c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);
  }
  auto restored = open_store(backup->path, kOldPass);
  CHECK(count_notes(*restored, "cache.db") == 100);
  CHECK(count_notes(*restored, "timers.db") % 10 == 0);  // whole transactions only
  auto c = restored->pool("timers.db").acquire();
  CHECK(c->query_text("PRAGMA integrity_check").value() == "ok");
}

TEST_CASE("store: key rotation re-encrypts every database under the new passphrase") {
  TempStateDir dir;
  {
    auto store = open_store(dir.path, kOldPass);
    insert_notes(*store, "cache.db", 5, "a");
    insert_notes(*store, "timers.db", 7, "b");
    auto rotated = store->rotate(kNewPass, dir.path / "backups");
    REQUIRE(rotated);
    CHECK(*rotated == std::vector<std::string>{"cache.db", "timers.db"});
    // Still serving, under the new keys.
    insert_notes(*store, "cache.db", 1, "after");
    CHECK(count_notes(*store, "cache.db") == 6);
  }
  CHECK(Store::open({dir.path, 256'000, 2}, kOldPass, specs()).error().code == Errc::wrong_key);
  auto store = open_store(dir.path, kNewPass);
  CHECK(count_notes(*store, "cache.db") == 6);
  CHECK(count_notes(*store, "timers.db") == 7);
  // The backup taken first is under the old passphrase.
  REQUIRE(fs::exists(dir.path / "backups"));
  const auto backup = fs::directory_iterator(dir.path / "backups")->path();
  auto old = open_store(backup, kOldPass);
  CHECK(count_notes(*old, "timers.db") == 7);
}

TEST_CASE("store: a rotation interrupted at any step leaves every database under exactly one key") {
  const std::vector<std::pair<std::string, bool>> steps{
      // step, whether the new passphrase is the one in force after recovery
      {"backup", false},         {"export:cache.db", false}, {"export:timers.db", false},
      {"marker", true},          {"rename:cache.db", true},  {"rename:timers.db", true},
  };
  for (const auto& [step, rolled_forward] : steps) {
    INFO("fault after " << step);
    TempStateDir dir;
    {
      auto store = open_store(dir.path, kOldPass);
      insert_notes(*store, "cache.db", 4, "x");
      insert_notes(*store, "timers.db", 6, "y");
      store->inject_rotation_fault(step);
      auto rotated = store->rotate(kNewPass, dir.path / "backups");
      REQUIRE_FALSE(rotated);
      CHECK(rotated.error().message.find("injected") != std::string::npos);
    }  // as if the process had died here
    const std::string_view in_force = rolled_forward ? kNewPass : kOldPass;
    const std::string_view other = rolled_forward ? kOldPass : kNewPass;
    {
      auto store = open_store(dir.path, in_force);
      CHECK(count_notes(*store, "cache.db") == 4);
      CHECK(count_notes(*store, "timers.db") == 6);
    }
    CHECK(Store::open({dir.path, 256'000, 2}, other, specs()).error().code == Errc::wrong_key);
    for (const auto& entry : fs::directory_iterator(dir.path))
      CHECK_FALSE(entry.path().string().ends_with(".rotating"));
    CHECK_FALSE(fs::exists(dir.path / "rotation.commit"));
  }
}

TEST_CASE("store: a newer schema than this build knows is refused") {
  TempStateDir dir;
  {
    auto store = open_store(dir.path, kOldPass);
    auto c = store->pool("cache.db").acquire();
    REQUIRE(c->exec("PRAGMA user_version = 99"));
  }
  auto store = Store::open({dir.path, 256'000, 2}, kOldPass, specs());
  REQUIRE_FALSE(store);
  CHECK(store.error().code == Errc::schema);
  CHECK(store.error().message.find("99") != std::string::npos);
}
