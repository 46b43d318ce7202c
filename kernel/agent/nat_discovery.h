// Runs the agent's nat-discovery plugin (RFC 5780 behaviour discovery over the agent's own
// socket) and keeps its latest result. One run at a time: callers that ask during a run join it.
// Loop thread only.
#pragma once

#include "agent/plugin_instance.h"
#include "core/counters.h"
#include "core/event_loop.h"
#include "proto/nat_names.h"

#include <orbitmesh/plugin.h>

#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace om {

struct NatResult {
    om_status status = OM_ERR_STATE;
    std::string error;  // why, when status != OM_OK
    om_nat_report report{};
};

class NatDiscovery {
public:
    using Done = std::function<void(const NatResult&)>;

    NatDiscovery(EventLoop& loop, Counters& counters);
    ~NatDiscovery();  // cancels a run in flight; nobody is called back
    NatDiscovery(const NatDiscovery&) = delete;
    NatDiscovery& operator=(const NatDiscovery&) = delete;

    // Starts discovery against `server` with `plugin` (a nat-discovery instance), or joins the run
    // in flight. `local` is the socket's address as the route to the server sees it. done is
    // called once, on the loop thread, never from inside run(). A plugin that does not finish
    // within budget_ms (plus a grace) is cancelled and the run ends with OM_ERR_TIMEOUT.
    void run(PluginInstance& plugin, const om_address& server, const om_address& local, int budget_ms, Done done);
    // Ends a run in flight: waiters get `status` (the transport closed, the agent is closing).
    void abort(om_status status, const std::string& why);

    bool running() const { return run_ != nullptr; }
    const std::optional<NatResult>& latest() const { return latest_; }

private:
    struct Run;
    struct DoneToken {  // a run's identity, handed to the plugin as done_user_data
        NatDiscovery* self;
        uint64_t serial;
    };
    static void on_plugin_done(void* user_data, int32_t status, const om_nat_info* info);
    bool current(uint64_t serial) const;
    std::unique_ptr<Run> take_run();  // ends the current run's life as "current"
    void cancel_plugin(Run& run);
    void post_finish(uint64_t serial, NatResult result);
    void finish(NatResult result);       // the current run is done
    void complete(Run& run, NatResult result);  // records the result and calls the waiters

    EventLoop& loop_;
    Counters& counters_;
    std::unique_ptr<Run> run_;
    uint64_t serial_ = 0;
    std::deque<DoneToken> tokens_;  // one per run started: addresses stay valid (a few bytes each)
    std::optional<NatResult> latest_;
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);  // for posted tasks
};

// The source address the kernel would use to reach `server` from a socket bound to `bound`: the
// bound address itself unless it is a wildcard, then the route's source IP with the bound port.
om_address route_local_address(const om_address& bound, const om_address& server);

} // namespace om
