// The Debian package: `cpack -G DEB` from the build directory (into a temporary
// directory), its file list and control fields, the tree it unpacks into, the
// maintainer scripts run against stubs, and lintian.
// GCC 12 with the sanitizers reports -Wmaybe-uninitialized inside libstdc++'s std::regex
// and std::function (a false positive in library code, GCC bug 105562). The warning is
// reported at the library's own lines, so it is silenced for this whole file.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cctype>
#include <fstream>
#include <map>
#include <optional>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "daemon_process.hpp"

using namespace durationd::test;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

const fs::path kBuildDir = PROJECT_BINARY_DIR_FOR_TESTS;
const fs::path kPackaging = PACKAGING_DIR;
const fs::path kUnits = SYSTEMD_UNITS_DIR;
const std::string kVersion = PROJECT_VERSION_FOR_TESTS;

// Runs argv, requires exit 0, returns its stdout.
std::string run_ok(const std::vector<std::string>& argv, std::chrono::seconds timeout = 60s) {
  std::string out;
  const auto r = run_command(argv, {}, &out, timeout);
  INFO(argv.front() << (argv.size() > 1 ? " " + argv[1] : "") << " exited " << r.exit_code
                    << " (signal " << r.signal << ")\nstdout:\n"
                    << out << "\nstderr:\n"
                    << r.stderr_text);
  REQUIRE(r.exit_code == 0);
  return out;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

std::string trimmed(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

struct Package {
  TempDir dir;
  fs::path deb;
};

// The package, built once per test process: cpack packs what the build left in place
// (install and cpack do not build; integration_tests depends on every packaged target).
const Package& package() {
  static Package p;  // its directory is removed at exit
  if (p.deb.empty()) {
    const std::string arch = trimmed(run_ok({"/usr/bin/dpkg", "--print-architecture"}));
    run_ok({CPACK_COMMAND, "--config", (kBuildDir / "CPackConfig.cmake").string(), "-G", "DEB",
            "-B", p.dir.path().string()},
           300s);
    p.deb = p.dir.path() / ("durationd_" + kVersion + "_" + arch + ".deb");
  }
  INFO("cpack wrote no " << p.deb);
  REQUIRE(fs::is_regular_file(p.deb));
  return p;
}

// A packaged file: where it goes, its mode, and the source it must equal (a .gz file
// must decompress to it).
struct Shipped {
  std::string path;  // without the leading "/"
  unsigned mode;
  std::optional<fs::path> source;
};

std::vector<Shipped> shipped_files() {
  std::vector<Shipped> files = {
      {"usr/bin/durationd", 0755, std::nullopt},
      {"usr/bin/durationctl", 0755, std::nullopt},
      {"lib/systemd/system/durationd.service", 0644, kUnits / "durationd.service"},
      {"lib/systemd/system/durationd.socket", 0644, kUnits / "durationd.socket"},
      {"usr/lib/sysusers.d/durationd.conf", 0644, kUnits / "durationd.sysusers"},
      {"usr/lib/tmpfiles.d/durationd.conf", 0644, kUnits / "durationd.tmpfiles"},
      {"etc/durationd/durationd.json", 0644, kPackaging / "durationd.json"},
      {"usr/share/man/man8/durationd.8.gz", 0644, kPackaging / "man/durationd.8"},
      {"usr/share/man/man1/durationctl.1.gz", 0644, kPackaging / "man/durationctl.1"},
      {"usr/share/man/man1/durationd-bench.1.gz", 0644, kPackaging / "man/durationd-bench.1"},
      {"usr/share/doc/durationd/copyright", 0644, kPackaging / "debian/copyright"},
      {"usr/share/doc/durationd/changelog.gz", 0644, kPackaging / "debian/changelog"},
  };
#ifdef DURATIOND_BENCH_BINARY
  files.push_back({"usr/bin/durationd-bench", 0755, std::nullopt});
#endif
  return files;
}

std::string mode_string(unsigned mode) {
  std::string s = "-";
  for (int shift = 6; shift >= 0; shift -= 3) {
    s += (mode >> shift) & 4 ? 'r' : '-';
    s += (mode >> shift) & 2 ? 'w' : '-';
    s += (mode >> shift) & 1 ? 'x' : '-';
  }
  return s;
}

// "Key: value" fields of `dpkg-deb -f`; continuation lines join the value with "\n".
std::map<std::string, std::string> control_fields(const std::string& text) {
  std::map<std::string, std::string> fields;
  std::string last;
  for (const auto& line : lines_of(text)) {
    if (!line.empty() && line.front() == ' ' && !last.empty()) {
      fields[last] += "\n" + line.substr(1);
    } else if (const auto colon = line.find(": "); colon != std::string::npos) {
      last = line.substr(0, colon);
      fields[last] = line.substr(colon + 2);
    }
  }
  return fields;
}

// The man page's text with roff escapes for hyphens and fonts undone.
std::string man_text(const std::string& roff) {
  std::string text = std::regex_replace(roff, std::regex(R"(\\f[BIRP])"), "");
  return std::regex_replace(text, std::regex(R"(\\-)"), "-");
}

// Whether `word` occurs in `text` standing alone (not inside a longer option or word).
bool mentions(const std::string& text, const std::string& word) {
  const auto part = [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_';
  };
  for (auto at = text.find(word); at != std::string::npos; at = text.find(word, at + 1)) {
    const bool before_ok = at == 0 || !part(text[at - 1]) || word.front() == '-';
    const bool after_ok = at + word.size() == text.size() || !part(text[at + word.size()]);
    if (before_ok && after_ok) return true;
  }
  return false;
}

// Every option a --help text names (-x, --long-name).
std::set<std::string> options_in(const std::string& help) {
  std::set<std::string> options;
  const std::regex option(R"((?:^|[\s\[|(])(--?[A-Za-z][A-Za-z0-9-]*))");
  for (auto it = std::sregex_iterator(help.begin(), help.end(), option);
       it != std::sregex_iterator(); ++it)
    options.insert((*it)[1]);
  return options;
}

}  // namespace

TEST_CASE("package: cpack -G DEB ships every file, field and conffile in place") {
  const Package& pkg = package();
  const auto files = shipped_files();

  SECTION("the file list holds exactly the shipped files, owned by root") {
    const auto listing = run_ok({"/usr/bin/dpkg-deb", "-c", pkg.deb.string()});
    std::map<std::string, std::string> modes;  // path -> "-rwxr-xr-x"
    for (const auto& line : lines_of(listing)) {
      INFO(line);
      std::istringstream fields(line);
      std::string perms, owner, size, date, time, path;
      fields >> perms >> owner >> size >> date >> time >> path;
      CHECK(owner == "root/root");
      REQUIRE(path.rfind("./", 0) == 0);
      path = path.substr(2);
      if (perms.front() == 'd') {
        CHECK(perms == "drwxr-xr-x");
      } else {
        CHECK(perms.front() == '-');  // no links, devices or other surprises
        modes[path] = perms;
      }
    }
    std::set<std::string> expected;
    for (const auto& f : files) {
      INFO(f.path);
      expected.insert(f.path);
      REQUIRE(modes.count(f.path) == 1);
      CHECK(modes[f.path] == mode_string(f.mode));
    }
    std::set<std::string> listed;
    for (const auto& [path, perms] : modes) listed.insert(path);
    CHECK(listed == expected);
  }

  SECTION("the control fields: version, section, dependencies from shlibdeps and systemd") {
    const auto fields = control_fields(run_ok({"/usr/bin/dpkg-deb", "-f", pkg.deb.string()}));
    const std::string arch = trimmed(run_ok({"/usr/bin/dpkg", "--print-architecture"}));
    CHECK(fields.at("Package") == "durationd");
    CHECK(fields.at("Version") == kVersion);
    CHECK(fields.at("Architecture") == arch);
    CHECK(fields.at("Section") == "admin");
    CHECK(fields.at("Priority") == "optional");
    CHECK(fields.at("Maintainer") == "durationd maintainers <durationd@example.org>");
    CHECK(fields.at("Homepage").rfind("https://", 0) == 0);

    std::set<std::string> depends;
    std::istringstream list(fields.at("Depends"));
    for (std::string d; std::getline(list, d, ',');) {
      d.erase(0, d.find_first_not_of(' '));
      depends.insert(d.substr(0, d.find_first_of(" (")));
    }
    INFO("Depends: " << fields.at("Depends"));
    for (const char* needed :
         {"systemd", "libc6", "libsqlcipher0", "libssl3", "libsystemd0", "libstdc++6"})
      CHECK(depends.count(needed) == 1);

    // A synopsis of at most 80 characters, then an extended description of several lines.
    const auto description = lines_of(fields.at("Description"));
    REQUIRE(description.size() >= 6);
    CHECK(!description.front().empty());
    CHECK(description.front().size() <= 80);
    CHECK(description.at(1).find("durationd") != std::string::npos);
  }

  SECTION("conffiles and the maintainer scripts in the control archive") {
    TempDir control;
    run_ok({"/usr/bin/dpkg-deb", "-e", pkg.deb.string(), (control.path() / "DEBIAN").string()});
    const fs::path dir = control.path() / "DEBIAN";
    CHECK(read_file(dir / "conffiles") == "/etc/durationd/durationd.json\n");
    CHECK((fs::status(dir / "conffiles").permissions() & fs::perms::all) == fs::perms(0644));
    for (const char* script : {"postinst", "prerm", "postrm"}) {
      INFO(script);
      const std::string text = read_file(dir / script);
      CHECK(text == read_file(kPackaging / "debian" / script));
      CHECK(text.rfind("#!/bin/sh\n", 0) == 0);
      CHECK(text.find("\nset -e\n") != std::string::npos);
      CHECK((fs::status(dir / script).permissions() & fs::perms::all) == fs::perms(0755));
      run_ok({"/bin/sh", "-n", (dir / script).string()});
    }
  }

  SECTION("it unpacks into a throw-away root with every file in place") {
    TempDir root;
    run_ok({"/usr/bin/dpkg-deb", "-x", pkg.deb.string(), root.path().string()});
    for (const auto& f : files) {
      INFO(f.path);
      const fs::path path = root.path() / f.path;
      struct stat st {};
      REQUIRE(::lstat(path.c_str(), &st) == 0);
      REQUIRE(S_ISREG(st.st_mode));
      CHECK((st.st_mode & 07777) == f.mode);
      if (!f.source) continue;
      if (path.extension() == ".gz") {
        // gzip -9n: no name, no timestamp (FLG has no FNAME, MTIME is 0), best compression.
        const std::string gz = read_file(path);
        REQUIRE(gz.size() > 10);
        CHECK((static_cast<unsigned char>(gz[3]) & 0x08) == 0);
        CHECK(gz.substr(4, 4) == std::string(4, '\0'));
        CHECK(static_cast<unsigned char>(gz[8]) == 2);
        CHECK(run_ok({"/usr/bin/gzip", "-dc", path.string()}) == read_file(*f.source));
      } else {
        CHECK(read_file(path) == read_file(*f.source));
      }
    }

    // Stripped (lintian: unstripped-binary-or-object), and they still run.
    for (const auto& f : files) {
      if (f.mode != 0755) continue;
      INFO(f.path);
      const std::string kind = run_ok({"/usr/bin/file", "-b", (root.path() / f.path).string()});
      CHECK(kind.find("ELF") != std::string::npos);
      CHECK(kind.find(", stripped") != std::string::npos);
    }
    CHECK(trimmed(run_ok({(root.path() / "usr/bin/durationd").string(), "--version"})) ==
          "durationd " + kVersion);
    CHECK(trimmed(run_ok({(root.path() / "usr/bin/durationctl").string(), "--version"})) ==
          "durationctl " + kVersion);

    // The changelog's newest entry is this version, in Debian's format.
    const auto entry = run_ok(
        {"/usr/bin/gzip", "-dc", (root.path() / "usr/share/doc/durationd/changelog.gz").string()});
    CHECK(lines_of(entry).front() == "durationd (" + kVersion + ") unstable; urgency=medium");
    CHECK(std::regex_search(
        entry,
        std::regex(R"(\n -- durationd maintainers <durationd@example\.org>  )"
                   R"([A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} \+0000\n)")));
    // DEP-5, naming the license of the LICENSE file.
    const std::string copyright = read_file(root.path() / "usr/share/doc/durationd/copyright");
    CHECK(copyright.rfind(
              "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n", 0) ==
          0);
    CHECK(copyright.find("\nLicense: MIT\n") != std::string::npos);
    CHECK(read_file(kPackaging.parent_path() / "LICENSE").find("MIT License") != std::string::npos);
  }

  SECTION("each man page documents every option and command of its binary's --help") {
    TempDir root;
    run_ok({"/usr/bin/dpkg-deb", "-x", pkg.deb.string(), root.path().string()});
    struct Page {
      std::string binary, help_flag, page;
    };
    std::vector<Page> pages = {{"durationd", "--help", "usr/share/man/man8/durationd.8.gz"},
                               {"durationctl", "--help", "usr/share/man/man1/durationctl.1.gz"}};
#ifdef DURATIOND_BENCH_BINARY
    pages.push_back({"durationd-bench", "-h", "usr/share/man/man1/durationd-bench.1.gz"});
#endif
    for (const auto& p : pages) {
      INFO(p.page);
      const std::string help = run_ok({(root.path() / "usr/bin" / p.binary).string(), p.help_flag});
      const std::string text =
          man_text(run_ok({"/usr/bin/gzip", "-dc", (root.path() / p.page).string()}));
      std::set<std::string> words = options_in(help);
      // Commands: "durationd keygen ...", and durationctl's "  cache get ...".
      const std::regex command(p.binary == "durationctl" ? R"(^  ([a-z][a-z-]*)(?: ([a-z|]+))?)"
                                                         : R"(^  durationd ([a-z]+))");
      for (const auto& line : lines_of(help)) {
        std::smatch m;
        if (!std::regex_search(line, m, command)) continue;
        for (std::size_t i = 1; i < m.size(); ++i) {
          std::istringstream alternatives(m[i].str());
          for (std::string w; std::getline(alternatives, w, '|');)
            if (!w.empty()) words.insert(w);
        }
      }
      // durationd-bench's tests: "-t TESTS comma list of ping,get,...".
      std::smatch tests;
      if (std::regex_search(help, tests, std::regex(R"(comma list of ([a-z,]+))"))) {
        std::istringstream list(tests[1].str());
        for (std::string t; std::getline(list, t, ',');) words.insert(t);
      }
      CHECK(words.size() >= 5);
      for (const auto& w : words) {
        INFO(p.binary << " --help names " << w << ", its man page does not");
        CHECK(mentions(text, w));
      }
    }
  }
}

// What the maintainer scripts look at on the machine they run on.
struct Machine {
  bool systemd = true;    // /run/systemd/system exists
  bool config = true;     // dpkg has unpacked /etc/durationd/durationd.json
  bool key = false;       // /etc/durationd/durationd.key
  bool key_cred = false;  // /etc/durationd/durationd.key.cred
};

TEST_CASE("package: the maintainer scripts make the Debian calls, in order, for each action") {
  if (run_command({"/usr/bin/unshare", "-m", "/bin/true"}).exit_code != 0) {
    WARN("unshare -m is not permitted here: the maintainer scripts cannot be run on this machine");
    return;
  }
  // Each script runs in a private mount namespace with /etc and /run on empty tmpfs, set
  // up as `Machine` says, and PATH holding only a stub that logs its arguments for
  // every command the scripts call: nothing on this machine is touched.
  TempDir stubs;
  const fs::path log = stubs.path() / "log";
  {
    std::ofstream stub(stubs.path() / "stub");
    stub
        << "#!/bin/sh\n"
           "echo \"${0##*/} $*\" >> \"$STUB_LOG\"\n"
           "case \"${0##*/} $*\" in\n"
           "  'deb-systemd-helper --quiet was-enabled durationd.socket') exit \"$WAS_ENABLED\" ;;\n"
           "  'dpkg-statoverride --list '*) exit 1 ;;\n"  // no override
           "esac\n"
           "exit 0\n";
  }
  fs::permissions(stubs.path() / "stub", fs::perms(0755));
  for (const char* name :
       {"systemd-sysusers", "systemd-tmpfiles", "durationd", "chgrp", "chmod", "dpkg-statoverride",
        "deb-systemd-helper", "deb-systemd-invoke", "systemctl", "rm", "rmdir"})
    fs::create_symlink(stubs.path() / "stub", stubs.path() / name);

  const auto run_script = [&](const std::string& script, const std::vector<std::string>& args,
                              const Machine& machine, const char* was_enabled = "0") {
    fs::remove(log);
    std::string setup =
        "mount -t tmpfs -o mode=0755 tmpfs /run && mount -t tmpfs -o mode=0755 tmpfs /etc && "
        "mkdir /etc/durationd";
    if (machine.systemd) setup += " && mkdir -p /run/systemd/system";
    if (machine.config) setup += " && : > /etc/durationd/durationd.json";
    if (machine.key) setup += " && : > /etc/durationd/durationd.key";
    if (machine.key_cred) setup += " && : > /etc/durationd/durationd.key.cred";
    setup += " && PATH=\"$STUBS\" exec /bin/sh \"$@\"";
    std::vector<std::string> argv = {"/usr/bin/unshare",
                                     "-m",
                                     "--propagation",
                                     "private",
                                     "/bin/sh",
                                     "-c",
                                     setup,
                                     "sh",
                                     (kPackaging / "debian" / script).string()};
    argv.insert(argv.end(), args.begin(), args.end());
    const auto r = run_command(argv, {{"STUBS", stubs.path().string()},
                                      {"STUB_LOG", log.string()},
                                      {"WAS_ENABLED", was_enabled},
                                      {"DPKG_ROOT", ""}});
    INFO(script << " stderr: " << r.stderr_text);
    REQUIRE(r.exit_code == 0);
    return lines_of(read_file(log));
  };
  using Calls = std::vector<std::string>;
  const Calls setup_calls = {
      "systemd-sysusers durationd.conf",
      "systemd-tmpfiles --create durationd.conf",
  };
  const Calls config_calls = {
      "dpkg-statoverride --list /etc/durationd/durationd.json",
      "chgrp durationd /etc/durationd/durationd.json",
      "chmod 0640 /etc/durationd/durationd.json",
  };
  const auto join = [](std::initializer_list<Calls> parts) {
    Calls all;
    for (const auto& p : parts) all.insert(all.end(), p.begin(), p.end());
    return all;
  };

  SECTION(
      "postinst configure, first install: user, dirs, key, config, socket enabled and started") {
    const Calls expected =
        join({setup_calls,
              {"durationd keygen /etc/durationd/durationd.key"},
              config_calls,
              {"deb-systemd-helper unmask durationd.socket",
               "deb-systemd-helper --quiet was-enabled durationd.socket",
               "deb-systemd-helper enable durationd.socket", "systemctl --system daemon-reload",
               "deb-systemd-invoke start durationd.socket"}});
    CHECK(run_script("postinst", {"configure"}, Machine{}) == expected);
  }
  SECTION("postinst configure without systemd running: enabled, not started; a key is kept") {
    const Calls expected = join({setup_calls,
                                 config_calls,
                                 {"deb-systemd-helper unmask durationd.socket",
                                  "deb-systemd-helper --quiet was-enabled durationd.socket",
                                  "deb-systemd-helper enable durationd.socket"}});
    CHECK(run_script("postinst", {"configure"}, Machine{.systemd = false, .key = true}) ==
          expected);
  }
  SECTION("postinst configure on upgrade: a disabled socket stays disabled, the daemon restarts") {
    // An encrypted credential in place of the key: no new plaintext key either.
    const Calls expected = join(
        {setup_calls,
         config_calls,
         {"deb-systemd-helper unmask durationd.socket",
          "deb-systemd-helper --quiet was-enabled durationd.socket",
          "deb-systemd-helper update-state durationd.socket", "systemctl --system daemon-reload",
          "deb-systemd-invoke try-restart durationd.service",
          "deb-systemd-invoke start durationd.socket"}});
    CHECK(run_script("postinst", {"configure", "0.0.9"}, Machine{.key_cred = true}, "1") ==
          expected);
  }
  SECTION("postinst leaves a config the admin deleted alone") {
    const Calls calls =
        run_script("postinst", {"configure"}, Machine{.config = false, .key = true});
    for (const auto& c : config_calls)
      CHECK(std::find(calls.begin(), calls.end(), c) == calls.end());
  }
  SECTION("prerm: stops the units on remove only") {
    CHECK(run_script("prerm", {"upgrade", "0.2.0"}, Machine{}).empty());
    CHECK(run_script("prerm", {"remove"}, Machine{}) ==
          Calls{"deb-systemd-invoke stop durationd.service durationd.socket"});
    CHECK(run_script("prerm", {"remove"}, Machine{.systemd = false}).empty());
  }
  SECTION("postrm: remove keeps the data; purge removes it, the key and the unit state") {
    // deb-systemd-helper is checked for at its real path (init-system-helpers is Essential).
    const bool helper = ::access("/usr/bin/deb-systemd-helper", X_OK) == 0;
    Calls expected = {"systemctl --system daemon-reload"};
    if (helper) expected.push_back("deb-systemd-helper mask durationd.socket");
    CHECK(run_script("postrm", {"remove"}, Machine{.key = true}) == expected);

    expected.clear();
    if (helper) {
      expected.push_back("deb-systemd-helper purge durationd.socket");
      expected.push_back("deb-systemd-helper unmask durationd.socket");
    }
    expected.push_back("rm -rf /var/lib/durationd");
    expected.push_back("rm -f /etc/durationd/durationd.key");
    expected.push_back("rmdir --ignore-fail-on-non-empty /etc/durationd");
    CHECK(run_script("postrm", {"purge"}, Machine{.key = true}) == expected);
    CHECK(run_script("postrm", {"upgrade", "0.2.0"}, Machine{}).empty());
  }
}

TEST_CASE("package: lintian reports no errors") {
  const Package& pkg = package();
  std::string out;
  // --tag-display-limit 0 is --no-tag-display-limit's current spelling: every instance.
  const auto r = run_command({"/usr/bin/lintian", "--tag-display-limit", "0", pkg.deb.string()}, {},
                             &out, 300s);
  INFO("lintian stdout:\n" << out << "\nstderr:\n" << r.stderr_text);
  std::vector<std::string> errors;
  for (const auto& line : lines_of(out)) {
    if (line.rfind("E: ", 0) == 0) errors.push_back(line);
    if (line.rfind("W: ", 0) == 0) WARN(line);
  }
  CHECK(errors.empty());
  CHECK(r.exit_code == 0);
}
