#include "enums.hpp"

#include "bindings.hpp"

namespace orbitmesh::python {
namespace {

// py::arithmetic(): members compare equal to their C value (NatType.Symmetric == 5).
template <class E>
py::enum_<E> bind_enum(py::module_& m, const char* name, const char* doc)
{
    return py::enum_<E>(m, name, py::arithmetic(), doc);
}

} // namespace

void register_enums(py::module_& m)
{
    bind_enum<NatType::Value>(m, "NatType", "NAT behaviour of an agent's network (seed: NatType).")
        .value("Unknown", NatType::Unknown)
        .value("Open", NatType::Open)
        .value("FullCone", NatType::FullCone)
        .value("Restricted", NatType::Restricted)
        .value("PortRestricted", NatType::PortRestricted)
        .value("Symmetric", NatType::Symmetric);

    bind_enum<NatBehavior::Value>(m, "NatBehavior",
                                  "Mapping or filtering behaviour of a NAT (RFC 4787, found by RFC 5780 tests).")
        .value("Unknown", NatBehavior::Unknown)
        .value("EndpointIndependent", NatBehavior::EndpointIndependent)
        .value("AddressDependent", NatBehavior::AddressDependent)
        .value("AddressAndPortDependent", NatBehavior::AddressAndPortDependent);

    bind_enum<Transport::Value>(m, "Transport",
                         "The active path of a peer connection (seed: ActiveTransport). "
                         "NotConnected is OM_TRANSPORT_NONE.")
        .value("NotConnected", Transport::NotConnected)
        .value("P2P", Transport::P2P)
        .value("ServerRelay", Transport::ServerRelay)
        .value("TurnRelay", Transport::TurnRelay);

    bind_enum<Strategy::Value>(m, "Strategy",
                        "How a peer connection is made. NotSelected is OM_STRATEGY_NONE.")
        .value("NotSelected", Strategy::NotSelected)
        .value("DirectConnect", Strategy::DirectConnect)
        .value("UdpHolePunch", Strategy::UdpHolePunch)
        .value("TurnRelay", Strategy::TurnRelay)
        .value("ServerRelay", Strategy::ServerRelay);

    bind_enum<PeerConnectionStatus::Value>(m, "PeerConnectionStatus", "State of a peer connection.")
        .value("Disconnected", PeerConnectionStatus::Disconnected)
        .value("Connecting", PeerConnectionStatus::Connecting)
        .value("Connected", PeerConnectionStatus::Connected)
        .value("Failed", PeerConnectionStatus::Failed);

    bind_enum<Delivery::Value>(m, "Delivery", "Delivery mode of a message.")
        .value("ReliableOrdered", Delivery::ReliableOrdered)
        .value("ReliableUnordered", Delivery::ReliableUnordered)
        .value("Unreliable", Delivery::Unreliable)
        .value("Sequenced", Delivery::Sequenced);

    bind_enum<EventType::Value>(m, "EventType", "Type of an orbitmesh.Event.")
        .value("Datagram", EventType::Datagram)
        .value("PeerConnected", EventType::PeerConnected)
        .value("PeerDisconnected", EventType::PeerDisconnected)
        .value("Message", EventType::Message)
        .value("Error", EventType::Error)
        .value("TransportOpened", EventType::TransportOpened)
        .value("TransportClosed", EventType::TransportClosed)
        .value("Connected", EventType::Connected)
        .value("Disconnected", EventType::Disconnected)
        .value("Reconnecting", EventType::Reconnecting)
        .value("PeerStateChanged", EventType::PeerStateChanged)
        .value("PeerWritable", EventType::PeerWritable);

    bind_enum<CandidateType::Value>(m, "CandidateType", "Type of an ICE candidate (RFC 8445 §5.1.1).")
        .value("Host", CandidateType::Host)
        .value("ServerReflexive", CandidateType::ServerReflexive)
        .value("PeerReflexive", CandidateType::PeerReflexive)
        .value("Relayed", CandidateType::Relayed);

    bind_enum<LogLevel::Value>(m, "LogLevel", "Level of the library's log (orbitmesh.set_log_level).")
        .value("Trace", LogLevel::Trace)
        .value("Debug", LogLevel::Debug)
        .value("Info", LogLevel::Info)
        .value("Warning", LogLevel::Warning)
        .value("Error", LogLevel::Error)
        .value("Off", LogLevel::Off);
}

} // namespace orbitmesh::python
