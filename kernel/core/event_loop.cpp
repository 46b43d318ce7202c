#include "core/event_loop.h"

#include "core/log.h"

#include <sys/epoll.h>
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
    epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
    if (epoll_fd_ < 0) {
        const int error = errno;
        close(wake_fd_);
        throw std::system_error(error, std::generic_category(), "epoll_create1");
    }
    epoll_event event{};
    event.events = EPOLLIN;
    event.data.fd = wake_fd_;
    if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, wake_fd_, &event) != 0) {
        const int error = errno;
        close(wake_fd_);
        close(epoll_fd_);
        throw std::system_error(error, std::generic_category(), "epoll_ctl");
    }
}

EventLoop::~EventLoop()
{
    stop();
    if (wake_fd_ >= 0) close(wake_fd_);
    if (epoll_fd_ >= 0) close(epoll_fd_);
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
    // From the loop thread itself no wake-up is needed: run() polls without waiting while tasks
    // are queued. That saves two system calls for each task a handler posts (several a packet).
    // Else under the lock: stop() cannot close the eventfd between the push and the write.
    if (!in_loop_thread()) wake();
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
    timers_.insert_new(id, Timer{due, interval_us, std::move(fn)});
    queue_timer(due, id);
    return id;
}

void EventLoop::cancel_timer(uint64_t timer_id)
{
    timers_.erase(timer_id);  // its queue entry is skipped when it comes due
}

void EventLoop::queue_timer(uint64_t due_us, uint64_t id)
{
    // A loop whose timers are re-armed on every packet would otherwise keep one stale entry per
    // re-arm until its old deadline passes.
    if (timer_queue_.size() >= 64 && timer_queue_.size() > 2 * timers_.size()) compact_timer_queue();
    timer_queue_.push_back({due_us, id});
    std::push_heap(timer_queue_.begin(), timer_queue_.end(), std::greater<>{});
}

void EventLoop::compact_timer_queue()
{
    std::erase_if(timer_queue_, [&](const QueueEntry& e) {
        auto it = timers_.find(e.id);
        return it == timers_.end() || it->second.due_us != e.due_us;
    });
    std::make_heap(timer_queue_.begin(), timer_queue_.end(), std::greater<>{});
}

void EventLoop::watch_fd(int fd, FdFn on_readable)
{
    watched_[fd].on_readable = std::move(on_readable);
    update_interest(fd);
}

void EventLoop::watch_fd_writable(int fd, FdFn on_writable)
{
    watched_[fd].on_writable = std::move(on_writable);
    update_interest(fd);
}

void EventLoop::unwatch_fd_writable(int fd)
{
    auto it = watched_.find(fd);
    if (it == watched_.end()) return;
    it->second.on_writable = nullptr;
    if (!it->second.on_readable) watched_.erase(it);
    update_interest(fd);
}

void EventLoop::unwatch_fd(int fd)
{
    watched_.erase(fd);
    update_interest(fd);
}

// Tells epoll what watched_ now wants of fd. The interest list lives in the kernel, so a wait
// costs the same however many descriptors are watched (poll walked them all, each time).
void EventLoop::update_interest(int fd)
{
    auto it = watched_.find(fd);
    if (it == watched_.end()) {
        (void)epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);  // ENOENT/EBADF: already gone
        return;
    }
    epoll_event event{};
    event.events = (it->second.on_readable ? EPOLLIN : 0u) | (it->second.on_writable ? EPOLLOUT : 0u);
    event.data.fd = fd;
    if (epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, fd, &event) == 0) return;
    // Not registered yet, or closed and its number reused since (epoll forgets closed files).
    if (errno == ENOENT && epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &event) == 0) return;
    log_message(OM_LOG_ERROR, "event loop: cannot watch descriptor " + std::to_string(fd) + ": " + std::strerror(errno));
    watched_.erase(it);
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
    uint64_t due = timer_queue_.front().due_us;
    if (due <= now) return 0;
    uint64_t ms = (due - now + 999) / 1000;
    return ms > 1000 ? 1000 : static_cast<int>(ms);
}

void EventLoop::run()
{
    loop_thread_id_ = std::this_thread::get_id();
    constexpr int kMaxEvents = 64;
    epoll_event events[kMaxEvents];
    std::vector<std::pair<int, uint32_t>> ready;
    while (true) {
        bool tasks_waiting;
        {
            std::lock_guard<std::mutex> lock(tasks_mutex_);
            tasks_waiting = !tasks_.empty();
        }
        int n = wait_for_events(events, kMaxEvents, tasks_waiting);
        if (n > 0 && busy_poll_us_) poll_until_us_ = now_us() + busy_poll_us_;
        if (n < 0) {
            if (errno != EINTR) {
                log_message(OM_LOG_ERROR, std::string("epoll_wait: ") + std::strerror(errno));
                std::this_thread::sleep_for(std::chrono::milliseconds(10));  // never spin on a failing wait
            }
            n = 0;
        }

        ready.clear();
        for (int i = 0; i < n; ++i) {
            if (events[i].data.fd == wake_fd_) {
                uint64_t value;
                ssize_t r = read(wake_fd_, &value, sizeof value);
                (void)r;
            } else {
                ready.emplace_back(int(events[i].data.fd), uint32_t(events[i].events));
            }
        }
        run_posted_tasks();
        if (stopping_) break;

        // A descriptor a plugin closed under us is no longer reported (epoll drops closed
        // files), so it cannot make the loop spin; its watch stays until unwatched.
        for (auto [fd, revents] : ready) {
            // Look the watch up again before each call: a handler may unwatch any fd.
            auto it = watched_.find(fd);
            if (it != watched_.end() && it->second.on_writable && (revents & (EPOLLOUT | EPOLLERR | EPOLLHUP))) {
                FdFn fn = it->second.on_writable;  // copy: the handler may unwatch itself
                fn();
            }
            it = watched_.find(fd);
            if (it != watched_.end() && it->second.on_readable && (revents & (EPOLLIN | EPOLLERR | EPOLLHUP))) {
                FdFn fn = it->second.on_readable;
                fn();
            }
        }
        run_due_timers();
    }
    run_posted_tasks();  // what was posted before stop() still runs (e.g. destruction steps)
}

int EventLoop::wait_for_events(epoll_event* events, int capacity, bool tasks_waiting)
{
    if (tasks_waiting) return ::epoll_wait(epoll_fd_, events, capacity, 0);
    uint64_t now = now_us();
    // Busy polling goes on across the timers that come due meanwhile (QUIC's ACK delay is a
    // fraction of the round trip): only its own deadline ends it.
    while (now < poll_until_us_ && !stopping_) {
        int n = ::epoll_wait(epoll_fd_, events, capacity, 0);
        if (n != 0) return n;  // events (a posted task shows as the wake descriptor) or an error
        if (!timer_queue_.empty() && timer_queue_.front().due_us <= now) return 0;
        now = now_us();
    }
    return ::epoll_wait(epoll_fd_, events, capacity, poll_timeout_ms());
}

void EventLoop::run_posted_tasks()
{
    // Nearly every turn has none: no deque is built (a std::deque allocates even when empty).
    std::unique_lock<std::mutex> lock(tasks_mutex_);
    if (tasks_.empty()) return;
    std::deque<Task> batch;
    batch.swap(tasks_);
    lock.unlock();
    for (auto& task : batch) task();
}

void EventLoop::run_due_timers()
{
    uint64_t now = now_us();
    while (!timer_queue_.empty() && timer_queue_.front().due_us <= now) {
        const auto [due, id] = timer_queue_.front();
        std::pop_heap(timer_queue_.begin(), timer_queue_.end(), std::greater<>{});
        timer_queue_.pop_back();
        auto it = timers_.find(id);
        if (it == timers_.end() || it->second.due_us != due) continue;  // cancelled or stale
        TimerFn fn;
        if (it->second.interval_us) {
            fn = it->second.fn;  // a copy: the handler may cancel its own periodic timer
            it->second.due_us = due + it->second.interval_us;
            if (it->second.due_us < now) it->second.due_us = now + it->second.interval_us;  // no burst after a stall
            queue_timer(it->second.due_us, id);
        } else {
            fn = std::move(it->second.fn);
            timers_.erase(it);
        }
        fn(id);
    }
}

} // namespace om
