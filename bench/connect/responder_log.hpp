// The responder's side of each connect across processes (remote mode): the listening process
// appends one line per peer that reached Connected, the connecting process reads them after its
// rounds to split each connect into phases. Both run on one machine (the NAT lab's namespaces
// share the file system and the monotonic clock). Line: "INITIATOR_ID CONNECTING_US CONNECTED_US
// CONNECT_MS CHECKS_SENT".
#pragma once

#include "connect_sample.hpp"

#include <condition_variable>
#include <cstdio>
#include <deque>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <utility>

namespace bench {

// Appends the records; the agents' hook only queues (it runs on their loop threads and must not
// block), a thread of its own waits for each record and writes it.
class ResponderLogWriter {
public:
    explicit ResponderLogWriter(const std::string& path) : file_(std::fopen(path.c_str(), "w"))
    {
        if (!file_) throw std::runtime_error("cannot write " + path);
        thread_ = std::thread([this] { run(); });
    }
    ~ResponderLogWriter()
    {
        stop();
        std::fclose(file_);
    }

    BenchAgent::ConnectedHook hook()
    {
        return [this](BenchAgent& agent, const std::string& peer) {
            std::lock_guard<std::mutex> lock(mutex_);
            queue_.emplace_back(&agent, peer);
            cv_.notify_one();
        };
    }

    // Call before the agents are destroyed: the thread reads their state.
    void stop()
    {
        {
            std::lock_guard<std::mutex> lock(mutex_);
            stopping_ = true;
            cv_.notify_one();
        }
        if (thread_.joinable()) thread_.join();
    }

private:
    void run()
    {
        for (;;) {
            std::pair<BenchAgent*, std::string> next;
            {
                std::unique_lock<std::mutex> lock(mutex_);
                cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
                if (stopping_) return;
                next = std::move(queue_.front());
                queue_.pop_front();
            }
            auto record = responder_record(*next.first, next.second, 2000);
            if (!record) continue;
            std::fprintf(file_, "%s %llu %llu %.3f %llu\n", next.second.c_str(), (unsigned long long)record->connecting_at_us,
                         (unsigned long long)record->connected_at_us, record->connect_ms,
                         (unsigned long long)record->checks_sent);
            std::fflush(file_);
        }
    }

    std::FILE* file_;
    std::mutex mutex_;
    std::condition_variable cv_;
    std::deque<std::pair<BenchAgent*, std::string>> queue_;
    bool stopping_ = false;
    std::thread thread_;
};

// Reads the records written so far, by initiator id; re-reads the file until one appears or
// timeout_ms passed (the responder may write its last line a moment after the initiator's run).
class ResponderLogReader {
public:
    explicit ResponderLogReader(std::string path) : path_(std::move(path)) {}

    std::optional<ResponderRecord> record(const std::string& initiator_id, int timeout_ms)
    {
        const auto start = Clock::now();
        for (;;) {
            load();
            if (auto it = records_.find(initiator_id); it != records_.end()) return it->second;
            if (ms_since(start) >= timeout_ms) return std::nullopt;
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
    }

private:
    void load()
    {
        std::ifstream in(path_);
        std::string line;
        while (std::getline(in, line)) {
            std::istringstream fields(line);
            std::string id;
            ResponderRecord r;
            if (fields >> id >> r.connecting_at_us >> r.connected_at_us >> r.connect_ms >> r.checks_sent) records_[id] = r;
        }
    }

    std::string path_;
    std::map<std::string, ResponderRecord> records_;
};

} // namespace bench
