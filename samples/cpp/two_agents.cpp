// Two OrbitMesh agents on 127.0.0.1 through the C++ wrapper: A sends a datagram, B answers,
// A prints the answer. Errors arrive as orbitmesh::Error exceptions.
#include <orbitmesh/orbitmesh.hpp>

#include <iostream>
#include <optional>
#include <string>

namespace {

// Agents in dispatch mode: their events run inside dispatch() on this thread.
orbitmesh::Agent start_agent(std::optional<orbitmesh::Event>& last_datagram) {
    orbitmesh::AgentOptions options;
    options.bind_address("127.0.0.1").event_mode(OM_EVENTS_DISPATCH);
    orbitmesh::Agent agent(options, [&last_datagram](const om_event& e) {
        if (e.type == OM_EVENT_DATAGRAM) last_datagram = orbitmesh::Event::from(e);
    });
    agent.open_transport();
    return agent;
}

// Dispatches until a datagram has arrived, at most five seconds.
std::optional<orbitmesh::Event> wait_for(orbitmesh::Agent& agent, std::optional<orbitmesh::Event>& slot) {
    for (int i = 0; i < 50 && !slot; ++i) agent.dispatch(100);
    return slot;
}

} // namespace

int main() {
    try {
        std::optional<orbitmesh::Event> at_a, at_b;
        orbitmesh::Agent a = start_agent(at_a);
        orbitmesh::Agent b = start_agent(at_b);
        std::cout << "OrbitMesh " << orbitmesh::version() << ", MTU " << a.mtu() << "\n";

        a.send_datagram(b.local_address(), "ping from A");
        auto ping = wait_for(b, at_b);
        if (!ping) throw std::runtime_error("B received nothing");
        std::cout << "B received \"" << std::string(ping->data.begin(), ping->data.end())
                  << "\" from " << ping->address << "\n";

        b.send_datagram(ping->address, "pong from B");
        auto pong = wait_for(a, at_a);
        if (!pong) throw std::runtime_error("A received nothing");
        std::cout << "A received \"" << std::string(pong->data.begin(), pong->data.end())
                  << "\" from " << pong->address << "\n";
        return 0;
    } catch (const std::exception& e) {
        std::cerr << "two_agents: " << e.what() << "\n";
        return 1;
    }
}
