// Faults (issue #9): a full disk and a state dir turned read-only under a running
// daemon, SIGSTOP/SIGCONT, 1,000 connections at once, and clients that vanish in the
// middle of a frame or of their answers. Each time the daemon must answer clearly, keep
// serving, and lose nothing it acknowledged.
//
// The disk faults are real: the state dir is on a small ext4 filesystem on a loop device,
// mounted with errors=remount-ro in this test process's own mount namespace (so it goes
// away with the process). "Full" is a file that takes every free block; "read-only" is
// ext4's own error path (sysfs trigger_fs_error), the way a failing disk turns a mounted
// filesystem read-only under running programs.
#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <chrono>
#include <csignal>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "daemon_process.hpp"
#include "ipc/client.hpp"
#include "ipc/msgpack_writer.hpp"
#include "raw_connection.hpp"
#include "request_args.hpp"

using namespace durationd;
using namespace durationd::test;
using namespace std::chrono_literals;
namespace fs = std::filesystem;
namespace json = boost::json;

namespace {

void must_run(const std::vector<std::string>& argv) {
  const auto r = run_command(argv);
  INFO(argv.front() << ": " << r.stderr_text);
  REQUIRE(r.exit_code == 0);
}

// A small ext4 filesystem, mounted for this process alone.
class LoopFilesystem {
 public:
  // A new, empty filesystem of `megabytes`.
  explicit LoopFilesystem(int megabytes) : LoopFilesystem(std::nullopt, megabytes) {}
  // The filesystem in a copy of another one's image (its journal replays on mount).
  explicit LoopFilesystem(const fs::path& image) : LoopFilesystem(image, 0) {}
  ~LoopFilesystem() { ::umount2(mount_point_.c_str(), MNT_DETACH); }
  LoopFilesystem(const LoopFilesystem&) = delete;
  LoopFilesystem& operator=(const LoopFilesystem&) = delete;

  const fs::path& path() const { return mount_point_; }

  // Takes every free block (root's reserve too: the daemon runs as root here).
  void fill() {
    std::ofstream f(filler(), std::ios::binary);
    const std::string chunk(1 << 16, 'f');
    while (f.write(chunk.data(), static_cast<std::streamsize>(chunk.size()))) {
    }
    f.close();
    must_run({"/bin/sync", "-f", filler().string()});
    // What a buffered stream could not place, one small write at a time.
    std::ofstream tail(filler(), std::ios::binary | std::ios::app);
    tail.rdbuf()->pubsetbuf(nullptr, 0);
    while (tail.put('t')) {
    }
  }
  void unfill() {
    fs::remove(filler());
    must_run({"/bin/sync", "-f", mount_point_.string()});
  }

  // ext4's error path, as an I/O error on the device would take it: the filesystem
  // refuses every write from then on (the kernel shows "emergency_ro", or "ro" on older
  // kernels) and cannot be remounted read-write.
  void turn_read_only() {
    std::ofstream("/sys/fs/ext4/" + device_ + "/trigger_fs_error") << "1";
    const int fd = ::open((mount_point_ / "probe").c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
    if (fd >= 0) ::close(fd);
    REQUIRE(fd < 0);
    REQUIRE(errno == EROFS);
  }
  // As after a repair: unmounted (if it is) and mounted again.
  void mount_again() {
    if (::umount2(mount_point_.c_str(), 0) != 0) REQUIRE(errno == EINVAL);  // EINVAL: not mounted
    must_run({"/bin/mount", "-o", "loop,errors=remount-ro", image_.string(), mount_point_.string()});
  }

  // The block device's content now, as a power cut would leave it: what the filesystem
  // has written to the device, nothing of what is only in its page cache.
  fs::path copy_image(const fs::path& to) const {
    fs::copy_file(image_, to);
    return to;
  }

 private:
  LoopFilesystem(const std::optional<fs::path>& existing, int megabytes) {
    // A private copy of the mount table: the mount is invisible to the host and is
    // released (with its loop device, autoclear) when this process exits, even on a crash.
    REQUIRE(::unshare(CLONE_NEWNS) == 0);
    // EINVAL: "/" is no mount point (a chroot); its maker chose the propagation then.
    if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) REQUIRE(errno == EINVAL);
    mount_point_ = dir_.path() / "mnt";
    fs::create_directory(mount_point_);
    if (existing) {
      image_ = *existing;
    } else {
      image_ = dir_.path() / "disk.img";
      must_run({"/usr/bin/truncate", "-s", std::to_string(megabytes) + "M", image_.string()});
      must_run({"/sbin/mkfs.ext4", "-q", "-F", image_.string()});
    }
    mount_again();
    std::string source;
    run_command({"/bin/findmnt", "-n", "-o", "SOURCE", mount_point_.string()}, {}, &source);
    device_ = fs::path(source.substr(0, source.find('\n'))).filename().string();
    REQUIRE(device_.rfind("loop", 0) == 0);
  }
  fs::path filler() const { return mount_point_ / "filler"; }

  TempDir dir_;
  fs::path image_, mount_point_;
  std::string device_;
};

std::string packed_bin(std::size_t size, char fill) {
  std::string out;
  ipc::StringSink sink(out);
  ipc::MsgpackWriter w(sink);
  w.pack_bin(static_cast<std::uint32_t>(size));
  out.append(size, fill);
  return out;
}

std::string packed_uint(std::uint64_t n) {
  std::string out;
  ipc::StringSink sink(out);
  ipc::MsgpackWriter w(sink);
  w.pack_uint64(n);
  return out;
}

// The raw msgpack of a cache.get's value ("" on an error).
std::string value_of(ipc::Client& c, const std::string& key) {
  const auto r = call(c, "cache.get", RequestArgs().str("key", key));
  if (!r.ok) return r.error_code;
  const auto v = json::parse(result_json(r)).as_object();
  return json::serialize(v.at("value"));
}

ipc::Response put(ipc::Client& c, const std::string& key, const std::string& packed_value, bool durable) {
  return call(c, "cache.put", RequestArgs().str("key", key).raw("value", packed_value).boolean("durable", durable));
}

// After a failed commit, write-behind puts and deletes are refused too, not held in
// memory: each first retries the queue and, should that work, waits for its own commit.
void writes_refused(ipc::Client& c, const std::string& prefix, const std::string& value, const std::string& existing) {
  for (int i = 0; i < 3; ++i) {
    const auto r = put(c, prefix + std::to_string(i), value, false);
    INFO(r.error_message);
    CHECK(r.error_code == "UNAVAILABLE");
  }
  CHECK(call(c, "cache.del", RequestArgs().str("key", existing)).error_code == "UNAVAILABLE");
}

// Values large enough that a commit of one cannot fit in room SQLite already has.
constexpr std::size_t kBig = 256 << 10;
constexpr const char* kFaultConfig = R"({"cache_flush_interval_ms": 20, "cache_memory_budget_bytes": 0})";

}  // namespace

TEST_CASE("faults: a full disk refuses writes with UNAVAILABLE, reads go on, writes come back with the space") {
  LoopFilesystem disk(64);
  const auto state_dir = disk.path() / "state";
  const std::string big = packed_bin(kBig, 'b');
  std::int64_t session = 0;
  {
    DaemonProcess daemon({.config_json = kFaultConfig, .state_dir = state_dir});
    ipc::Client c(daemon.socket());
    for (int i = 0; i < 10; ++i) REQUIRE(put(c, "before" + std::to_string(i), packed_uint(i), true).ok);
    const auto started = call(c, "timer.start", RequestArgs().str("task", "before the disk filled"));
    REQUIRE(started.ok);
    session = json::parse(result_json(started)).as_object().at("id").to_number<std::int64_t>();

    disk.fill();
    const auto durable = put(c, "durable-when-full", big, true);
    INFO(durable.error_message);
    CHECK(durable.error_code == "UNAVAILABLE");
    writes_refused(c, "behind-when-full", big, "before0");
    // Timer rows are small: they fit into room SQLite already has until they do not.
    int interrupted_when_full = 0;
    ipc::Response refused;
    while (interrupted_when_full < 5000) {
      refused = call(c, "timer.interrupt",
                     RequestArgs().uint("id", static_cast<std::uint64_t>(session)).str("reason", "disk full").boolean("brief", true));
      if (!refused.ok) break;
      ++interrupted_when_full;
    }
    INFO(interrupted_when_full << " interruptions recorded before the first refusal: " << refused.error_message);
    CHECK(refused.error_code == "UNAVAILABLE");

    // Reads go on: from cache.db (no memory tier), from timers.db, and the admin view.
    for (int i = 0; i < 10; ++i) CHECK(value_of(c, "before" + std::to_string(i)) == std::to_string(i));
    CHECK(value_of(c, "durable-when-full") == "NOT_FOUND");
    CHECK(call(c, "timer.get", RequestArgs().uint("id", static_cast<std::uint64_t>(session))).ok);
    CHECK(call(c, "timer.list").ok);
    CHECK(call(c, "admin.status").ok);

    disk.unfill();
    const auto again = put(c, "durable-after", big, true);
    INFO(again.error_message);
    CHECK(again.ok);
    CHECK(call(c, "timer.stop", RequestArgs().uint("id", static_cast<std::uint64_t>(session))).ok);
    CHECK(put(c, "behind-after", packed_uint(7), false).ok);
    const auto stopped = daemon.stop(SIGTERM);
    INFO(stopped.stderr_text);
    CHECK(stopped.exit_code == 0);
  }
  CHECK(database_integrity(state_dir / "cache.db") == "ok");
  CHECK(database_integrity(state_dir / "timers.db") == "ok");

  DaemonProcess daemon({.config_json = kFaultConfig, .state_dir = state_dir});
  ipc::Client c(daemon.socket());
  for (int i = 0; i < 10; ++i) CHECK(value_of(c, "before" + std::to_string(i)) == std::to_string(i));
  CHECK(value_of(c, "durable-after").size() > kBig);  // the JSON of the binary value
  CHECK(value_of(c, "behind-after") == "7");
  const auto stopped = call(c, "timer.get", RequestArgs().uint("id", static_cast<std::uint64_t>(session)));
  REQUIRE(stopped.ok);
  CHECK(json::parse(result_json(stopped)).as_object().at("state").as_string() == "completed");
}

TEST_CASE("faults: a state dir turned read-only refuses writes, serves reads, and loses nothing acknowledged") {
  LoopFilesystem disk(32);
  const auto state_dir = disk.path() / "state";
  std::uint64_t session = 0;
  {
    DaemonProcess daemon({.config_json = kFaultConfig, .state_dir = state_dir});
    ipc::Client c(daemon.socket());
    for (int i = 0; i < 10; ++i) {
      REQUIRE(put(c, "durable" + std::to_string(i), packed_uint(i), true).ok);
      REQUIRE(put(c, "behind" + std::to_string(i), packed_uint(100 + i), false).ok);
    }
    REQUIRE(call(c, "cache.stats").ok);  // commits what is queued
    const auto started = call(c, "timer.start", RequestArgs().str("task", "before"));
    REQUIRE(started.ok);
    session = json::parse(result_json(started)).as_object().at("id").to_number<std::uint64_t>();

    disk.turn_read_only();
    const auto durable = put(c, "durable-when-ro", packed_uint(1), true);
    INFO(durable.error_message);
    CHECK(durable.error_code == "UNAVAILABLE");
    writes_refused(c, "behind-when-ro", packed_uint(2), "durable0");
    CHECK(call(c, "timer.stop", RequestArgs().uint("id", session)).error_code == "UNAVAILABLE");
    for (int i = 0; i < 10; ++i) {
      CHECK(value_of(c, "durable" + std::to_string(i)) == std::to_string(i));
      CHECK(value_of(c, "behind" + std::to_string(i)) == std::to_string(100 + i));
    }
    CHECK(call(c, "timer.list").ok);
    const auto stopped = daemon.stop(SIGTERM);
    INFO(stopped.stderr_text);
    CHECK(stopped.signal == 0);
  }
  disk.mount_again();
  CHECK(database_integrity(state_dir / "cache.db") == "ok");
  CHECK(database_integrity(state_dir / "timers.db") == "ok");
  DaemonProcess daemon({.config_json = kFaultConfig, .state_dir = state_dir});
  ipc::Client c(daemon.socket());
  for (int i = 0; i < 10; ++i) {
    CHECK(value_of(c, "durable" + std::to_string(i)) == std::to_string(i));
    CHECK(value_of(c, "behind" + std::to_string(i)) == std::to_string(100 + i));
  }
  // The refused stop left the session as it was acknowledged: running.
  const auto got = call(c, "timer.get", RequestArgs().uint("id", session));
  REQUIRE(got.ok);
  CHECK(json::parse(result_json(got)).as_object().at("state").as_string() == "running");
}

TEST_CASE("faults: requests sent while the daemon is stopped are all answered, in order, after SIGCONT") {
  DaemonProcess daemon;
  RawConnection c(daemon.socket());
  REQUIRE(::kill(daemon.pid(), SIGSTOP) == 0);
  std::string pipelined;
  for (std::uint64_t id = 1; id <= 50; ++id) pipelined += request_frame("ping", id);
  c.send(pipelined);
  // A second client connects meanwhile: the kernel holds it in the listen backlog.
  ipc::Client late(daemon.socket());
  late.send("ping", 7);
  std::this_thread::sleep_for(300ms);
  REQUIRE(::kill(daemon.pid(), SIGCONT) == 0);
  for (std::uint64_t id = 1; id <= 50; ++id) {
    const auto r = c.read_frame();
    CHECK(r.ok);
    CHECK(r.id == id);
  }
  const auto r = late.receive();
  CHECK(r.ok);
  CHECK(r.id == 7u);
}

TEST_CASE("faults: 1,000 connections at once are all served, from a soft descriptor limit of 1,024") {
  // The test's own side needs 1,000 descriptors too.
  rlimit limit{};
  REQUIRE(::getrlimit(RLIMIT_NOFILE, &limit) == 0);
  REQUIRE(limit.rlim_max >= 2048);
  limit.rlim_cur = limit.rlim_max;
  REQUIRE(::setrlimit(RLIMIT_NOFILE, &limit) == 0);
  // The daemon starts as systemd would start it, with a soft limit of 1,024: serving
  // 1,000 clients is its own doing.
  DaemonProcess daemon({.config_json = R"({"max_connections": 2000, "max_connections_per_uid": 2000})",
                        .wrapper = {"/usr/bin/prlimit", "--nofile=1024:" + std::to_string(limit.rlim_max), "--"}});
  std::vector<std::unique_ptr<RawConnection>> clients;
  for (int i = 0; i < 1000; ++i) clients.push_back(std::make_unique<RawConnection>(daemon.socket()));
  for (std::size_t i = 0; i < clients.size(); ++i) clients[i]->send(request_frame("ping", i + 1));
  int answered = 0;
  for (std::size_t i = 0; i < clients.size(); ++i) {
    const auto r = clients[i]->read_frame();
    answered += r.ok && r.id == i + 1;
  }
  CHECK(answered == 1000);
  ipc::Client admin(daemon.socket());
  const auto status = json::parse(result_json(call(admin, "admin.status"))).as_object();
  CHECK(status.at("connections").at("current").to_number<std::int64_t>() == 1001);
  CHECK(status.at("connections").at("rejected").to_number<std::int64_t>() == 0);
}

TEST_CASE("faults: clients that vanish mid-frame or before reading their answers leave the daemon unharmed") {
  DaemonProcess daemon;
  {
    ipc::Client c(daemon.socket());
    REQUIRE(put(c, "large", packed_bin(256 << 10, 'v'), false).ok);
  }
  std::string get_frame;
  {
    const std::string args = RequestArgs().str("key", "large").packed();
    std::string extra;
    ipc::StringSink sink(extra);
    ipc::MsgpackWriter w(sink);
    ipc::pack_str(w, "args");
    get_frame = frame(request_body("cache.get", 1, extra + args, 1));
  }
  for (int round = 0; round < 20; ++round) {
    {
      // Half a frame, then gone.
      RawConnection half(daemon.socket());
      half.send(get_frame.substr(0, get_frame.size() / 2));
    }
    {
      // 100 answers of 256 KiB asked for, none read: the daemon's writes hit a closed peer.
      RawConnection greedy(daemon.socket());
      std::string many;
      for (int i = 0; i < 100; ++i) many += get_frame;
      greedy.send(many);
    }
  }
  ipc::Client c(daemon.socket());
  CHECK(value_of(c, "large").size() > (256 << 10));
  // Every vanished client's connection is gone once the daemon notices.
  std::int64_t current = -1;
  for (int i = 0; i < 200 && current != 1; ++i) {
    current = json::parse(result_json(call(c, "admin.status"))).as_object().at("connections").at("current").to_number<std::int64_t>();
    if (current != 1) std::this_thread::sleep_for(50ms);
  }
  CHECK(current == 1);
  CHECK(daemon.running());
}

TEST_CASE("faults: a power cut right after the answers loses no durable cache put and no timer write") {
  TempDir dir;
  LoopFilesystem disk(64);
  const auto state_dir = disk.path() / "state";
  fs::path image;
  std::vector<std::uint64_t> sessions;
  {
    // Write-behind only at the hour: only what durability wrote can survive.
    DaemonProcess daemon({.config_json = R"({"cache_flush_interval_ms": 3600000})", .state_dir = state_dir});
    ipc::Client c(daemon.socket());
    for (int i = 0; i < 50; ++i) REQUIRE(put(c, "durable" + std::to_string(i), packed_uint(i), true).ok);
    for (int i = 0; i < 5; ++i) {
      const auto started = call(c, "timer.start", RequestArgs().str("task", "power cut"));
      REQUIRE(started.ok);
      sessions.push_back(json::parse(result_json(started)).as_object().at("id").to_number<std::uint64_t>());
      REQUIRE(call(c, "timer.stop", RequestArgs().uint("id", sessions.back())).ok);
    }
    // The cut: the daemon dies and the device keeps only what reached it. (The kernel
    // writes dirty pages back after about 30 s, so within this second what the copy
    // holds got there through the daemon's own fsyncs.)
    daemon.stop(SIGKILL);
    image = disk.copy_image(dir.path() / "after-the-cut.img");
  }
  LoopFilesystem after(image);
  CHECK(database_integrity(after.path() / "state" / "cache.db") == "ok");
  CHECK(database_integrity(after.path() / "state" / "timers.db") == "ok");
  DaemonProcess daemon({.state_dir = after.path() / "state"});
  ipc::Client c(daemon.socket());
  for (int i = 0; i < 50; ++i) CHECK(value_of(c, "durable" + std::to_string(i)) == std::to_string(i));
  for (const auto id : sessions) {
    const auto got = call(c, "timer.get", RequestArgs().uint("id", id));
    INFO("session " << id << ": " << got.error_code);
    REQUIRE(got.ok);
    CHECK(json::parse(result_json(got)).as_object().at("state").as_string() == "completed");
  }
}
