#include "core/event_loop.h"

#include "core/log.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <algorithm>
#include <cstring>
#include <system_error>
#include <vector>

namespace om {

EventLoop::EventLoop()
{
    wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (wake_fd_ < 0) throw std::system_error(errno, std::generic_category(), "eventfd");
}

EventLoop::~EventLoop()
{
    stop();
    if (wake_fd_ >= 0) close(wake_fd_);
}

void EventLoop::start(const std::string& thread_name)
{
    thread_ = std::thread([this, thread_name] {
        pthread_setname_np(pthread_self(), thread_name.substr(0, 15).c_str());
        run();
    });
    // Known before start() returns, so in_loop_thread() is reliable from the first post.
    while (loop_thread_id_.load() == std::thread::id()) std::this_thread::yield();
}

void EventLoop::stop()
{
    if (!thread_.joinable()) return;
    {
        std::lock_guard<std::mutex> lock(tasks_mutex_);  // no post slips in after the last drain
        stopping_ = true;
    }
    wake();
    thread_.join();
}

bool EventLoop::in_loop_thread() const noexcept
{
    return loop_thread_id_.load() == std::this_thread::get_id();
}

bool EventLoop::post(Task task)
{
    std::lock_guard<std::mutex> lock(tasks_mutex_);
    if (stopping_) return false;
    tasks_.push_back(std::move(task));
    wake();  // under the lock: stop() cannot close the eventfd between the push and the write
    return true;
}

om_status EventLoop::run_sync(const std::function<om_status()>& fn, int timeout_ms)
{
    if (in_loop_thread()) return fn();

    enum class Phase { Pending, Running, Done, Abandoned };
    struct Shared {
        std::mutex mutex;
        std::condition_variable cv;
        Phase phase = Phase::Pending;
        om_status status = OM_ERR_INTERNAL;
    };
    auto shared = std::make_shared<Shared>();
    const std::function<om_status()>* fn_ptr = &fn;
    bool posted = post([shared, fn_ptr] {
        {
            std::lock_guard<std::mutex> lock(shared->mutex);
            if (shared->phase == Phase::Abandoned) return;  // the caller gave up: fn_ptr dangles
            shared->phase = Phase::Running;
        }
        om_status status = (*fn_ptr)();
        std::lock_guard<std::mutex> lock(shared->mutex);
        shared->status = status;
        shared->phase = Phase::Done;
        shared->cv.notify_all();
    });
    if (!posted) return OM_ERR_CLOSED;

    std::unique_lock<std::mutex> lock(shared->mutex);
    auto done = [&] { return shared->phase == Phase::Done; };
    if (timeout_ms < 0) {
        shared->cv.wait(lock, done);
    } else if (!shared->cv.wait_for(lock, std::chrono::milliseconds(timeout_ms), done)) {
        if (shared->phase == Phase::Pending) {
            shared->phase = Phase::Abandoned;
            return OM_ERR_TIMEOUT;
        }
        shared->cv.wait(lock, done);  // already running on the loop: it finishes soon
    }
    return shared->status;
}

uint64_t EventLoop::add_timer(uint64_t delay_us, uint64_t interval_us, TimerFn fn)
{
    // Saturate: a huge delay must mean "far away", never wrap around to "now".
    delay_us = std::min(delay_us, kMaxTimerUs);
    interval_us = std::min(interval_us, kMaxTimerUs);
    uint64_t id = next_timer_id_++;
    uint64_t due = now_us() + delay_us;
    timers_.emplace(id, Timer{due, interval_us, std::move(fn)});
    timer_queue_.emplace(due, id);
    return id;
}

void EventLoop::cancel_timer(uint64_t timer_id)
{
    timers_.erase(timer_id);  // its queue entry is skipped when it comes due
}

void EventLoop::watch_fd(int fd, FdFn on_readable)
{
    watched_[fd].on_readable = std::move(on_readable);
}

void EventLoop::watch_fd_writable(int fd, FdFn on_writable)
{
    watched_[fd].on_writable = std::move(on_writable);
}

void EventLoop::unwatch_fd_writable(int fd)
{
    auto it = watched_.find(fd);
    if (it == watched_.end()) return;
    it->second.on_writable = nullptr;
    if (!it->second.on_readable) watched_.erase(it);
}

void EventLoop::unwatch_fd(int fd)
{
    watched_.erase(fd);
}

uint64_t EventLoop::now_us()
{
    using namespace std::chrono;
    return static_cast<uint64_t>(duration_cast<microseconds>(steady_clock::now().time_since_epoch()).count());
}

void EventLoop::wake()
{
    uint64_t one = 1;
    ssize_t n = write(wake_fd_, &one, sizeof one);
    (void)n;  // EAGAIN means the counter is already non-zero: the loop wakes anyway
}

int EventLoop::poll_timeout_ms() const
{
    // Stale queue entries (cancelled timers) at most cause one early wake-up.
    if (timer_queue_.empty()) return 1000;
    uint64_t now = now_us();
    uint64_t due = timer_queue_.begin()->first;
    if (due <= now) return 0;
    uint64_t ms = (due - now + 999) / 1000;
    return ms > 1000 ? 1000 : static_cast<int>(ms);
}

void EventLoop::run()
{
    loop_thread_id_ = std::this_thread::get_id();
    std::vector<pollfd> fds;
    std::vector<std::pair<int, short>> ready;
    while (true) {
        fds.clear();
        fds.push_back({wake_fd_, POLLIN, 0});
        for (const auto& [fd, watch] : watched_)
            fds.push_back({fd, static_cast<short>((watch.on_readable ? POLLIN : 0) | (watch.on_writable ? POLLOUT : 0)), 0});
        int n = ::poll(fds.data(), fds.size(), poll_timeout_ms());
        if (n < 0 && errno != EINTR) {
            log_message(OM_LOG_ERROR, std::string("poll: ") + std::strerror(errno));
            std::this_thread::sleep_for(std::chrono::milliseconds(10));  // never spin on a failing poll
        }

        if (fds[0].revents & POLLIN) {
            uint64_t value;
            ssize_t r = read(wake_fd_, &value, sizeof value);
            (void)r;
        }
        run_posted_tasks();
        if (stopping_) break;

        ready.clear();
        for (size_t i = 1; i < fds.size(); ++i)
            if (fds[i].revents) ready.emplace_back(fds[i].fd, fds[i].revents);
        for (auto [fd, revents] : ready) {
            if (revents & POLLNVAL) {
                // Closed under us (a plugin closed its socket): polling it again would spin.
                log_message(OM_LOG_ERROR, "event loop: descriptor " + std::to_string(fd) + " is not open; no longer watching it");
                watched_.erase(fd);
                continue;
            }
            // Look the watch up again before each call: a handler may unwatch any fd.
            auto it = watched_.find(fd);
            if (it != watched_.end() && it->second.on_writable && (revents & (POLLOUT | POLLERR | POLLHUP))) {
                FdFn fn = it->second.on_writable;  // copy: the handler may unwatch itself
                fn();
            }
            it = watched_.find(fd);
            if (it != watched_.end() && it->second.on_readable && (revents & (POLLIN | POLLERR | POLLHUP))) {
                FdFn fn = it->second.on_readable;
                fn();
            }
        }
        run_due_timers();
    }
    run_posted_tasks();  // what was posted before stop() still runs (e.g. destruction steps)
}

void EventLoop::run_posted_tasks()
{
    std::deque<Task> batch;
    {
        std::lock_guard<std::mutex> lock(tasks_mutex_);
        batch.swap(tasks_);
    }
    for (auto& task : batch) task();
}

void EventLoop::run_due_timers()
{
    uint64_t now = now_us();
    while (!timer_queue_.empty() && timer_queue_.begin()->first <= now) {
        auto [due, id] = *timer_queue_.begin();
        timer_queue_.erase(timer_queue_.begin());
        auto it = timers_.find(id);
        if (it == timers_.end() || it->second.due_us != due) continue;  // cancelled or stale
        TimerFn fn = it->second.fn;
        if (it->second.interval_us) {
            it->second.due_us = due + it->second.interval_us;
            if (it->second.due_us < now) it->second.due_us = now + it->second.interval_us;  // no burst after a stall
            timer_queue_.emplace(it->second.due_us, id);
        } else {
            timers_.erase(it);
        }
        fn(id);
    }
}

} // namespace om
