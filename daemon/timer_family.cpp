#include "daemon/timer_family.hpp"

#include <stdexcept>

#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

#include "daemon/databases.hpp"
#include "daemon/timer_clock.hpp"
#include "daemon/timer_engine.hpp"
#include "daemon/timer_stats.hpp"
#include "daemon/timer_store.hpp"
#include "ipc/args.hpp"

namespace durationd::app {
namespace asio = boost::asio;
using ipc::ArgsReader;
using ipc::WireCode;
using storage::Connection;

namespace {

constexpr std::uint64_t kMaxId = INT64_MAX;
constexpr std::uint64_t kMaxListLimit = 1000;

// A contract timestamp as a bound on millisecond started_at values: for integer m,
// m >= t  <=>  m >= ceil(t), and m < t  <=>  m < ceil(t), so both bounds round up.
std::int64_t bound_ms(const ipc::Timestamp& t) {
  constexpr std::int64_t kLimit = INT64_MAX / 1000 - 1;
  if (t.seconds > kLimit) return INT64_MAX;
  if (t.seconds < -kLimit) return INT64_MIN;
  return t.seconds * 1000 + (t.nanoseconds + 999'999) / 1'000'000;
}

// tz_offset_min may be negative: ArgsReader's uint() cannot read it.
std::optional<std::int64_t> read_tz_offset(ArgsReader& args, std::optional<ipc::WireError>& error) {
  const auto raw = args.raw("tz_offset_min");
  if (!raw) return std::nullopt;
  ipc::MsgpackReader reader(*raw);
  ipc::MsgToken t;
  std::optional<std::int64_t> value;
  if (reader.next(t)) {
    if (t.kind == ipc::MsgKind::kUint && t.uint <= static_cast<std::uint64_t>(kMaxTzOffsetMin))
      value = static_cast<std::int64_t>(t.uint);
    else if (t.kind == ipc::MsgKind::kInt && t.sint >= -kMaxTzOffsetMin)
      value = t.sint;
  }
  if (!value)
    error = ipc::WireError{WireCode::kBadRequest, "tz_offset_min: must be an integer in " +
                                                      std::to_string(-kMaxTzOffsetMin) + ".." +
                                                      std::to_string(kMaxTzOffsetMin)};
  return value;
}

class TimerFamily final : public Family {
 public:
  TimerFamily(AppContext& context, std::unique_ptr<TimerClock> clock)
      : ctx_(context), clock_(std::move(clock)), engine_(*clock_, store_) {
    load();
  }

  void register_ops(OpRegistry& registry) {
    registry.add("timer.start", {[this](OpCall& call) { return start_session(call); }});
    registry.add("timer.pause", {[this](OpCall& call) { return pause_or_resume(call, true); }});
    registry.add("timer.resume", {[this](OpCall& call) { return pause_or_resume(call, false); }});
    registry.add("timer.interrupt", {[this](OpCall& call) { return interrupt(call); }});
    registry.add("timer.stop", {[this](OpCall& call) { return stop_session(call); }});
    registry.add("timer.delete", {[this](OpCall& call) { return remove(call); }});
    registry.add("timer.get", {[this](OpCall& call) { return get(call); }});
    registry.add("timer.list", {[this](OpCall& call) { return list(call); }});
    registry.add("timer.stats", {[this](OpCall& call) { return stats(call); }});
  }

  std::string_view status_key() const override { return "timer"; }

  asio::awaitable<void> pack_status(ipc::MsgpackWriter& w) override {
    auto counts = co_await read([this](Connection& c) { return store_.count_sessions(c); });
    if (!counts) spdlog::warn("timer: admin.status: {}", counts.error().message);
    w.pack_map(2);
    ipc::pack_str(w, "sessions");
    if (counts) {
      w.pack_int64(counts->first);
    } else {
      w.pack_nil();
    }
    ipc::pack_str(w, "running");  // memory knows every running session
    w.pack_int64(static_cast<std::int64_t>(engine_.running_count()));
  }

  void write_metrics(MetricsText& m) const override {
    m.family("durationd_timer_running", MetricType::kGauge, "Focus sessions running now.");
    m.sample(std::uint64_t{engine_.running_count()});
    m.family("durationd_timer_paused", MetricType::kGauge, "Focus sessions paused now.");
    m.sample(std::uint64_t{engine_.active_count() - engine_.running_count()});
  }

 private:
  // ---- start-up ----

  void load() {
    auto lease = ctx_.store.pool(kTimersDatabase).acquire();
    auto snapshot = store_.load_snapshot(*lease);
    if (!snapshot) throw std::runtime_error("timers.db: cannot load the active sessions: " + snapshot.error().message);
    const std::size_t active = snapshot->active.size();
    const auto rebased = engine_.adopt(std::move(*snapshot));
    if (!rebased.empty()) {
      // Open segments recorded in another boot: persist their move onto this boot's
      // clock, so every reader measures them the same way from now on.
      auto tx = storage::Transaction::begin(*lease);
      storage::Result<void> written = tx ? storage::Result<void>() : storage::Result<void>(tx.error());
      for (const auto& s : rebased)
        if (written) written = store_.write_rebase(*lease, s);
      if (written) written = tx->commit();
      if (!written) throw std::runtime_error("timers.db: cannot record sessions across a reboot: " + written.error().message);
      spdlog::info("timer: {} session(s) were open across a reboot; their open time is counted from the wall clock",
                   rebased.size());
    }
    if (active > 0) spdlog::info("timer: {} running or paused session(s) carried over", active);
  }

  // ---- helpers ----

  template <class F>
  asio::awaitable<std::invoke_result_t<F&, Connection&>> read(F f) {
    auto& pool = ctx_.store.pool(kTimersDatabase);
    co_return co_await ctx_.workers.run([&pool, &f]() {
      auto lease = pool.acquire();
      return f(*lease);
    });
  }

  // The one place timer ops turn storage errors into wire errors.
  static void fail_storage(OpCall& call, const storage::Error& e, bool writing) {
    if (e.code == storage::Errc::internal || e.code == storage::Errc::schema) {
      spdlog::error("timer: uid {}: {}", call.peer.uid, e.message);
      call.reply.fail(WireCode::kInternal, "internal error; details are in the daemon's log");
      return;
    }
    spdlog::warn("timer: uid {}: {}", call.peer.uid, e.message);
    call.reply.fail(WireCode::kUnavailable,
                    writing ? "storage is failing; nothing was written" : "storage is failing; try again later");
  }

  // After a failed write the uid's memory is reloaded before its next op.
  asio::awaitable<bool> ensure_loaded(OpCall& call, std::uint32_t uid) {
    while (engine_.needs_reload(uid)) {
      const std::uint64_t epoch = engine_.epoch(uid);
      auto loaded = co_await read([this, uid](Connection& c) { return store_.load_active(c, uid); });
      if (!loaded) {
        fail_storage(call, loaded.error(), true);
        co_return false;
      }
      engine_.install(uid, epoch, std::move(*loaded));
    }
    co_return true;
  }

  // The id is not the uid's active session: an ended session of this uid, or none.
  asio::awaitable<void> explain_inactive(OpCall& call, std::uint32_t uid, std::int64_t id) {
    auto state = co_await read([this, uid, id](Connection& c) { return store_.find_state(c, uid, id); });
    if (!state) co_return fail_storage(call, state.error(), false);
    if (!*state) co_return call.reply.fail(WireCode::kNotFound, "no session " + std::to_string(id));
    if (is_active(**state))  // its stop or delete is being committed right now
      co_return call.reply.fail(WireCode::kConflict, "session " + std::to_string(id) + " is ending");
    call.reply.fail(WireCode::kConflict, "session " + std::to_string(id) + " has ended (" +
                                             std::string(state_name(**state)) + ")");
  }

  // Validates and applies one write in memory, packs the session it leaves, and
  // answers only once the write has committed.
  template <class Apply>
  asio::awaitable<void> write(OpCall& call, std::int64_t id, SessionDetail detail, Apply apply) {
    const std::uint32_t uid = call.peer.uid;
    if (!co_await ensure_loaded(call, uid)) co_return;
    Mutation m = apply(uid);
    if (m.kind == Mutation::Kind::kRefused) co_return call.reply.fail(m.error.code, std::move(m.error.message));
    if (m.kind == Mutation::Kind::kNotActive) co_return co_await explain_inactive(call, uid, id);
    pack_session(call.reply.result(), m.session(), m.now, clock_->boot_id(), detail);
    co_await commit(call, uid, std::move(m));
  }

  asio::awaitable<void> commit(OpCall& call, std::uint32_t uid, Mutation m) {
    auto committed = co_await ctx_.timer_writer.async_commit(std::move(m.job), asio::use_awaitable);
    if (!committed) {
      engine_.write_failed(uid, m.epoch);
      fail_storage(call, committed.error(), true);
    }
  }

  // Every write takes `brief` (an extension): see SessionDetail. Only `brief: true` asks
  // for it; any other value is ignored, as protocol.md says of keys it does not name.
  static SessionDetail read_detail(ArgsReader& args) {
    const auto raw = args.raw("brief");
    const bool brief = raw && raw->size() == 1 && (*raw)[0] == std::byte{0xc3};  // msgpack true
    return brief ? SessionDetail::kBrief : SessionDetail::kFull;
  }

  static std::optional<std::int64_t> read_id(ArgsReader& args) {
    const auto id = args.uint("id", {.max = kMaxId, .required = true});
    return id ? std::optional<std::int64_t>(static_cast<std::int64_t>(*id)) : std::nullopt;
  }

  // ---- writes ----

  asio::awaitable<void> start_session(OpCall& call) {
    ArgsReader args(call.request.args);
    const auto task = args.str("task", {.min = 1, .max = kMaxTaskBytes, .required = true});
    auto tags = args.str_array("tags", kMaxTags, {.min = 1, .max = kMaxTagBytes});
    const auto planned = args.uint("planned_ms", {.max = kMaxPlannedMs});
    const auto note = args.str("note", {.max = kMaxNoteBytes});
    const auto detail = read_detail(args);
    if (args.failed()) co_return call.reply.fail(args.error().code, args.error().message);
    StartArgs start_args{*task, tags ? std::move(*tags) : std::vector<std::string_view>{},
                         planned ? std::optional<std::int64_t>(static_cast<std::int64_t>(*planned)) : std::nullopt,
                         note.value_or("")};
    co_await write(call, 0, detail, [&](std::uint32_t uid) { return engine_.start(uid, start_args); });
  }

  asio::awaitable<void> pause_or_resume(OpCall& call, bool pausing) {
    ArgsReader args(call.request.args);
    const auto id = read_id(args);
    const auto detail = read_detail(args);
    if (args.failed()) co_return call.reply.fail(args.error().code, args.error().message);
    co_await write(call, *id, detail, [&](std::uint32_t uid) {
      return pausing ? engine_.pause(uid, *id) : engine_.resume(uid, *id);
    });
  }

  asio::awaitable<void> interrupt(OpCall& call) {
    ArgsReader args(call.request.args);
    const auto id = read_id(args);
    const auto reason = args.str("reason", {.max = kMaxReasonBytes});
    const auto detail = read_detail(args);
    if (args.failed()) co_return call.reply.fail(args.error().code, args.error().message);
    co_await write(call, *id, detail, [&](std::uint32_t uid) { return engine_.interrupt(uid, *id, reason.value_or("")); });
  }

  asio::awaitable<void> stop_session(OpCall& call) {
    ArgsReader args(call.request.args);
    const auto id = read_id(args);
    const auto outcome = args.str("outcome");
    const auto focus = args.uint("focus", {.min = 1, .max = 5});
    const auto note = args.str("note", {.max = kMaxNoteBytes});
    const auto detail = read_detail(args);
    if (args.failed()) co_return call.reply.fail(args.error().code, args.error().message);
    StopArgs stop_args;
    if (outcome) {
      const auto state = parse_state(*outcome);
      if (!state || is_active(*state))
        co_return call.reply.fail(WireCode::kBadRequest, "outcome: must be \"completed\" or \"abandoned\"");
      stop_args.outcome = *state;
    }
    if (focus) stop_args.focus = static_cast<std::uint8_t>(*focus);
    stop_args.note = note;
    co_await write(call, *id, detail, [&](std::uint32_t uid) { return engine_.stop(uid, *id, stop_args); });
  }

  asio::awaitable<void> remove(OpCall& call) {
    ArgsReader args(call.request.args);
    const auto id = read_id(args);
    if (args.failed()) co_return call.reply.fail(args.error().code, args.error().message);
    const std::uint32_t uid = call.peer.uid;
    if (!co_await ensure_loaded(call, uid)) co_return;
    auto deleted = std::make_shared<bool>(false);
    Mutation m = engine_.remove(uid, *id, deleted);
    auto committed = co_await ctx_.timer_writer.async_commit(std::move(m.job), asio::use_awaitable);
    if (!committed) {
      engine_.write_failed(uid, m.epoch);
      co_return fail_storage(call, committed.error(), true);
    }
    auto& w = call.reply.result();
    w.pack_map(1);
    ipc::pack_str(w, "deleted");
    *deleted ? w.pack_true() : w.pack_false();
  }

  // ---- reads ----

  asio::awaitable<void> get(OpCall& call) {
    ArgsReader args(call.request.args);
    const auto id = read_id(args);
    if (args.failed()) co_return call.reply.fail(args.error().code, args.error().message);
    const std::uint32_t uid = call.peer.uid;
    const ClockReading now = clock_->now();
    const std::int64_t boot = clock_->boot_id();
    auto packed = co_await read([&](Connection& c) -> storage::Result<std::optional<std::string>> {
      auto s = store_.find(c, uid, *id);
      if (!s) return s.error();
      if (!*s) return std::optional<std::string>();
      std::string out;
      ipc::StringSink sink(out);
      ipc::MsgpackWriter w(sink);
      pack_session(w, **s, now, boot);
      return std::optional<std::string>(std::move(out));
    });
    if (!packed) co_return fail_storage(call, packed.error(), false);
    if (!*packed) co_return call.reply.fail(WireCode::kNotFound, "no session " + std::to_string(*id));
    call.reply.append_raw(ipc::as_bytes(**packed));
  }

  asio::awaitable<void> list(OpCall& call) {
    ArgsReader args(call.request.args);
    ListQuery q;
    q.uid = call.peer.uid;
    const auto from = args.timestamp("from");
    const auto to = args.timestamp("to");
    const auto task = args.str("task", {.min = 1, .max = kMaxTaskBytes});
    const auto tag = args.str("tag", {.min = 1, .max = kMaxTagBytes});
    const auto state = args.str("state");
    const auto limit = args.uint("limit", {.min = 1, .max = kMaxListLimit});
    const auto after = args.uint("after_id", {.max = kMaxId});
    if (args.failed()) co_return call.reply.fail(args.error().code, args.error().message);
    if (state) {
      q.state = parse_state(*state);
      if (!q.state)
        co_return call.reply.fail(WireCode::kBadRequest,
                                  "state: must be one of \"running\", \"paused\", \"completed\", \"abandoned\"");
    }
    if (from) q.from_ms = bound_ms(*from);
    if (to) q.to_ms = bound_ms(*to);
    if (task) q.task = std::string(*task);
    if (tag) q.tag = std::string(*tag);
    if (limit) q.limit = static_cast<std::uint32_t>(*limit);
    if (after) q.after_id = static_cast<std::int64_t>(*after);
    const ClockReading now = clock_->now();
    const std::int64_t boot = clock_->boot_id();
    auto page = co_await read([&](Connection& c) { return store_.list(c, q, now, boot); });
    if (!page) co_return fail_storage(call, page.error(), false);
    auto& w = call.reply.result();
    w.pack_map(2);
    ipc::pack_str(w, "sessions");
    w.pack_array(page->count);
    ipc::append_raw(w, page->sessions);
    ipc::pack_str(w, "next_after_id");
    if (page->next_after_id) {
      w.pack_int64(*page->next_after_id);
    } else {
      w.pack_nil();
    }
  }

  asio::awaitable<void> stats(OpCall& call) {
    ArgsReader args(call.request.args);
    StatsQuery q;
    q.uid = call.peer.uid;
    const auto from = args.timestamp("from");
    const auto to = args.timestamp("to");
    const auto group_by = args.str("group_by", {.required = true});
    std::optional<ipc::WireError> tz_error;
    const auto tz = read_tz_offset(args, tz_error);
    if (args.failed()) co_return call.reply.fail(args.error().code, args.error().message);
    const auto by = parse_group_by(*group_by);
    if (!by) co_return call.reply.fail(WireCode::kBadRequest, "group_by: must be \"day\", \"task\" or \"tag\"");
    if (tz_error) co_return call.reply.fail(tz_error->code, tz_error->message);
    q.group_by = *by;
    if (from) q.from_ms = bound_ms(*from);
    if (to) q.to_ms = bound_ms(*to);
    q.tz_offset_min = tz.value_or(0);
    const ClockReading now = clock_->now();
    const std::int64_t boot = clock_->boot_id();
    auto result = co_await read([&](Connection& c) -> storage::Result<std::string> {
      auto stats = compute_stats(c, store_, q, now, boot);
      if (!stats) return stats.error();
      std::string out;
      ipc::StringSink sink(out);
      ipc::MsgpackWriter w(sink);
      pack_stats(w, *stats);
      return out;
    });
    if (!result) co_return fail_storage(call, result.error(), false);
    call.reply.append_raw(ipc::as_bytes(*result));
  }

  AppContext& ctx_;
  std::unique_ptr<TimerClock> clock_;
  TimerStore store_;
  TimerEngine engine_;
};

}  // namespace

std::unique_ptr<Family> make_timer_family(OpRegistry& registry, AppContext& context,
                                          std::unique_ptr<TimerClock> clock) {
  if (!clock) clock = std::make_unique<SystemTimerClock>();
  auto family = std::make_unique<TimerFamily>(context, std::move(clock));
  family->register_ops(registry);
  return family;
}

}  // namespace durationd::app
