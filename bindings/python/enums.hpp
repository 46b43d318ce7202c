// C++ enums mirroring the C constants one to one, so pybind11 can print them as
// `NatType.Symmetric`. The numeric values are the C values (int(NatType.Symmetric) == 5).
// Unscoped enums (each in its own struct, so member names may repeat) convert to int, which
// lets pybind11 compare members with plain ints: NatType.Symmetric == 5.
#pragma once

#include <orbitmesh/orbitmesh.h>

#include <cstdint>

namespace orbitmesh::python {

struct NatType {
    enum Value : int32_t {
        Unknown = OM_NAT_UNKNOWN,
        Open = OM_NAT_OPEN,
        FullCone = OM_NAT_FULL_CONE,
        Restricted = OM_NAT_RESTRICTED,
        PortRestricted = OM_NAT_PORT_RESTRICTED,
        Symmetric = OM_NAT_SYMMETRIC,
    };
};

// RFC 4787 behaviours (om_nat_behavior; the C names are in <orbitmesh/plugin.h>).
struct NatBehavior {
    enum Value : int32_t {
        Unknown = 0,
        EndpointIndependent = 1,
        AddressDependent = 2,
        AddressAndPortDependent = 3,
    };
};

struct Transport {
    enum Value : int32_t {
        NotConnected = OM_TRANSPORT_NONE,
        P2P = OM_TRANSPORT_P2P,
        ServerRelay = OM_TRANSPORT_SERVER_RELAY,
        TurnRelay = OM_TRANSPORT_TURN,
    };
};

struct Strategy {
    enum Value : int32_t {
        NotSelected = OM_STRATEGY_NONE,
        DirectConnect = OM_STRATEGY_DIRECT_CONNECT,
        UdpHolePunch = OM_STRATEGY_UDP_HOLE_PUNCH,
        TurnRelay = OM_STRATEGY_TURN_RELAY,
        ServerRelay = OM_STRATEGY_SERVER_RELAY,
    };
};

struct PeerConnectionStatus {
    enum Value : int32_t {
        Disconnected = OM_PEER_DISCONNECTED,
        Connecting = OM_PEER_CONNECTING,
        Connected = OM_PEER_CONNECTED,
        Failed = OM_PEER_FAILED,
    };
};

struct Delivery {
    enum Value : int32_t {
        ReliableOrdered = OM_DELIVERY_RELIABLE_ORDERED,
        ReliableUnordered = OM_DELIVERY_RELIABLE_UNORDERED,
        Unreliable = OM_DELIVERY_UNRELIABLE,
        Sequenced = OM_DELIVERY_SEQUENCED,
    };
};

struct EventType {
    enum Value : int32_t {
        Datagram = OM_EVENT_DATAGRAM,
        PeerConnected = OM_EVENT_PEER_CONNECTED,
        PeerDisconnected = OM_EVENT_PEER_DISCONNECTED,
        Message = OM_EVENT_MESSAGE,
        Error = OM_EVENT_ERROR,
        TransportOpened = OM_EVENT_TRANSPORT_OPENED,
        TransportClosed = OM_EVENT_TRANSPORT_CLOSED,
        Connected = OM_EVENT_CONNECTED,
        Disconnected = OM_EVENT_DISCONNECTED,
        Reconnecting = OM_EVENT_RECONNECTING,
        PeerStateChanged = OM_EVENT_PEER_STATE_CHANGED,
        PeerWritable = OM_EVENT_PEER_WRITABLE,
    };
};

struct CandidateType {
    enum Value : int32_t {
        Host = OM_CANDIDATE_HOST,
        ServerReflexive = OM_CANDIDATE_SERVER_REFLEXIVE,
        PeerReflexive = OM_CANDIDATE_PEER_REFLEXIVE,
        Relayed = OM_CANDIDATE_RELAYED,
    };
};

struct LogLevel {
    enum Value : int32_t {
        Trace = OM_LOG_TRACE,
        Debug = OM_LOG_DEBUG,
        Info = OM_LOG_INFO,
        Warning = OM_LOG_WARNING,
        Error = OM_LOG_ERROR,
        Off = OM_LOG_OFF,
    };
};

} // namespace orbitmesh::python
