// The agent's event loop: one thread that owns all agent state. It waits on plugin descriptors
// (epoll), runs timers, and runs tasks posted from other threads (woken through an eventfd).
#pragma once

#include "core/recycling_map.h"

#include <orbitmesh/orbitmesh.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

struct epoll_event;

namespace om {

class EventLoop {
public:
    using Task = std::function<void()>;
    using TimerFn = std::function<void(uint64_t timer_id)>;
    using FdFn = std::function<void()>;

    EventLoop();
    ~EventLoop();
    EventLoop(const EventLoop&) = delete;
    EventLoop& operator=(const EventLoop&) = delete;

    void start(const std::string& thread_name);
    // Runs the remaining posted tasks, then joins the thread. Idempotent; not from the loop.
    void stop();
    bool in_loop_thread() const noexcept;

    // Safe from any thread. False once the loop is stopping.
    bool post(Task task);

    // Runs fn on the loop thread and waits up to timeout_ms (-1: forever) for its status.
    // On the loop thread itself fn runs inline. A task that has not started when the wait times
    // out never runs (so fn may capture the caller's stack); one already running is waited for.
    om_status run_sync(const std::function<om_status()>& fn, int timeout_ms);

    // Loop thread only. interval_us == 0: one-shot. Ids are never 0 and never reused.
    uint64_t add_timer(uint64_t delay_us, uint64_t interval_us, TimerFn fn);
    void cancel_timer(uint64_t timer_id);
    size_t timer_count() const noexcept { return timers_.size(); }
    // Entries in the timer queue, stale ones included (bounded: see compact_timer_queue).
    size_t timer_queue_entries() const noexcept { return timer_queue_.size(); }

    // Loop thread only: on_readable runs whenever fd is readable (or has an error/hang-up).
    void watch_fd(int fd, FdFn on_readable);
    // Loop thread only: while set, on_writable runs whenever fd is writable (a socket with
    // queued output). Cleared by unwatch_fd_writable or unwatch_fd.
    void watch_fd_writable(int fd, FdFn on_writable);
    void unwatch_fd_writable(int fd);
    void unwatch_fd(int fd);

    // Before it sleeps, the loop polls its descriptors without blocking until busy_poll_us have
    // passed since the last wake-up by I/O or a posted task (running timers as they come due
    // meanwhile). An answer that comes back within that time is read at once instead of after
    // a wake-up, which on a virtual machine whose idle CPUs halt costs 20-40 µs; the price is
    // that CPU time. 0 (the default): sleep at once. Call before start().
    void set_busy_poll_us(uint32_t busy_poll_us) noexcept { busy_poll_us_ = busy_poll_us; }

    static uint64_t now_us();
    // Longest timer delay or interval (about 146,000 years): larger ones are capped to it.
    static constexpr uint64_t kMaxTimerUs = uint64_t(1) << 62;

private:
    struct Timer {
        uint64_t due_us;
        uint64_t interval_us;
        TimerFn fn;
    };
    void run();
    void run_posted_tasks();
    void run_due_timers();
    int poll_timeout_ms() const;
    int wait_for_events(epoll_event* events, int capacity, bool tasks_waiting);
    void wake();
    void update_interest(int fd);

    uint32_t busy_poll_us_ = 0;
    uint64_t poll_until_us_ = 0;  // busy polling goes on until then (the last wake-up + busy_poll_us_)
    int wake_fd_ = -1;
    int epoll_fd_ = -1;
    std::thread thread_;
    std::atomic<std::thread::id> loop_thread_id_{};
    std::atomic<bool> stopping_{false};

    std::mutex tasks_mutex_;
    std::deque<Task> tasks_;

    // A min-heap of (due_us, id) on a vector: adding a timer allocates nothing once the vector
    // has grown. A cancelled or re-armed timer leaves its entry behind (skipped when it comes
    // due); the heap is rebuilt from the live timers when stale entries outnumber them.
    struct QueueEntry {
        uint64_t due_us;
        uint64_t id;
        bool operator>(const QueueEntry& other) const noexcept
        {
            return due_us != other.due_us ? due_us > other.due_us : id > other.id;
        }
    };
    void queue_timer(uint64_t due_us, uint64_t id);
    void compact_timer_queue();

    uint64_t next_timer_id_ = 1;
    RecyclingMap<uint64_t, Timer> timers_;  // no allocation per re-armed timer
    std::vector<QueueEntry> timer_queue_;  // heap ordered by std::greater: front() is the earliest
    struct Watch {
        FdFn on_readable;
        FdFn on_writable;  // empty: not interested in writability
    };
    std::map<int, Watch> watched_;
};

} // namespace om
