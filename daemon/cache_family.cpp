#include "daemon/cache_family.hpp"

#include <spdlog/spdlog.h>
#include <time.h>

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <deque>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "daemon/cache_memory_tier.hpp"
#include "daemon/cache_store.hpp"
#include "ipc/args.hpp"
#include "ipc/msgpack_writer.hpp"
#include "ipc/value_validator.hpp"

namespace durationd::app {
namespace {

namespace asio = boost::asio;
using cache::BatchOutcome;
using cache::CacheCounters;
using cache::Entry;
using cache::EntryState;
using cache::Namespace;
using cache::OpKind;

constexpr std::string_view kNsAlphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._:-";
constexpr ipc::StrRule kKeyRule{.min = 1, .max = 1024, .required = true};
constexpr ipc::StrRule kNsRule{.max = 64, .alphabet = kNsAlphabet};
// Bytes of queued writes beyond which a put waits for the batch in flight to commit: a
// client writing faster than the disk takes it is slowed down instead of growing memory.
// Small enough that a batch commits in well under a second on 2 cores (~20-40 us a row): at
// 64 MiB, puts stalled 10-19 s behind a batch and the next (durationd-bench -t put).
constexpr std::size_t kMaxQueuedBytes = std::size_t{16} << 20;
// Queued writes one write-behind batch takes (unless someone waits for the whole queue):
// its transaction holds cache.db's writer for ~20-100 ms (75-400 us a write, mostly
// SQLCipher encrypting, reading and decrypting pages), and durable puts, which commit
// between batches (urgent jobs), wait for at most one. At 1024, compare.sh's putd rounds that overlapped the previous
// round's write-behind had p99s of 130-150 ms.
constexpr std::size_t kMaxBatchOps = 256;
// Index slots the memory sweep visits before letting other work run.
constexpr std::size_t kSweepChunk = 4096;

std::int64_t wall_ms() {
  timespec ts{};
  ::clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1'000'000;
}

// ArgsReader treats nil as absent, as the contract says of optional arguments; but a
// cache value is required and nil is one of its types. Last occurrence wins, as there.
std::optional<ipc::Bytes> find_value_arg(ipc::Bytes args, std::string_view name) {
  if (args.empty()) return std::nullopt;
  ipc::MsgpackReader r(args);
  ipc::MsgToken map;
  if (!r.next(map) || map.kind != ipc::MsgKind::kMap) return std::nullopt;
  std::optional<ipc::Bytes> found;
  for (std::uint32_t i = 0; i < map.count; ++i) {
    ipc::MsgToken key;
    ipc::Bytes value;
    if (!r.next_key(key) || !r.read_raw(value)) return std::nullopt;
    if (key.kind == ipc::MsgKind::kStr && ipc::as_chars(key.payload) == name) found = value;
  }
  return found;
}

void fail(ipc::Reply& reply, const ipc::WireError& error) {
  reply.fail(error.code, error.message);
}

void not_found(ipc::Reply& reply) {
  reply.fail(ipc::WireCode::kNotFound, "no such key");
}

void write_value(ipc::Reply& reply, ipc::Bytes value, std::int64_t expires_at_ms,
                 std::int64_t now_ms) {
  auto& w = reply.result();
  w.pack_map(2);
  ipc::pack_str(w, "value");
  reply.append_raw(value);
  ipc::pack_str(w, "ttl_ms");
  if (expires_at_ms == 0) {
    w.pack_nil();
  } else {
    w.pack_uint64(static_cast<std::uint64_t>(expires_at_ms - now_ms));
  }
}

// A batch the callers of one flush wait on: completed once its commit is known.
struct CommitSlot {
  explicit CommitSlot(const asio::any_io_executor& ex)
      : event(ex, asio::steady_timer::time_point::max()) {}

  asio::awaitable<void> wait() {
    while (!done) co_await event.async_wait(asio::as_tuple(asio::use_awaitable));
  }
  void complete(bool committed, std::shared_ptr<const BatchOutcome> what) {
    done = true;
    ok = committed;
    outcome = std::move(what);
    event.cancel();
  }

  asio::steady_timer event;  // never expires: cancel() wakes every waiter
  bool done = false;
  bool ok = false;
  std::shared_ptr<const BatchOutcome> outcome;
};

// What an op other than a put or delete names.
struct OpTarget {
  uid_t uid = 0;
  std::string ns, key, extra;
};

// A write waiting for the next flush, in event-loop order. Small (40 bytes): a burst
// queues ~100,000 of them, allocated among the entries they carry.
struct QueuedOp {
  OpKind kind;
  Entry* entry = nullptr;                // kPut and kDelete: the entry (or tombstone) to write
  std::unique_ptr<OpTarget> target;      // other kinds
  std::uint64_t ticket = 0;
  std::int64_t journal_id = 0;  // a durable put's journal row (see cache_store.hpp)
};

// Durable puts appended to the journal by one job (see cache_store.hpp): those made
// in one turn of the event loop share it, and its commit.
struct JournalGroup {
  explicit JournalGroup(const asio::any_io_executor& ex) : slot(std::make_shared<CommitSlot>(ex)) {}
  cache::Batch records;
  std::vector<std::int64_t> ids;  // each record's journal row, once appended
  std::shared_ptr<CommitSlot> slot;
};

// A read of cache.db in progress. Writes to its key while it runs mark it, so a value
// read before a newer write is never promoted over it.
struct InflightRead {
  Namespace* ns;
  std::string_view key;
  bool invalidated = false;
};

class CacheFamilyImpl final : public CacheFamily {
 public:
  CacheFamilyImpl(OpRegistry& registry, AppContext& ctx);
  ~CacheFamilyImpl() override;

  void start() override;
  void stop() override;
  void flush() override;
  // The subkey follows cache.db's salt by itself; this only drops the old one at once.
  void on_keys_rotated() override { store_.forget_integrity_key(); }
  std::string_view status_key() const override { return "cache"; }
  asio::awaitable<void> pack_status(ipc::MsgpackWriter& writer) override;
  void write_metrics(MetricsText& m) const override;

  CacheCounters totals() const override { return stats_.totals(); }
  CacheCounters counters(uid_t uid) const override {
    const CacheCounters* c = stats_.find(uid);
    return c ? *c : CacheCounters{};
  }

 private:
  // A reference to a namespace held across a suspension.
  class NsRef {
   public:
    NsRef(cache::MemoryTier& tier, Namespace& ns) : tier_(tier), ns_(ns) {}
    ~NsRef() { tier_.release_namespace(ns_); }
    NsRef(const NsRef&) = delete;
    NsRef& operator=(const NsRef&) = delete;
    Namespace& operator*() const { return ns_; }
    Namespace* operator->() const { return &ns_; }

   private:
    cache::MemoryTier& tier_;
    Namespace& ns_;
  };

  asio::awaitable<void> put(OpCall& call);
  asio::awaitable<void> get(OpCall& call);
  asio::awaitable<void> get_from_disk(OpCall& call, std::string_view ns_name, std::string_view key);
  asio::awaitable<void> del(OpCall& call);
  asio::awaitable<void> clear(OpCall& call);
  asio::awaitable<void> stats(OpCall& call);

  // Puts a write into the memory tier and the write-behind queue.
  Entry* remember(uid_t uid, std::string_view ns_name, std::string_view key, ipc::Bytes value,
                  std::int64_t expires_at, std::uint8_t flags, std::int64_t journal_id = 0);
  // A durable put: appended to the journal and committed, then remembered. False: the
  // commit failed and nothing was stored.
  asio::awaitable<bool> journal_put(uid_t uid, std::string_view ns_name, std::string_view key,
                                    ipc::Bytes value, std::int64_t expires_at);
  void submit_journal();
  // Answers a get from a memory entry (a tombstone or an expired entry is a miss).
  void answer_from_memory(OpCall& call, Entry& e, std::int64_t now_ms);
  // Drops an expired entry and queues the deletion of its row (where it is counted).
  void expire(Entry& e);
  void promote(Namespace& ns, std::string_view key, const std::string& value,
               std::int64_t expires_at_ms);
  void invalidate_reads(const Namespace* ns, std::string_view key);
  void enforce_memory_budget();
  // Commits everything queued, sweeping expired rows, so counters are exact.
  asio::awaitable<void> settle_counters();
  static void pack_counters(ipc::MsgpackWriter& w, const CacheCounters& c);

  // ---- The write-behind pipeline ----
  void enqueue_entry(Entry* e, std::uint64_t ticket = 0, std::int64_t journal_id = 0);
  void enqueue_op(OpKind kind, uid_t uid, std::string_view ns, std::string_view key,
                  std::string_view extra = {}, std::uint64_t ticket = 0);
  // After a write that nobody waits for: flush within the interval (or now, if a lot is queued).
  void schedule_write();
  void arm_flush_timer();
  // Flushes the queue now and waits for its commit.
  asio::awaitable<std::shared_ptr<CommitSlot>> commit_queued();
  asio::awaitable<bool> commits_again();
  // Too much is queued: waits until the batch in flight (or one started now) commits.
  asio::awaitable<void> wait_for_room();
  void maybe_flush();
  // Takes up to `limit` queued writes, oldest first, into a batch.
  std::shared_ptr<cache::Batch> take_batch(std::vector<Entry*>& entries, std::size_t limit);
  void on_committed(const storage::Result<void>& result,
                    std::shared_ptr<const BatchOutcome> outcome, std::shared_ptr<CommitSlot> slot,
                    const std::vector<Entry*>& entries);
  void on_disk_eviction(const cache::RowKey& row);

  void arm_sweep_timer();
  asio::awaitable<void> sweep_memory();

  AppContext& ctx_;
  const std::chrono::milliseconds flush_interval_;
  const std::chrono::milliseconds sweep_interval_;
  cache::CacheStatsTable stats_;
  cache::MemoryTier tier_;
  cache::CacheStore store_;

  std::deque<QueuedOp> queue_;  // batches take from the front
  std::size_t queued_bytes_ = 0;
  std::shared_ptr<CommitSlot> open_slot_;  // waiters for the batch that will carry queue_
  std::shared_ptr<CommitSlot> inflight_slot_;  // completes when the batch in flight has committed
  std::shared_ptr<JournalGroup> journal_open_;  // durable puts waiting for their job
  bool backlog_ = false;  // the last batch left writes queued: flush again at once
  bool inflight_ = false;
  bool flush_soon_ = false;  // someone waits: flush as soon as nothing is in flight
  bool flush_due_ = false;   // the flush interval has passed
  bool sweep_requested_ = false;
  bool stopping_ = false;
  bool sweeping_ = false;
  // The last commit failed (disk full, read-only, I/O errors): see commits_again().
  bool store_failing_ = false;
  std::vector<Entry*> inflight_entries_;
  std::int64_t disk_bytes_ = 0;  // what the disk budget counts, as of the last commit
  std::uint64_t next_ticket_ = 1;
  std::vector<InflightRead*> reads_;
  asio::steady_timer flush_timer_;
  bool flush_timer_armed_ = false;
  asio::steady_timer sweep_timer_;
};

std::size_t effective_memory_budget(const Config& config) {
  // Entries held in memory are kept on disk too; a memory tier larger than half the disk
  // budget would make the disk evict entries that are hot in memory over and over.
  const std::size_t cap = static_cast<std::size_t>(config.cache_disk_budget_bytes / 2);
  if (config.cache_memory_budget_bytes > cap) {
    spdlog::warn(
        "cache_memory_budget_bytes {} is more than half of cache_disk_budget_bytes {}: using {}",
        config.cache_memory_budget_bytes, config.cache_disk_budget_bytes, cap);
    return cap;
  }
  return static_cast<std::size_t>(config.cache_memory_budget_bytes);
}

CacheFamilyImpl::CacheFamilyImpl(OpRegistry& registry, AppContext& ctx)
    : ctx_(ctx),
      flush_interval_(ctx.config.cache_flush_interval),
      sweep_interval_(ctx.config.cache_sweep_interval),
      tier_(effective_memory_budget(ctx.config)),
      store_(ctx.store, static_cast<std::int64_t>(ctx.config.cache_disk_budget_bytes)),
      flush_timer_(ctx.loop),
      sweep_timer_(ctx.loop) {
  registry.add("cache.put", {[this](OpCall& call) { return put(call); }});
  registry.add("cache.get", {[this](OpCall& call) { return get(call); }});
  registry.add("cache.del", {[this](OpCall& call) { return del(call); }});
  registry.add("cache.clear", {[this](OpCall& call) { return clear(call); }});
  registry.add("cache.stats", {[this](OpCall& call) { return stats(call); }});
}

CacheFamilyImpl::~CacheFamilyImpl() {
  // Queued and in-flight entries are held by the pipeline, not by the index.
  auto drop = [this](Entry* e) {
    e->state = EntryState::kDetached;
    tier_.release(e);
  };
  for (auto& op : queue_)
    if (op.entry) drop(op.entry);
  for (Entry* e : inflight_entries_) drop(e);
}

// ---- Family hooks ----------------------------------------------------------------------

void CacheFamilyImpl::start() {
  // The journal first, before anything is served (the loop has not run yet): a get
  // must not read cache_entries without the durable puts it is missing. A journal that
  // cannot be replayed stops the daemon, as a WAL that cannot be replayed stops
  // PostgreSQL: serving without it would answer with older values.
  std::optional<storage::Result<void>> replayed;
  auto outcome = std::make_shared<cache::ReplayOutcome>();
  ctx_.cache_writer.submit(
      [this, outcome](storage::Connection& c) -> storage::Result<void> {
        auto r = store_.replay_journal(c, wall_ms());
        if (!r) return r.error();
        *outcome = std::move(*r);
        return {};
      },
      [&replayed](storage::Result<void> r) { replayed = std::move(r); });
  ctx_.cache_writer.flush();
  if (!replayed || !*replayed)
    throw std::runtime_error("cache.db: cannot replay the durable-put journal: " +
                             (replayed ? replayed->error().message : std::string("no result")));
  for (const auto& [uid, ns] : outcome->tampered) cache::on_integrity_failure(uid, ns, &ctx_.security);
  if (outcome->replayed > 0)
    spdlog::info("cache: {} durable puts from the journal written to cache.db", outcome->replayed);

  // The totals on disk. As the cache writer's next job, it precedes every batch, and
  // its completion reaches the loop before theirs.
  auto loaded = std::make_shared<cache::LoadedState>();
  ctx_.cache_writer.async_commit(
      [this, loaded](storage::Connection& c) -> storage::Result<void> {
        auto state = store_.load(c);
        if (!state) return state.error();
        *loaded = std::move(*state);
        return {};
      },
      asio::bind_executor(ctx_.loop, [this, loaded](const storage::Result<void>& result) {
        if (!result) {
          spdlog::error("cache: cannot read the totals of cache.db: {}", result.error().message);
          return;
        }
        for (const auto& d : loaded->per_uid) {
          CacheCounters& c = stats_.of(d.uid);
          c.entries += d.entries;
          c.bytes += d.bytes;
        }
        disk_bytes_ += loaded->disk_bytes;
        spdlog::info("cache: {} entries on disk ({} bytes of {} budget)", stats_.totals().entries,
                     disk_bytes_, store_.disk_budget());
      }));
  arm_sweep_timer();
}

void CacheFamilyImpl::stop() {
  stopping_ = true;
  flush_timer_.cancel();
  sweep_timer_.cancel();
}

void CacheFamilyImpl::flush() {
  // The event loop has finished: nothing is in flight, and no completion can run.
  if (queue_.empty()) return;
  std::vector<Entry*> entries;
  auto batch = take_batch(entries, SIZE_MAX);
  inflight_entries_ = std::move(entries);
  auto outcome = std::make_shared<BatchOutcome>();
  std::optional<storage::Result<void>> result;
  ctx_.cache_writer.submit(
      [this, batch, outcome](storage::Connection& c) { return store_.apply(c, *batch, *outcome); },
      [&result](storage::Result<void> r) { result = std::move(r); });
  ctx_.cache_writer.flush();
  if (result && *result) {
    spdlog::info("cache: wrote {} pending writes to cache.db", batch->ops.size());
  } else {
    spdlog::error("cache: {} pending writes could not be written to cache.db: {}",
                  batch->ops.size(), result ? result->error().message : std::string("no result"));
  }
}

// ---- Ops -------------------------------------------------------------------------------

asio::awaitable<void> CacheFamilyImpl::put(OpCall& call) {
  ipc::ArgsReader args(call.request.args);
  const auto key = args.str("key", kKeyRule);
  const auto ns_name = args.str("ns", kNsRule);
  const auto ttl_ms = args.uint("ttl_ms");
  const auto durable = args.boolean("durable");
  if (args.failed()) co_return fail(call.reply, args.error());
  const auto value = find_value_arg(call.request.args, "value");
  if (!value) co_return call.reply.fail(ipc::WireCode::kBadRequest, "value: missing");
  if (auto invalid = ipc::validate_value(*value)) co_return fail(call.reply, *invalid);
  const bool after_failure = store_failing_;
  if (after_failure && !co_await commits_again())
    co_return call.reply.fail(ipc::WireCode::kUnavailable,
                              "cache.db cannot be written now; nothing was stored");

  const std::int64_t now = wall_ms();
  std::int64_t expires_at = 0;
  if (ttl_ms && *ttl_ms > 0) {
    constexpr std::int64_t kFarFuture = INT64_MAX / 2;
    expires_at = *ttl_ms >= static_cast<std::uint64_t>(kFarFuture - now)
                     ? kFarFuture
                     : now + static_cast<std::int64_t>(*ttl_ms);
  }
  const bool over_budget = queued_bytes_ > kMaxQueuedBytes;
  const uid_t uid = call.peer.uid;
  if (after_failure) {
    // After a failure, the first write is answered only once it is on disk: an empty
    // commit proves nothing about a full disk.
    remember(uid, ns_name.value_or(""), *key, *value, expires_at, Entry::kDurable);
    enforce_memory_budget();
    const auto slot = co_await commit_queued();
    if (!slot->ok)
      co_return call.reply.fail(ipc::WireCode::kUnavailable,
                                "cache.db cannot be written now; nothing was stored");
  } else if (durable.value_or(false)) {
    if (!co_await journal_put(uid, ns_name.value_or(""), *key, *value, expires_at))
      co_return call.reply.fail(ipc::WireCode::kUnavailable,
                                "cache.db cannot be written now; nothing was stored");
    if (queued_bytes_ > kMaxQueuedBytes) co_await wait_for_room();
  } else {
    remember(uid, ns_name.value_or(""), *key, *value, expires_at, 0);
    enforce_memory_budget();
    if (over_budget) {
      co_await wait_for_room();
    } else {
      schedule_write();
    }
  }
  auto& w = call.reply.result();
  w.pack_map(1);
  ipc::pack_str(w, "stored");
  w.pack_true();
}

Entry* CacheFamilyImpl::remember(uid_t uid, std::string_view ns_name, std::string_view key,
                                 ipc::Bytes value, std::int64_t expires_at, std::uint8_t flags,
                                 std::int64_t journal_id) {
  Namespace& ns = tier_.acquire_namespace(uid, ns_name, stats_.of(uid));
  // A queued put this one replaces will not be written: its bytes leave the queue's count.
  if (const Entry* old = tier_.find(ns, key);
      old && old->state == EntryState::kQueued && !old->is(Entry::kTombstone))
    queued_bytes_ -= std::min(queued_bytes_, std::size_t{old->key_size} + old->value_size);
  Entry* e = tier_.create(ns, key, value, expires_at, flags);
  tier_.release_namespace(ns);  // the entry holds it now
  tier_.insert(e);
  invalidate_reads(&ns, key);
  enqueue_entry(e, 0, journal_id);
  return e;
}

asio::awaitable<bool> CacheFamilyImpl::journal_put(uid_t uid, std::string_view ns_name,
                                                   std::string_view key, ipc::Bytes value,
                                                   std::int64_t expires_at) {
  if (!journal_open_) {
    journal_open_ = std::make_shared<JournalGroup>(ctx_.loop);
    // After the handlers ready now (other clients' requests) have added theirs.
    asio::post(ctx_.loop, [this] { submit_journal(); });
  }
  const auto group = journal_open_;
  group->records.add(OpKind::kPut, uid, ns_name, key, value, expires_at);
  co_await group->slot->wait();
  co_return group->slot->ok;
}

void CacheFamilyImpl::submit_journal() {
  auto group = std::exchange(journal_open_, nullptr);
  // Urgent: ahead of write-behind batches already queued. Safe, as a batch deletes only
  // journal rows committed before it was taken.
  ctx_.cache_writer.async_commit(
      [this, group](storage::Connection& c) -> storage::Result<void> {
        auto ids = store_.append_journal(c, group->records);
        if (!ids) return ids.error();
        group->ids = std::move(*ids);
        return {};
      },
      asio::bind_executor(ctx_.loop, [this, group](const storage::Result<void>& result) {
        if (result) {
          // Queued in the order of their rows, after every earlier journaled put: the
          // batch that carries a row's put may delete every row up to it.
          const cache::Batch& r = group->records;
          for (std::size_t i = 0; i < r.ops.size(); ++i) {
            const cache::BatchOp& op = r.ops[i];
            remember(op.uid, r.ns(op), r.key(op), r.value(op), op.expires_at_ms, 0, group->ids[i]);
          }
          enforce_memory_budget();
          schedule_write();
        } else {
          // As after a failed batch: the next writes go through commits_again().
          store_failing_ = true;
          spdlog::warn("cache: journaling {} durable puts failed ({}); none was stored",
                       group->records.ops.size(), result.error().message);
        }
        group->slot->complete(result.has_value(), nullptr);
      }),
      storage::GroupCommitter::Priority::kUrgent);
}

asio::awaitable<void> CacheFamilyImpl::get(OpCall& call) {
  ipc::ArgsReader args(call.request.args);
  const auto key = args.str("key", kKeyRule);
  const auto ns_name = args.str("ns", kNsRule);
  if (args.failed()) co_return fail(call.reply, args.error());
  const std::string_view ns_view = ns_name.value_or("");

  // The hot path: a memory hit is answered here, without suspending or allocating.
  if (Namespace* ns = tier_.find_namespace(call.peer.uid, ns_view)) {
    if (Entry* e = tier_.find(*ns, *key)) co_return answer_from_memory(call, *e, wall_ms());
  }
  co_await get_from_disk(call, ns_view, *key);
}

void CacheFamilyImpl::answer_from_memory(OpCall& call, Entry& e, std::int64_t now_ms) {
  CacheCounters& counters = *e.ns->counters;
  if (e.is(Entry::kTombstone)) {
    ++counters.misses;
    return not_found(call.reply);
  }
  if (e.expired(now_ms)) {
    expire(e);
    ++counters.misses;
    return not_found(call.reply);
  }
  tier_.touch(&e);
  ++counters.hits;
  write_value(call.reply, e.value(), e.expires_at_ms, now_ms);
}

asio::awaitable<void> CacheFamilyImpl::get_from_disk(OpCall& call, std::string_view ns_name,
                                                     std::string_view key) {
  const uid_t uid = call.peer.uid;
  CacheCounters& counters = stats_.of(uid);
  NsRef ns(tier_, tier_.acquire_namespace(uid, ns_name, counters));
  InflightRead read{&*ns, key};
  reads_.push_back(&read);
  struct Unregister {
    std::vector<InflightRead*>& reads;
    InflightRead* read;
    ~Unregister() { std::erase(reads, read); }
  };
  cache::ReadResult found;
  {
    Unregister unregister{reads_, &read};
    const std::int64_t started = wall_ms();
    found = co_await ctx_.workers.run([&] { return store_.read(uid, ns_name, key, started); });
  }
  const std::int64_t now = wall_ms();
  // A write that landed while we read wins (in a new namespace, if a clear came too).
  if (Namespace* current = tier_.find_namespace(uid, ns_name))
    if (Entry* e = tier_.find(*current, key)) co_return answer_from_memory(call, *e, now);

  switch (found.status) {
    case cache::ReadResult::kFailed:
      spdlog::error("cache: reading cache.db failed: {}", found.error);
      co_return call.reply.fail(ipc::WireCode::kUnavailable,
                                "cache.db cannot be read now; try again");
    case cache::ReadResult::kMissing:
      break;
    case cache::ReadResult::kExpired:
      enqueue_op(OpKind::kExpire, uid, ns_name, key);
      break;
    case cache::ReadResult::kTampered:
      cache::on_integrity_failure(uid, ns_name, &ctx_.security, call.peer.pid);
      enqueue_op(OpKind::kDropTampered, uid, ns_name, key, found.mac);
      break;
    case cache::ReadResult::kFound:
      if (found.expires_at_ms != 0 && found.expires_at_ms <= now) {
        enqueue_op(OpKind::kExpire, uid, ns_name, key);
        break;
      }
      if (!read.invalidated && !ns->retired) promote(*ns, key, found.value, found.expires_at_ms);
      ++counters.hits;
      co_return write_value(call.reply, ipc::as_bytes(found.value), found.expires_at_ms, now);
  }
  ++counters.misses;
  not_found(call.reply);
}

asio::awaitable<void> CacheFamilyImpl::del(OpCall& call) {
  ipc::ArgsReader args(call.request.args);
  const auto key = args.str("key", kKeyRule);
  const auto ns_name = args.str("ns", kNsRule);
  if (args.failed()) co_return fail(call.reply, args.error());
  const bool after_failure = store_failing_;
  if (after_failure && !co_await commits_again())
    co_return call.reply.fail(ipc::WireCode::kUnavailable,
                              "cache.db cannot be written now; nothing was deleted");
  const uid_t uid = call.peer.uid;
  const std::int64_t now = wall_ms();

  auto answer = [&call](bool deleted) {
    auto& w = call.reply.result();
    w.pack_map(1);
    ipc::pack_str(w, "deleted");
    deleted ? w.pack_true() : w.pack_false();
  };

  NsRef ns(tier_, tier_.acquire_namespace(uid, ns_name.value_or(""), stats_.of(uid)));
  if (Entry* e = tier_.find(*ns, *key)) {
    // The memory tier knows this key's latest state: answer now, delete behind.
    if (e->is(Entry::kTombstone)) co_return answer(false);
    if (e->expired(now)) {
      expire(*e);
      co_return answer(false);
    }
    if (!after_failure) {
      Entry* tombstone = tier_.create(*ns, *key, {}, 0, Entry::kTombstone);
      tier_.insert(tombstone);
      invalidate_reads(&*ns, *key);
      enqueue_entry(tombstone);
      schedule_write();
      co_return answer(true);
    }
  }
  // Only cache.db knows whether the key exists (or, after a failure, the delete must be
  // on disk before it is answered; commits_again() left nothing queued, so a live entry
  // is on disk too): the answer comes with the commit. The tombstone hides the row from
  // gets meanwhile.
  const std::uint64_t ticket = next_ticket_++;
  Entry* tombstone = tier_.create(*ns, *key, {}, 0, Entry::kTombstone | Entry::kDurable);
  tier_.insert(tombstone);
  invalidate_reads(&*ns, *key);
  enqueue_entry(tombstone, ticket);
  const auto slot = co_await commit_queued();
  if (!slot->ok)
    co_return call.reply.fail(ipc::WireCode::kUnavailable,
                              "cache.db cannot be written now; nothing was deleted");
  answer(slot->outcome->result(ticket) > 0);
}

asio::awaitable<void> CacheFamilyImpl::clear(OpCall& call) {
  ipc::ArgsReader args(call.request.args);
  const auto ns_name = args.str("ns", kNsRule);
  if (args.failed()) co_return fail(call.reply, args.error());
  const uid_t uid = call.peer.uid;
  NsRef ns(tier_, tier_.acquire_namespace(uid, ns_name.value_or(""), stats_.of(uid)));
  // Every memory entry of the namespace is dead from now on (and reads in flight will
  // not promote what they find); the rows go with the commit, which counts them.
  tier_.retire_namespace(*ns);
  const std::uint64_t ticket = next_ticket_++;
  enqueue_op(OpKind::kClear, uid, ns->name, {}, {}, ticket);
  const auto slot = co_await commit_queued();
  if (!slot->ok)
    co_return call.reply.fail(ipc::WireCode::kUnavailable,
                              "cache.db cannot be written now; try again");
  auto& w = call.reply.result();
  w.pack_map(1);
  ipc::pack_str(w, "deleted");
  w.pack_int64(slot->outcome->result(ticket));
}

asio::awaitable<void> CacheFamilyImpl::stats(OpCall& call) {
  co_await settle_counters();
  pack_counters(call.reply.result(), counters(call.peer.uid));
}

asio::awaitable<void> CacheFamilyImpl::pack_status(ipc::MsgpackWriter& writer) {
  co_await settle_counters();
  pack_counters(writer, totals());
}

void CacheFamilyImpl::write_metrics(MetricsText& m) const {
  // entries and bytes are as of the last commit; admin.status settles them first.
  const CacheCounters c = totals();
  auto counter = [&m](std::string_view name, std::string_view help, std::uint64_t value) {
    m.family(name, MetricType::kCounter, help);
    m.sample(value);
  };
  auto gauge = [&m](std::string_view name, std::string_view help, std::int64_t value, std::string_view unit = {}) {
    m.family(name, MetricType::kGauge, help, unit);
    m.sample(static_cast<std::uint64_t>(std::max<std::int64_t>(value, 0)));
  };
  counter("durationd_cache_hits", "cache.get answered with a value.", c.hits);
  counter("durationd_cache_misses", "cache.get answered NOT_FOUND.", c.misses);
  counter("durationd_cache_evictions", "Entries dropped from cache.db to keep it within its budget.", c.evictions);
  counter("durationd_cache_expired", "Entries removed because their TTL ran out.", c.expired);
  counter("durationd_cache_memory_evictions", "Entries dropped from the memory tier (still on disk).",
          c.memory_evictions);
  gauge("durationd_cache_entries", "Entries stored, all uids.", c.entries);
  gauge("durationd_cache_bytes", "Namespace, key and value bytes stored, all uids.", c.bytes, "bytes");
  gauge("durationd_cache_memory_entries", "Entries in the memory tier.", c.memory_entries);
  gauge("durationd_cache_memory_bytes", "Memory tier footprint, as its budget counts it.", c.memory_bytes, "bytes");
}

asio::awaitable<void> CacheFamilyImpl::settle_counters() {
  sweep_requested_ = true;
  const auto slot = co_await commit_queued();
  if (!slot->ok)
    spdlog::warn("cache: counters reported without a commit; entries and bytes may lag");
}

void CacheFamilyImpl::pack_counters(ipc::MsgpackWriter& w, const CacheCounters& c) {
  auto field = [&w](std::string_view name, auto value) {
    ipc::pack_str(w, name);
    if constexpr (std::is_signed_v<decltype(value)>) {
      w.pack_int64(value);
    } else {
      w.pack_uint64(value);
    }
  };
  w.pack_map(9);
  field("entries", c.entries);
  field("bytes", c.bytes);
  field("hits", c.hits);
  field("misses", c.misses);
  field("evictions", c.evictions);
  field("expired", c.expired);
  field("memory_entries", c.memory_entries);
  field("memory_bytes", c.memory_bytes);
  field("memory_evictions", c.memory_evictions);
}

// ---- Memory-tier helpers ---------------------------------------------------------------

void CacheFamilyImpl::expire(Entry& e) {
  enqueue_op(OpKind::kExpire, e.ns->uid, e.ns->name, e.key());
  tier_.erase(&e);
}

void CacheFamilyImpl::promote(Namespace& ns, std::string_view key, const std::string& value,
                              std::int64_t expires_at_ms) {
  if (cache::MemoryTier::footprint(key.size(), value.size()) > tier_.budget()) return;
  Entry* e = tier_.create(ns, key, ipc::as_bytes(value), expires_at_ms, 0);
  tier_.insert(e);
  tier_.link_clean(e);
  // The disk's LRU order learns of the use with the next flush.
  enqueue_op(OpKind::kTouch, ns.uid, ns.name, key);
  enforce_memory_budget();
}

void CacheFamilyImpl::invalidate_reads(const Namespace* ns, std::string_view key) {
  for (InflightRead* r : reads_)
    if (r->ns == ns && r->key == key) r->invalidated = true;
}

void CacheFamilyImpl::enforce_memory_budget() {
  tier_.evict_to_budget([](const Entry& e) { ++e.ns->counters->memory_evictions; });
}

// ---- Write-behind pipeline -------------------------------------------------------------

void CacheFamilyImpl::enqueue_entry(Entry* e, std::uint64_t ticket, std::int64_t journal_id) {
  e->state = EntryState::kQueued;
  queue_.push_back(
      {e->is(Entry::kTombstone) ? OpKind::kDelete : OpKind::kPut, e, nullptr, ticket, journal_id});
  queued_bytes_ += e->key_size + e->value_size;
}

void CacheFamilyImpl::enqueue_op(OpKind kind, uid_t uid, std::string_view ns, std::string_view key,
                                 std::string_view extra, std::uint64_t ticket) {
  queue_.push_back({kind, nullptr,
                    std::make_unique<OpTarget>(OpTarget{uid, std::string(ns), std::string(key), std::string(extra)}),
                    ticket});
  queued_bytes_ += ns.size() + key.size() + extra.size();
  if (ticket == 0) schedule_write();
}

void CacheFamilyImpl::schedule_write() {
  if (queued_bytes_ > kMaxQueuedBytes) {
    flush_soon_ = true;
    maybe_flush();
  } else {
    arm_flush_timer();
  }
}

void CacheFamilyImpl::arm_flush_timer() {
  if (flush_timer_armed_ || stopping_) return;
  flush_timer_armed_ = true;
  flush_timer_.expires_after(flush_interval_);
  flush_timer_.async_wait([this](const boost::system::error_code& ec) {
    flush_timer_armed_ = false;
    if (ec) return;
    flush_due_ = true;
    maybe_flush();
  });
}

asio::awaitable<std::shared_ptr<CommitSlot>> CacheFamilyImpl::commit_queued() {
  if (!open_slot_) open_slot_ = std::make_shared<CommitSlot>(ctx_.loop);
  auto slot = open_slot_;
  flush_soon_ = true;
  maybe_flush();
  co_await slot->wait();
  co_return slot;
}

// After a failed commit, a write is taken only once the queue (the writes acknowledged
// before the failure) commits: until then its writer hears UNAVAILABLE, memory holds
// nothing it was not already promised, and the queue cannot grow without bound. (Checked
// as `store_failing_ && co_await commits_again()`: the hot path makes no coroutine frame.)
asio::awaitable<bool> CacheFamilyImpl::commits_again() {
  const auto slot = co_await commit_queued();
  co_return slot->ok;
}

asio::awaitable<void> CacheFamilyImpl::wait_for_room() {
  flush_soon_ = true;
  maybe_flush();  // starts a batch unless one is in flight
  if (auto slot = inflight_slot_) co_await slot->wait();
}

void CacheFamilyImpl::maybe_flush() {
  if (inflight_) return;  // its completion looks again
  if (queue_.empty() && !sweep_requested_ && !open_slot_) return;

  std::vector<Entry*> entries;
  // Whoever waits on open_slot_ needs the whole queue in this batch.
  auto batch = take_batch(entries, open_slot_ ? SIZE_MAX : kMaxBatchOps);
  auto slot = std::exchange(open_slot_, nullptr);
  if (!slot) slot = std::make_shared<CommitSlot>(ctx_.loop);  // for wait_for_room()
  inflight_slot_ = slot;
  flush_soon_ = flush_due_ = false;
  inflight_ = true;
  inflight_entries_ = entries;
  auto outcome = std::make_shared<BatchOutcome>();
  ctx_.cache_writer.async_commit(
      [this, batch, outcome](storage::Connection& c) { return store_.apply(c, *batch, *outcome); },
      asio::bind_executor(ctx_.loop, [this, outcome, slot, entries = std::move(entries)](
                                         const storage::Result<void>& result) mutable {
        on_committed(result, std::move(outcome), std::move(slot), entries);
      }));
}

std::shared_ptr<cache::Batch> CacheFamilyImpl::take_batch(std::vector<Entry*>& entries,
                                                          std::size_t limit) {
  auto batch = std::make_shared<cache::Batch>();
  batch->now_ms = wall_ms();
  batch->sweep = std::exchange(sweep_requested_, false);
  batch->disk_bytes_before = disk_bytes_;
  const std::size_t taken = std::min(limit, queue_.size());
  batch->ops.reserve(taken);
  std::size_t taken_bytes = 0;  // as enqueue_*() and remember() count them
  for (std::size_t i = 0; i < taken; ++i) {
    QueuedOp op = std::move(queue_.front());
    queue_.pop_front();
    // Journaled puts are queued in the order of their rows, and this batch takes the
    // oldest writes: every row up to its newest is written by it or was by an earlier one.
    batch->journal_upto = std::max(batch->journal_upto, op.journal_id);
    if (Entry* e = op.entry) {
      const bool superseded = !e->is(Entry::kTombstone) && e->is(Entry::kSuperseded);
      if (!superseded) taken_bytes += e->key_size + e->value_size;
      // A put replaced by a newer write before it was flushed need not be written --
      // unless it is journaled: the newer write may come in a later batch, and until
      // then the journal row must stay or the put would be lost in a crash.
      if (superseded && op.journal_id == 0) {
        e->state = EntryState::kDetached;
        tier_.release(e);
        continue;
      }
      e->state = EntryState::kInflight;
      entries.push_back(e);
      batch->add(op.kind, e->ns->uid, e->ns->name, e->key(), e->value(), e->expires_at_ms,
                 op.ticket);
    } else {
      const OpTarget& t = *op.target;
      taken_bytes += t.ns.size() + t.key.size() + t.extra.size();
      batch->add(op.kind, t.uid, t.ns, t.key, ipc::as_bytes(t.extra), 0, op.ticket);
    }
  }
  backlog_ = !queue_.empty();
  queued_bytes_ = backlog_ ? queued_bytes_ - std::min(queued_bytes_, taken_bytes) : 0;
  return batch;
}

void CacheFamilyImpl::on_committed(const storage::Result<void>& result,
                                   std::shared_ptr<const BatchOutcome> outcome,
                                   std::shared_ptr<CommitSlot> slot,
                                   const std::vector<Entry*>& entries) {
  inflight_ = false;
  inflight_slot_.reset();
  inflight_entries_.clear();
  const bool ok = result.has_value();
  if (ok && store_failing_) spdlog::info("cache: cache.db is written again");
  store_failing_ = !ok;
  if (ok) {
    for (const auto& d : outcome->deltas) {
      CacheCounters& c = stats_.of(d.uid);
      c.entries += d.entries;
      c.bytes += d.bytes;
      c.expired += d.expired;
    }
    disk_bytes_ += outcome->disk_bytes_delta;
    for (const auto& [uid, ns] : outcome->tampered)
      cache::on_integrity_failure(uid, ns, &ctx_.security);
    // Before the batch's own entries turn clean: one written and then evicted by this
    // same batch is still in flight here.
    for (const auto& row : outcome->evicted) on_disk_eviction(row);
  } else {
    spdlog::warn(
        "cache: writing {} entries to cache.db failed ({}); acknowledged writes stay queued",
        entries.size(), result.error().message);
  }

  std::vector<QueuedOp> retry;
  for (Entry* e : entries) {
    e->state = EntryState::kDetached;
    if (ok) {
      e->flags &= static_cast<std::uint8_t>(~Entry::kDurable);
      if (e->is(Entry::kTombstone)) {
        tier_.erase(e);  // the row is gone: the index need not remember the delete
      } else if (e->is(Entry::kInIndex)) {
        tier_.link_clean(e);
      } else {
        tier_.release(e);
      }
    } else if (e->is(Entry::kInIndex) && !e->is(Entry::kDurable)) {
      // Acknowledged already: keep it and try again with the next flush.
      e->state = EntryState::kQueued;
      retry.push_back({e->is(Entry::kTombstone) ? OpKind::kDelete : OpKind::kPut, e});
      queued_bytes_ += e->key_size + e->value_size;
    } else {
      // Its writer is told nothing was stored: forget it, so reads go back to the disk.
      tier_.erase(e);
    }
  }
  if (!retry.empty())
    queue_.insert(queue_.begin(), std::make_move_iterator(retry.begin()),
                  std::make_move_iterator(retry.end()));
  enforce_memory_budget();
  slot->complete(ok, std::move(outcome));

  if (queue_.empty() && !sweep_requested_ && !open_slot_) return;
  if (open_slot_ || flush_soon_ ||
      (ok && (flush_due_ || backlog_ || sweep_requested_ || queued_bytes_ > kMaxQueuedBytes))) {
    maybe_flush();
  } else {
    arm_flush_timer();
  }
}

void CacheFamilyImpl::on_disk_eviction(const cache::RowKey& row) {
  CacheCounters& counters = stats_.of(row.uid);
  Namespace* ns = tier_.find_namespace(row.uid, row.ns);
  Entry* e = ns ? tier_.find(*ns, row.key) : nullptr;
  if (ns) invalidate_reads(ns, row.key);
  if (e != nullptr) {
    if (e->is(Entry::kTombstone) || e->state == EntryState::kQueued)
      return;  // a newer write is on its way
    if (e->state == EntryState::kClean) {
      // Hot enough to be in memory: write it back, with a fresh access time, rather
      // than lose it (the disk's LRU order knows nothing of memory hits).
      tier_.detach(e);
      enqueue_entry(e);
      return;
    }
    tier_.erase(e);  // written by this very batch, and evicted by it
  }
  ++counters.evictions;
}

// ---- Sweeping ------------------------------------------------------------------------

void CacheFamilyImpl::arm_sweep_timer() {
  if (stopping_) return;
  sweep_timer_.expires_after(sweep_interval_);
  sweep_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec || stopping_) return;
    if (!sweeping_) asio::co_spawn(ctx_.loop, sweep_memory(), asio::detached);
    // The disk's expired rows go with the next batch, which counts them.
    sweep_requested_ = true;
    maybe_flush();
    arm_sweep_timer();
  });
}

asio::awaitable<void> CacheFamilyImpl::sweep_memory() {
  // Expired entries (and those cache.clear left behind) leave memory quietly: their rows
  // are deleted, and counted, by the disk sweep. Queued ones wait for their flush.
  sweeping_ = true;
  const std::int64_t now = wall_ms();
  std::size_t i = 0;
  while (i < tier_.slot_count() && !stopping_) {
    const std::size_t end = std::min(i + kSweepChunk, tier_.slot_count());
    while (i < end && i < tier_.slot_count()) {
      Entry* e = tier_.slot(i);
      if (e != nullptr && e->state == EntryState::kClean && (e->expired(now) || e->stale())) {
        tier_.erase(e);  // another entry may have moved into slot i
        continue;
      }
      ++i;
    }
    co_await asio::post(ctx_.loop, asio::use_awaitable);
  }
  sweeping_ = false;
}

}  // namespace

std::unique_ptr<CacheFamily> make_cache_family(OpRegistry& registry, AppContext& context) {
  return std::make_unique<CacheFamilyImpl>(registry, context);
}

}  // namespace durationd::app
