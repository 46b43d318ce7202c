// A server on a free loopback port and agents that record their events.
#pragma once

#include <orbitmesh/orbitmesh.hpp>

#include <catch2/catch.hpp>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace test {

inline std::unique_ptr<orbitmesh::Server> start_server(const std::string& secret = {}, int32_t port = 0)
{
    orbitmesh::ServerOptions options;
    options.bind("127.0.0.1").http_port(port).stun_port(0);
    if (secret.empty()) options.open(true);
    else options.secret(secret);
    auto server = std::make_unique<orbitmesh::Server>(options);
    server->start();
    return server;
}

// A server with its embedded STUN server on free ports (the P2P and delivery tests).
inline std::unique_ptr<orbitmesh::Server> start_server_with_stun()
{
    orbitmesh::ServerOptions options;
    options.bind("127.0.0.1").http_port(0).stun_port(-1).open(true);
    auto server = std::make_unique<orbitmesh::Server>(options);
    server->start();
    return server;
}

inline std::string url_of(const orbitmesh::Server& server)
{
    return "ws://127.0.0.1:" + std::to_string(server.http_port());
}

// Fast checks so a failing path ends quickly.
inline void fast(orbitmesh::AgentOptions& o)
{
    o.raw().nat_punch_retries = 5;
    o.raw().nat_punch_interval_ms = 40;
}

struct RecordingAgent {
    std::mutex mutex;
    std::condition_variable cv;
    std::vector<orbitmesh::Event> events;
    std::unique_ptr<orbitmesh::Agent> agent;

    RecordingAgent(const std::string& url, const std::string& id, const std::string& token = {},
                   const std::function<void(orbitmesh::AgentOptions&)>& tweak = {})
    {
        orbitmesh::AgentOptions options;
        options.server_url(url).agent_id(id).bind_address("127.0.0.1");
        if (!token.empty()) options.token(token);
        options.raw().connection_timeout_ms = 5000;
        if (tweak) tweak(options);
        agent = std::make_unique<orbitmesh::Agent>(options, [this](const om_event& e) {
            std::lock_guard<std::mutex> lock(mutex);
            events.push_back(orbitmesh::Event::from(e));
            cv.notify_all();
        });
    }

    size_t count(om_event_type type)
    {
        std::lock_guard<std::mutex> lock(mutex);
        size_t n = 0;
        for (auto& e : events) n += e.type == type;
        return n;
    }

    // Waits until `count` events of `type` arrived (bounded).
    bool wait_for(om_event_type type, size_t wanted, int timeout_ms = 10000)
    {
        std::unique_lock<std::mutex> lock(mutex);
        return cv.wait_for(lock, std::chrono::milliseconds(timeout_ms), [&] {
            size_t n = 0;
            for (auto& e : events) n += e.type == type;
            return n >= wanted;
        });
    }

    std::vector<orbitmesh::Event> of_type(om_event_type type)
    {
        std::lock_guard<std::mutex> lock(mutex);
        std::vector<orbitmesh::Event> out;
        for (auto& e : events)
            if (e.type == type) out.push_back(e);
        return out;
    }
};

inline om_status status_of(const std::function<void()>& fn)
{
    try {
        fn();
    } catch (const orbitmesh::Error& e) {
        return e.status();
    }
    return OM_OK;
}

} // namespace test
