#include "daemon/admin_family.hpp"

#include <unistd.h>

#include <chrono>

#include <openssl/crypto.h>

#include "daemon/admin_metrics.hpp"
#include "daemon/databases.hpp"
#include "durationd/version.hpp"
#include "ipc/args.hpp"
#include "ipc/timestamp.hpp"

namespace durationd::app {
namespace asio = boost::asio;
using ipc::pack_str;
using ipc::WireCode;

namespace {

constexpr std::size_t kMinPassphraseBytes = 16;

ipc::Timestamp to_timestamp(std::chrono::system_clock::time_point t) {
  const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
  return {ns / 1'000'000'000, static_cast<std::uint32_t>(ns % 1'000'000'000)};
}

class AdminFamily final : public Family {
 public:
  AdminFamily(AppContext& context, const std::vector<std::unique_ptr<Family>>& families)
      : ctx_(context), families_(families), started_(std::chrono::steady_clock::now()) {}

  void register_ops(OpRegistry& registry) {
    registry.add("admin.status", {[this](OpCall& call) { return status(call); }, true});
    registry.add("admin.events", {[this](OpCall& call) { return events(call); }, true});
    registry.add("admin.backup", {[this](OpCall& call) { return backup(call); }, true});
    registry.add("admin.rotate_key", {[this](OpCall& call) { return rotate_key(call); }, true});
    registry.add("admin.metrics", {[this](OpCall& call) { return metrics(call); }, true});
  }

 private:
  asio::awaitable<void> status(OpCall& call) {
    auto& w = call.reply.result();
    std::vector<Family*> reporting;
    for (const auto& f : families_)
      if (!f->status_key().empty()) reporting.push_back(f.get());
    const auto& server = ctx_.server->stats();
    // Database facts are read off the event loop (stat calls, pool locks).
    const auto databases = co_await ctx_.workers.run([this] { return ctx_.store.info(); });

    w.pack_map(static_cast<std::uint32_t>(7 + reporting.size()));
    pack_str(w, "version");
    pack_str(w, kVersion);
    pack_str(w, "pid");
    w.pack_int64(::getpid());
    pack_str(w, "uptime_ms");
    w.pack_int64(std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started_).count());
    pack_str(w, "connections");
    w.pack_map(3);
    pack_str(w, "current");
    w.pack_uint64(server.connections_current);
    pack_str(w, "total");
    w.pack_uint64(server.connections_total);
    pack_str(w, "rejected");
    w.pack_uint64(server.connections_rejected);
    pack_str(w, "requests");
    w.pack_map(2);
    pack_str(w, "total");
    w.pack_uint64(server.requests_total);
    pack_str(w, "errors");
    w.pack_uint64(server.requests_errors);
    for (Family* f : reporting) {
      pack_str(w, f->status_key());
      co_await f->pack_status(w);
    }
    pack_status_storage(w, databases);
    pack_str(w, "security");
    w.pack_map(2);
    pack_str(w, "events");
    w.pack_uint64(ctx_.security.total());
    pack_str(w, "suppressed");
    w.pack_uint64(ctx_.security.suppressed());
  }

  void pack_status_storage(ipc::MsgpackWriter& w, const std::vector<storage::DatabaseInfo>& databases) {
    pack_str(w, "storage");
    w.pack_map(2);
    pack_str(w, "databases");
    w.pack_array(static_cast<std::uint32_t>(databases.size()));
    std::size_t pool_size = 0, in_use = 0;
    for (const auto& db : databases) {
      pool_size += db.pool.size;
      in_use += db.pool.in_use;
      w.pack_map(9);
      pack_str(w, "name");
      pack_str(w, db.name);
      pack_str(w, "path");
      pack_str(w, db.path.string());
      pack_str(w, "bytes");
      w.pack_uint64(db.bytes);
      pack_str(w, "wal_bytes");
      w.pack_uint64(db.wal_bytes);
      pack_str(w, "page_size");
      w.pack_uint32(4096);
      pack_str(w, "encrypted");
      w.pack_true();
      pack_str(w, "cipher");
      // SQLCipher 3.4.1: AES-256-CBC pages authenticated with HMAC-SHA1 (see docs).
      pack_str(w, "aes-256-cbc/hmac-sha1");
      pack_str(w, "kdf");
      pack_str(w, "pbkdf2-hmac-sha512");
      pack_str(w, "kdf_iter");
      w.pack_uint32(ctx_.store.kdf_iterations());
    }
    pack_str(w, "pool");
    w.pack_map(2);
    pack_str(w, "size");
    w.pack_uint64(pool_size);
    pack_str(w, "in_use");
    w.pack_uint64(in_use);
  }

  asio::awaitable<void> events(OpCall& call) {
    ipc::ArgsReader args(call.request.args);
    const auto limit = args.uint("limit", {.min = 1, .max = 1000}).value_or(100);
    if (args.failed()) {
      call.reply.fail(args.error().code, args.error().message);
      co_return;
    }
    const auto events = ctx_.security.recent(limit);
    auto& w = call.reply.result();
    w.pack_map(1);
    pack_str(w, "events");
    w.pack_array(static_cast<std::uint32_t>(events.size()));
    for (const auto& e : events) {
      w.pack_map(5);
      pack_str(w, "at");
      ipc::pack_timestamp(w, to_timestamp(e.at));
      pack_str(w, "kind");
      pack_str(w, info_of(e.kind).name);
      pack_str(w, "uid");
      e.uid ? w.pack_uint32(*e.uid) : w.pack_nil();
      pack_str(w, "pid");
      e.pid ? w.pack_int32(*e.pid) : w.pack_nil();
      pack_str(w, "message");
      pack_str(w, e.message);
    }
  }

  asio::awaitable<void> metrics(OpCall& call) {
    const std::string text = render_metrics(ctx_, families_, std::chrono::steady_clock::now() - started_);
    auto& w = call.reply.result();
    w.pack_map(2);
    pack_str(w, "content_type");
    pack_str(w, MetricsText::kContentType);
    pack_str(w, "text");
    pack_str(w, text);
    co_return;
  }

  std::filesystem::path backup_dir() const {
    return ctx_.config.backup_dir.empty() ? ctx_.store.state_dir() / "backups" : ctx_.config.backup_dir;
  }

  asio::awaitable<void> backup(OpCall& call) {
    for (const auto& f : families_) f->flush();  // write-behind data belongs in the backup
    auto result = co_await ctx_.workers.run([this] { return ctx_.store.backup(backup_dir()); });
    if (!result) {
      call.reply.fail(WireCode::kUnavailable, "backup failed: " + result.error().message);
      co_return;
    }
    ctx_.security.record(SecurityEventKind::kBackupCreated, call.peer.uid, call.peer.pid,
                         "backup created in " + result->path.string());
    auto& w = call.reply.result();
    w.pack_map(2);
    pack_str(w, "path");
    pack_str(w, result->path.string());
    pack_str(w, "bytes");
    w.pack_uint64(result->bytes);
  }

  asio::awaitable<void> rotate_key(OpCall& call) {
    ipc::ArgsReader args(call.request.args);
    const auto passphrase = args.str("passphrase", {.min = kMinPassphraseBytes, .max = 4096, .required = true});
    if (args.failed()) {
      call.reply.fail(args.error().code, args.error().message);
      co_return;
    }
    // A private copy in wiped memory: the request buffer is reused by the connection.
    const auto secret = crypto::SecretBytes::copy_of(*passphrase);
    for (const auto& f : families_) f->flush();
    auto rotated = co_await ctx_.workers.run([&] { return ctx_.store.rotate(secret.view(), backup_dir()); });
    if (!rotated) {
      call.reply.fail(WireCode::kUnavailable, "key rotation failed: " + rotated.error().message);
      co_return;
    }
    for (const auto& f : families_) f->on_keys_rotated();
    ctx_.security.record(SecurityEventKind::kKeyRotated, call.peer.uid, call.peer.pid,
                         "databases re-encrypted under a new passphrase; update the key source before the next start");
    auto& w = call.reply.result();
    w.pack_map(1);
    pack_str(w, "rotated");
    w.pack_array(static_cast<std::uint32_t>(rotated->size()));
    for (const auto& name : *rotated) pack_str(w, name);
  }

  AppContext& ctx_;
  const std::vector<std::unique_ptr<Family>>& families_;
  const std::chrono::steady_clock::time_point started_;
};

}  // namespace

std::unique_ptr<Family> make_admin_family(OpRegistry& registry, AppContext& context,
                                          const std::vector<std::unique_ptr<Family>>& families) {
  auto family = std::make_unique<AdminFamily>(context, families);
  family->register_ops(registry);
  return family;
}

}  // namespace durationd::app
