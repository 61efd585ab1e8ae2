// Crash consistency (issue #9): cycle after cycle, writers of several uids make durable
// cache puts and timer writes while the daemon is killed with SIGKILL at a random moment.
// After each kill both databases must pass `PRAGMA integrity_check` (through `durationd
// inspect`), and after each restart every write any writer saw acknowledged, in any
// earlier cycle, must be there.
//
// The writers are forked children of this test, each switched to its uid, each printing
// one line per acknowledged write on a pipe: what was acknowledged is exactly what the
// ledger holds, whatever the moment of the kill.
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "daemon_process.hpp"
#include "ipc/client.hpp"
#include "raw_connection.hpp"
#include "request_args.hpp"

using namespace durationd;
using namespace durationd::test;
using namespace std::chrono_literals;
namespace json = boost::json;

namespace {

constexpr int kCycles = 10;
const std::vector<uid_t> kUids{0, 65534, 65533};

// A forked child running `body` as `uid` (0: stays root); what it writes to its FILE*
// arrives on a pipe this side reads. Forked only while this test runs no other thread.
class Child {
 public:
  Child(uid_t uid, const std::function<void(std::FILE*)>& body) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) throw std::system_error(errno, std::generic_category(), "pipe2");
    pid_ = ::fork();
    if (pid_ < 0) throw std::system_error(errno, std::generic_category(), "fork");
    if (pid_ == 0) {
      ::close(fds[0]);
      if (uid != 0 && (::setgroups(0, nullptr) != 0 || ::setresgid(uid, uid, uid) != 0 ||
                       ::setresuid(uid, uid, uid) != 0))
        ::_exit(90);
      std::FILE* out = ::fdopen(fds[1], "w");
      int code = 0;
      try {
        body(out);
      } catch (...) {
        code = 91;
      }
      std::fflush(out);
      ::_exit(code);
    }
    ::close(fds[1]);
    fd_ = fds[0];
    ::fcntl(fd_, F_SETFL, O_NONBLOCK);
  }
  ~Child() {
    if (fd_ >= 0) ::close(fd_);
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  int fd() const { return fd_; }
  // Reads what the pipe holds now; false at end of file.
  bool drain() {
    char buf[4096];
    for (;;) {
      const ssize_t n = ::read(fd_, buf, sizeof buf);
      if (n > 0) {
        text.append(buf, static_cast<std::size_t>(n));
      } else if (n == 0) {
        return false;
      } else {
        return errno == EAGAIN || errno == EINTR;
      }
    }
  }
  // Reads to the end and reaps the child; its exit code.
  int finish() {
    while (drain()) {
      pollfd p{fd_, POLLIN, 0};
      ::poll(&p, 1, 1000);
    }
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }
  std::string text;

 private:
  pid_t pid_ = -1;
  int fd_ = -1;
};

using Args = RequestArgs;

json::object result_of(const ipc::Response& r) { return json::parse(result_json(r)).as_object(); }

// Durable puts of key <prefix><n> = n, one line "C <key> <n>" per acknowledgement, until
// the daemon goes away.
void write_cache(const std::filesystem::path& socket, const std::string& prefix, std::FILE* out) {
  try {
    ipc::Client c(socket, 5s);
    for (std::uint64_t n = 0;; ++n) {
      const std::string key = prefix + std::to_string(n);
      if (!call(c, "cache.put", Args().str("key", key).uint("value", n).boolean("durable", true)).ok) return;
      std::fprintf(out, "C %s %llu\n", key.c_str(), static_cast<unsigned long long>(n));
      std::fflush(out);
    }
  } catch (const std::exception&) {
    // The daemon died mid-call: that write was never acknowledged.
  }
}

// Sessions started, interrupted twice and stopped; one line "T <id> <state>
// <interruptions>" per acknowledgement.
void write_timer(const std::filesystem::path& socket, const std::string& task, std::FILE* out) {
  auto ack = [out](const json::object& s) {
    const auto count = s.contains("interruption_count") ? s.at("interruption_count").to_number<std::int64_t>()
                                                        : static_cast<std::int64_t>(s.at("interruptions").as_array().size());
    std::fprintf(out, "T %lld %s %lld\n", static_cast<long long>(s.at("id").to_number<std::int64_t>()),
                 std::string(s.at("state").as_string()).c_str(), static_cast<long long>(count));
    std::fflush(out);
    return static_cast<std::uint64_t>(s.at("id").to_number<std::int64_t>());
  };
  try {
    ipc::Client c(socket, 5s);
    for (;;) {
      const auto started = call(c, "timer.start", Args().str("task", task));
      if (!started.ok) return;
      const std::uint64_t id = ack(result_of(started));
      for (int i = 0; i < 2; ++i) {
        const auto r = call(c, "timer.interrupt", Args().uint("id", id).str("reason", "crash test").boolean("brief", true));
        if (!r.ok) return;
        ack(result_of(r));
      }
      const auto stopped = call(c, "timer.stop", Args().uint("id", id).boolean("brief", true));
      if (!stopped.ok) return;
      ack(result_of(stopped));
    }
  } catch (const std::exception&) {
  }
}

// What one uid's writers saw acknowledged, over every cycle so far.
struct Ledger {
  std::map<std::string, std::uint64_t> values;  // cache key -> value
  struct Session {
    std::string state;
    std::int64_t interruptions = 0;
  };
  std::map<std::int64_t, Session> sessions;

  void add(const std::string& lines) {
    std::istringstream in(lines);
    std::string kind;
    while (in >> kind) {
      if (kind == "C") {
        std::string key;
        std::uint64_t n = 0;
        in >> key >> n;
        values[key] = n;
      } else {
        std::int64_t id = 0;
        Session s;
        in >> id >> s.state >> s.interruptions;
        Session& known = sessions[id];
        known.state = s.state;  // answers on one connection arrive in order
        known.interruptions = std::max(known.interruptions, s.interruptions);
      }
    }
  }
};

// Run as the ledger's uid: prints one line for every acknowledged write that is missing
// or different now, and "checked" at the end.
void verify(const std::filesystem::path& socket, const Ledger& ledger, std::FILE* out) {
  ipc::Client c(socket, 30s);
  for (const auto& [key, n] : ledger.values) {
    const auto r = call(c, "cache.get", Args().str("key", key));
    if (!r.ok) {
      std::fprintf(out, "cache %s: %s\n", key.c_str(), r.error_code.c_str());
    } else if (result_of(r).at("value").to_number<std::uint64_t>() != n) {
      std::fprintf(out, "cache %s: %s, acknowledged %llu\n", key.c_str(), result_json(r).c_str(),
                   static_cast<unsigned long long>(n));
    }
  }
  std::map<std::int64_t, json::object> now;
  std::optional<std::uint64_t> after;
  for (;;) {
    Args a;
    a.uint("limit", 1000);
    if (after) a.uint("after_id", *after);
    const auto r = call(c, "timer.list", a);
    if (!r.ok) {
      std::fprintf(out, "timer.list: %s\n", r.error_code.c_str());
      return;
    }
    const auto page = result_of(r);
    for (const auto& s : page.at("sessions").as_array()) now[s.at("id").to_number<std::int64_t>()] = s.as_object();
    if (page.at("next_after_id").is_null()) break;
    after = page.at("next_after_id").to_number<std::uint64_t>();
  }
  for (const auto& [id, acked] : ledger.sessions) {
    const auto it = now.find(id);
    if (it == now.end()) {
      std::fprintf(out, "session %lld: missing\n", static_cast<long long>(id));
      continue;
    }
    const auto& s = it->second;
    const auto interruptions = static_cast<std::int64_t>(s.at("interruptions").as_array().size());
    const std::string state(s.at("state").as_string());
    // A later write may have landed unacknowledged: never fewer interruptions, and a
    // session acknowledged as finished stays exactly that.
    if (interruptions < acked.interruptions || (acked.state == "completed" && state != "completed"))
      std::fprintf(out, "session %lld: %s with %lld interruptions, acknowledged %s with %lld\n",
                   static_cast<long long>(id), state.c_str(), static_cast<long long>(interruptions),
                   acked.state.c_str(), static_cast<long long>(acked.interruptions));
  }
  std::fprintf(out, "checked\n");
}

}  // namespace

TEST_CASE("crash: SIGKILL at random moments under durable writes of three uids loses nothing acknowledged") {
  TempDir dir;
  const auto state_dir = dir.path() / "state";
  const auto seed = std::random_device{}();
  INFO("seed " << seed);
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> kill_after_ms(50, 1200);
  std::map<uid_t, Ledger> ledgers;

  for (int cycle = 0; cycle <= kCycles; ++cycle) {
    INFO("cycle " << cycle);
    DaemonProcess daemon({.state_dir = state_dir});
    // Clients of other uids need the way in: the folder and the socket opened to all.
    REQUIRE(::chmod(daemon.dir().c_str(), 0711) == 0);
    REQUIRE(::chmod(daemon.socket().c_str(), 0666) == 0);

    for (const auto& [uid, ledger] : ledgers) {
      INFO("uid " << uid << ": " << ledger.values.size() << " puts and " << ledger.sessions.size()
                  << " sessions acknowledged so far");
      Child checker(uid, [&](std::FILE* out) { verify(daemon.socket(), ledger, out); });
      CHECK(checker.finish() == 0);
      CHECK(checker.text == "checked\n");
    }
    if (cycle == kCycles) break;  // the last restart only checks

    std::vector<std::unique_ptr<Child>> writers;
    for (uid_t uid : kUids) {
      const std::string tag = "u" + std::to_string(uid) + "-c" + std::to_string(cycle) + "-";
      writers.push_back(std::make_unique<Child>(uid, [&](std::FILE* out) { write_cache(daemon.socket(), tag, out); }));
      writers.push_back(std::make_unique<Child>(uid, [&](std::FILE* out) { write_timer(daemon.socket(), tag, out); }));
    }
    // Read while they write, so no writer waits on a full pipe, until the kill.
    const auto kill_at = std::chrono::steady_clock::now() + std::chrono::milliseconds(kill_after_ms(rng));
    while (std::chrono::steady_clock::now() < kill_at) {
      std::vector<pollfd> fds;
      for (const auto& w : writers) fds.push_back({w->fd(), POLLIN, 0});
      ::poll(fds.data(), fds.size(), 10);
      for (const auto& w : writers) w->drain();
    }
    const auto killed = daemon.stop(SIGKILL);
    REQUIRE(killed.signal == SIGKILL);
    for (std::size_t i = 0; i < writers.size(); ++i) {
      CHECK(writers[i]->finish() == 0);
      ledgers[kUids[i / 2]].add(writers[i]->text);
    }
    CHECK(database_integrity(state_dir / "cache.db") == "ok");
    CHECK(database_integrity(state_dir / "timers.db") == "ok");
  }
  // The test means something only if every uid got writes of both kinds acknowledged.
  for (uid_t uid : kUids) {
    INFO("uid " << uid);
    CHECK(ledgers[uid].values.size() > 0);
    CHECK(ledgers[uid].sessions.size() > 0);
  }
}
