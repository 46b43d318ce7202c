// --stamp-log: the library logs through Poco with millisecond timestamps, too coarse for a
// connect of about a millisecond. This sends the process's stderr through a pipe whose reader
// thread prefixes each line with the monotonic clock in microseconds (the clock of the agents'
// event timestamps), so a --log-level debug run can be laid over the phase split. A line is
// stamped when the reader gets it: a few tens of microseconds late when the 2 cores are busy.
#pragma once

#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <unistd.h>

namespace bench {

class StampedStderr {
public:
    StampedStderr()
    {
        int fds[2];
        if (pipe(fds) != 0) return;
        original_ = dup(STDERR_FILENO);
        dup2(fds[1], STDERR_FILENO);
        close(fds[1]);
        reader_ = std::thread([this, in = fds[0]] { copy(in); });
    }
    ~StampedStderr()
    {
        if (original_ < 0) return;
        std::fflush(stderr);
        dup2(original_, STDERR_FILENO);  // closes the pipe's last writer: the reader sees EOF
        reader_.join();
        close(original_);
    }
    StampedStderr(const StampedStderr&) = delete;
    StampedStderr& operator=(const StampedStderr&) = delete;

private:
    void copy(int in)
    {
        std::string pending;
        char buf[4096];
        for (ssize_t n; (n = read(in, buf, sizeof buf)) > 0;) {
            const auto now = std::chrono::duration_cast<std::chrono::microseconds>(
                                 std::chrono::steady_clock::now().time_since_epoch()).count();
            pending.append(buf, size_t(n));
            for (size_t eol; (eol = pending.find('\n')) != std::string::npos; pending.erase(0, eol + 1)) {
                std::string line = "[";  // appended, not "[" + ...: GCC 12 -O3 -Wrestrict
                line.append(std::to_string(now)).append("] ").append(pending, 0, eol + 1);
                if (write(original_, line.data(), line.size()) < 0) break;
            }
        }
        close(in);
    }

    int original_ = -1;
    std::thread reader_;
};

} // namespace bench
