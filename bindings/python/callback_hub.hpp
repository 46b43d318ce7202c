// CallbackHub: the one C++ event handler an agent gets at creation, forwarding each event to
// whichever Python callables are registered now (so callbacks set after creation still work).
//
// Threads and the GIL:
//  - deliver() runs on the agent's loop thread (or inside dispatch(), on the caller's thread)
//    WITHOUT the GIL; it takes the GIL only to call Python, and never holds the hub's mutex
//    while waiting for the GIL (lock order everywhere: GIL, then mutex).
//  - A Python exception from a callback is reported through sys.unraisablehook and never
//    reaches C.
//  - After shutdown() no callback runs any more; nothing runs while the interpreter finalizes.
#pragma once

#include <orbitmesh/orbitmesh.h>

#include <pybind11/pybind11.h>

#include <array>
#include <mutex>
#include <string>

namespace orbitmesh::python {

namespace py = pybind11;

class CallbackHub {
public:
    CallbackHub() = default;
    CallbackHub(const CallbackHub&) = delete;
    CallbackHub& operator=(const CallbackHub&) = delete;

    // One callable per slot. Arguments: Datagram(address: str, data: bytes);
    // Event(event: Event); Message(peer_id: str, data: bytes); PeerConnected(peer_id: str);
    // PeerDisconnected(peer_id: str, reason: str | None); Connected(); Disconnected(reason);
    // Reconnecting(detail); StateChanged(peer_id, status, transport, strategy) with the enums;
    // PeerWritable(peer_id) after WouldBlockError; Message may also take (peer_id, data,
    // channel: int, mode: Delivery) (set_message_callback);
    // ConnectRequest(peer_id, remote_nat: NatType) -> decision (see decide()).
    enum Slot : size_t {
        Datagram, Event, Message, PeerConnected, PeerDisconnected, Connected, Disconnected,
        Reconnecting, StateChanged, ConnectRequest, PeerWritable, SlotCount
    };

    // GIL held. None clears.
    void set_callback(Slot slot, py::object fn);
    void set_datagram_callback(py::object fn) { set_callback(Datagram, std::move(fn)); }
    void set_event_callback(py::object fn) { set_callback(Event, std::move(fn)); }
    // Message: inspects fn once (inspect.signature) to choose between fn(peer_id, data) and
    // fn(peer_id, data, channel, mode); TypeError when it takes neither.
    void set_message_callback(py::object fn);

    // Any thread, GIL not held.
    void deliver(const om_event& event);

    // The agent's accept_peer decision (loop thread, GIL not held): accepts when no
    // ConnectRequest callable is set. The callable returns a truth value or a tuple
    // (accepted, reason); an exception refuses with its text as the reason (and goes to
    // sys.unraisablehook). Refuses once shut down.
    bool decide(const std::string& peer_id, om_nat_type remote_nat, std::string& reason);

    // GIL held. Stops delivery for good and releases the callables (with the GIL, as Python
    // objects must be), so the hub holds no Python object when the agent frees it later.
    void shutdown();

    bool is_shut_down() const;
    // True while this thread runs one of this hub's callbacks.
    bool running_on_this_thread() const;

private:
    void replace(py::object& slot, py::object fn);

    mutable std::mutex mutex_;
    bool shut_down_ = false;
    std::array<py::object, SlotCount> slots_;
    bool message_with_channel_ = false; // the Message callable takes (peer_id, data, channel, mode)
};

} // namespace orbitmesh::python
