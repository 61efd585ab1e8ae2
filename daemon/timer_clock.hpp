// The timer family's clock: the only clock timer sessions ever see (clients send no
// times). Two readings are taken together:
//
//   wall_ms  the wall clock (CLOCK_REALTIME), for timestamps: started_at, ended_at, at;
//   boot_ms  CLOCK_BOOTTIME, for durations: it never jumps when the wall clock is set,
//            and it keeps counting while the machine is suspended (a session left
//            running over a lid-close counts that time, as its timestamps do).
//
// A duration is always the difference of two boot_ms readings of the same boot, so a
// wall-clock jump cannot make one negative. CLOCK_BOOTTIME restarts at every boot; the
// boot is told apart by the kernel's boot id. Across a reboot the open segment of a
// session is measured with the wall clock instead, clamped at zero (timer_engine.hpp).
//
// Thread-safe: now() is called on the event loop and on worker threads.
#pragma once

#include <atomic>
#include <cstdint>

namespace durationd::app {

struct ClockReading {
  std::int64_t wall_ms = 0;  // milliseconds since the Unix epoch
  std::int64_t boot_ms = 0;  // milliseconds since this boot (CLOCK_BOOTTIME)
};

class TimerClock {
 public:
  virtual ~TimerClock() = default;
  virtual ClockReading now() const = 0;
  // Identifies the current boot: boot_ms readings compare only within one boot.
  virtual std::int64_t boot_id() const = 0;
};

// The real clocks. The boot id is read once from /proc/sys/kernel/random/boot_id.
class SystemTimerClock final : public TimerClock {
 public:
  SystemTimerClock();
  ClockReading now() const override;
  std::int64_t boot_id() const override { return boot_id_; }
  // True when the kernel's boot id could be read (else boot_id() is 0 and a reboot is
  // only noticed when the boot clock is behind a stored reading).
  bool knows_boot() const { return boot_id_ != 0; }

 private:
  std::int64_t boot_id_ = 0;
};

// A clock the tests move by hand: advance() moves both readings, set_wall() jumps the
// wall clock alone (as NTP or a person setting the time does), reboot() starts a new
// boot whose boot clock begins again near zero.
class ManualTimerClock final : public TimerClock {
 public:
  explicit ManualTimerClock(std::int64_t wall_ms, std::int64_t boot_ms = 1'000'000, std::int64_t boot_id = 1)
      : wall_(wall_ms), boot_(boot_ms), boot_id_(boot_id) {}
  ClockReading now() const override { return {wall_.load(), boot_.load()}; }
  std::int64_t boot_id() const override { return boot_id_.load(); }

  void advance(std::int64_t ms) {
    wall_ += ms;
    boot_ += ms;
  }
  void set_wall(std::int64_t wall_ms) { wall_ = wall_ms; }
  void reboot(std::int64_t new_boot_id, std::int64_t boot_ms = 5'000) {
    boot_id_ = new_boot_id;
    boot_ = boot_ms;
  }

 private:
  std::atomic<std::int64_t> wall_;
  std::atomic<std::int64_t> boot_;
  std::atomic<std::int64_t> boot_id_;
};

}  // namespace durationd::app
