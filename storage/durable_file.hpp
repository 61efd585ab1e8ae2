// Making file-system changes survive a crash: fsync a file, fsync a directory (so a
// rename or unlink in it is on disk), and write a small file atomically.
#pragma once

#include <filesystem>
#include <string_view>

#include "storage/error.hpp"

namespace durationd::storage {

Result<void> sync_file(const std::filesystem::path& path);
Result<void> sync_directory(const std::filesystem::path& dir);
// Writes `content` to `path` via a temporary file, fsync and rename (mode 0600).
Result<void> write_file_atomically(const std::filesystem::path& path, std::string_view content);
// rename() + fsync of the directory.
Result<void> rename_durably(const std::filesystem::path& from, const std::filesystem::path& to);
// Removes `path` if it exists (no error when it does not).
Result<void> remove_if_exists(const std::filesystem::path& path);

}  // namespace durationd::storage
