// The systemd units, sysusers.d and tmpfiles.d entries and the example config, checked
// with systemd's own tools on a machine without systemd as PID 1
// (../shared/platform.md, "systemd checks without systemd running").
#include <grp.h>
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <iostream>
#include <sstream>

#include "daemon_process.hpp"
#include "ipc/client.hpp"

using namespace durationd;
using namespace durationd::test;
namespace fs = std::filesystem;

namespace {

const fs::path kUnits = SYSTEMD_UNITS_DIR;
const fs::path kPackaging = PACKAGING_DIR;

void write_file(const fs::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  REQUIRE(out.good());
}

// The lines of a unit file that set `key` ("Key=value"), values only.
std::vector<std::string> settings(const std::string& unit, const std::string& key) {
  std::vector<std::string> values;
  std::istringstream in(unit);
  for (std::string line; std::getline(in, line);)
    if (line.rfind(key + "=", 0) == 0) values.push_back(line.substr(key.size() + 1));
  return values;
}

// The group's gid, creating it as a system group when it is missing (CI runs as root).
gid_t ensure_group(const std::string& name) {
  if (const group* g = ::getgrnam(name.c_str())) return g->gr_gid;
  const auto r = run_command({"/usr/sbin/groupadd", "-r", "-f", name});
  INFO("groupadd -r -f " << name << ": " << r.stderr_text);
  REQUIRE(r.exit_code == 0);
  const group* g = ::getgrnam(name.c_str());
  INFO("group " << name << " is still unknown after groupadd");
  REQUIRE(g != nullptr);
  return g->gr_gid;
}

// "name:x:..." line of a passwd/group file, split at ':'; empty when absent.
std::vector<std::string> entry(const fs::path& file, const std::string& name) {
  std::istringstream in(read_file(file));
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(name + ":", 0) != 0) continue;
    std::vector<std::string> fields;
    std::istringstream parts(line);
    for (std::string f; std::getline(parts, f, ':');) fields.push_back(f);
    if (line.back() == ':') fields.emplace_back();
    return fields;
  }
  return {};
}

}  // namespace

TEST_CASE("systemd units: systemd-analyze verify prints nothing") {
  TempDir dir;
  // verify insists that ExecStart's binary exists: point it at the one just built.
  std::string service = read_file(kUnits / "durationd.service");
  const std::string installed = "ExecStart=/usr/bin/durationd ";
  const auto at = service.find(installed);
  REQUIRE(at != std::string::npos);
  service.replace(at, installed.size(), std::string("ExecStart=") + DURATIOND_BINARY + " ");
  write_file(dir.path() / "durationd.service", service);
  fs::copy_file(kUnits / "durationd.socket", dir.path() / "durationd.socket");

  std::string out;
  const auto r =
      run_command({"/usr/bin/systemd-analyze", "verify", (dir.path() / "durationd.socket").string(),
                   (dir.path() / "durationd.service").string()},
                  {}, &out);
  // verify reports unknown keys and bad values as warnings and still exits 0.
  INFO("stdout: " << out << "\nstderr: " << r.stderr_text);
  CHECK(r.exit_code == 0);
  CHECK(out.empty());
  CHECK(r.stderr_text.empty());
}

TEST_CASE("systemd units: the service scores at most 1.0 in systemd-analyze security") {
  std::string out;
  // --threshold is on the internal 0..100 scale (an integer): 10 means an exposure of 1.0.
  const auto r = run_command({"/usr/bin/systemd-analyze", "security", "--offline=yes",
                              "--threshold=10", (kUnits / "durationd.service").string()},
                             {}, &out);
  INFO(out << r.stderr_text);
  const std::string marker = "Overall exposure level for durationd.service: ";
  const auto at = out.find(marker);
  REQUIRE(at != std::string::npos);
  const double score = std::stod(out.substr(at + marker.size()));
  std::cout << "systemd-analyze security: durationd.service exposure " << score << "\n";
  CHECK(score <= 1.0);
  CHECK(r.exit_code == 0);
}

TEST_CASE("systemd units: the service keeps peer uids, a stable owner and the boot id") {
  const std::string service = read_file(kUnits / "durationd.service");
  const std::string socket = read_file(kUnits / "durationd.socket");
  // PrivateUsers= would show every client as nobody to SO_PEERCRED; DynamicUser= would
  // give the databases a new owner; ProcSubset=pid hides /proc/sys/kernel/random/boot_id.
  CHECK(settings(service, "PrivateUsers").empty());
  CHECK(settings(service, "DynamicUser").empty());
  CHECK(settings(service, "ProcSubset").empty());
  CHECK(settings(service, "User") == std::vector<std::string>{"durationd"});
  // The daemon's default socket, $RUNTIME_DIRECTORY/durationd.sock, is the socket unit's.
  CHECK(settings(service, "RuntimeDirectory") == std::vector<std::string>{"durationd"});
  CHECK(settings(service, "RuntimeDirectoryPreserve") == std::vector<std::string>{"yes"});
  CHECK(settings(socket, "ListenStream") ==
        std::vector<std::string>{"/run/durationd/durationd.sock"});
  CHECK(settings(service, "LoadCredential") ==
        std::vector<std::string>{"durationd.key:/etc/durationd/durationd.key"});
}

TEST_CASE("systemd units: only the daemon's user and group durationd may open the socket") {
  const std::string socket = read_file(kUnits / "durationd.socket");
  CHECK(settings(socket, "SocketUser") == std::vector<std::string>{"durationd"});
  CHECK(settings(socket, "SocketGroup") == std::vector<std::string>{"durationd"});
  CHECK(settings(socket, "SocketMode") == std::vector<std::string>{"0660"});
}

TEST_CASE("systemd units: the example config loads and names the admin group") {
  const gid_t socket_gid = ensure_group("durationd");
  const gid_t admin_gid = ensure_group("durationd-admin");
  const std::string config = read_file(kPackaging / "durationd.json");
  CHECK(config.find(R"("admin_groups": ["durationd-admin"])") != std::string::npos);

  DaemonProcess daemon({.config_json = config});
  ipc::Client root(daemon.socket());
  CHECK(root.call("ping").ok);

  // socket_group: the socket is root:durationd 0660, so only that group's members get in.
  struct stat st {};
  REQUIRE(::stat(daemon.socket().c_str(), &st) == 0);
  CHECK(st.st_gid == socket_gid);
  CHECK((st.st_mode & 07777) == 0660);
  REQUIRE(::chmod(daemon.dir().c_str(), 0755) == 0);
  const auto ctl_as_nobody = [&](const std::string& groups, const std::string& op,
                                 std::string* out) {
    std::vector<std::string> argv{"/usr/bin/setpriv", "--reuid=65534", "--regid=65534"};
    argv.push_back(groups.empty() ? "--clear-groups" : "--groups=" + groups);
    argv.insert(argv.end(), {durationctl_for_all(), "--socket", daemon.socket().string(), op});
    return run_command(argv, {}, out);
  };
  std::string out;
  const auto outsider = ctl_as_nobody("", "ping", &out);
  CHECK(outsider.exit_code != 0);
  const auto member = ctl_as_nobody(std::to_string(socket_gid), "status", &out);
  CHECK(member.exit_code == 1);
  CHECK(member.stderr_text.find("FORBIDDEN") != std::string::npos);
  // admin_groups: a durationd-admin member may call admin.*.
  const auto admin =
      ctl_as_nobody(std::to_string(socket_gid) + "," + std::to_string(admin_gid), "status", &out);
  INFO(admin.stderr_text);
  CHECK(admin.exit_code == 0);
}

TEST_CASE("systemd units: sysusers and tmpfiles entries apply to a throw-away root") {
  TempDir root;
  fs::create_directory(root.path() / "etc");  // sysusers locks etc/.pwd.lock first
  // Config files named on the command line are read outside --root when absolute. The
  // tools are in /bin in Debian's systemd package (merged /usr or not).
  const auto users = run_command({"/bin/systemd-sysusers", "--root=" + root.path().string(),
                                  (kUnits / "durationd.sysusers").string()});
  INFO(users.stderr_text);
  REQUIRE(users.exit_code == 0);
  const auto user = entry(root.path() / "etc/passwd", "durationd");
  REQUIRE(user.size() == 7);
  CHECK(user[5] == "/var/lib/durationd");
  CHECK(user[6] == "/usr/sbin/nologin");
  const auto group = entry(root.path() / "etc/group", "durationd");
  REQUIRE(group.size() >= 3);
  CHECK(group[2] == user[3]);
  const auto admins = entry(root.path() / "etc/group", "durationd-admin");
  REQUIRE(admins.size() >= 3);
  const auto uid = static_cast<uid_t>(std::stoul(user[2]));
  const auto gid = static_cast<gid_t>(std::stoul(user[3]));
  CHECK(uid < 1000);  // a system user
  CHECK(std::stoul(admins[2]) < 1000);

  // tmpfiles resolves the names in the root's own passwd and group files.
  const auto dirs = run_command({"/bin/systemd-tmpfiles", "--root=" + root.path().string(),
                                 "--create", (kUnits / "durationd.tmpfiles").string()});
  INFO(dirs.stderr_text);
  REQUIRE(dirs.exit_code == 0);
  struct Expected {
    const char* path;
    mode_t mode;
    uid_t uid;
    gid_t gid;
  };
  for (const Expected& e :
       {Expected{"etc/durationd", 0750, 0, gid}, Expected{"var/lib/durationd", 0700, uid, gid},
        Expected{"run/durationd", 0750, uid, gid}}) {
    INFO(e.path);
    struct stat st {};
    REQUIRE(::stat((root.path() / e.path).c_str(), &st) == 0);
    CHECK(S_ISDIR(st.st_mode));
    CHECK((st.st_mode & 07777) == e.mode);
    CHECK(st.st_uid == e.uid);
    CHECK(st.st_gid == e.gid);
  }
}
