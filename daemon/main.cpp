// durationd: the daemon's entry point. Exceptions end here: one clear line, non-zero.
#include <cstdio>
#include <exception>
#include <iostream>

#include "crypto/keygen.hpp"
#include "daemon/migrate_command.hpp"
#include "daemon/options.hpp"
#include "daemon/serve.hpp"
#include "durationd/version.hpp"

int main(int argc, char** argv) {
  using namespace durationd::app;
  Options options;
  try {
    options = parse_options(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "durationd: " << e.what() << "\n" << usage_text();
    return 2;
  }
  try {
    switch (options.command) {
      case Command::kHelp: std::cout << usage_text(); return 0;
      case Command::kVersion: std::cout << "durationd " << durationd::kVersion << "\n"; return 0;
      case Command::kServe: return serve(options);
      case Command::kKeygen: {
        const auto written = durationd::crypto::write_new_key_file(options.files.front());
        if (!written) {
          std::cerr << "durationd: " << written.error().message << "\n";
          return 1;
        }
        std::cerr << "durationd: wrote a new passphrase to " << options.files.front().string() << " (mode 0600)\n";
        return 0;
      }
      case Command::kMigrate: return run_migrate(options);
      case Command::kInspect: return run_inspect(options);
    }
  } catch (const std::exception& e) {
    std::cerr << "durationd: " << e.what() << "\n";
    return 1;
  }
  return 1;
}
