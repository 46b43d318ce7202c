"""Enums print as the seed's names and carry the C constants' values (orbitmesh.h)."""
import pytest

import orbitmesh as om

C_VALUES = [
    (om.NatType.Unknown, "NatType.Unknown", 0),
    (om.NatType.Open, "NatType.Open", 1),
    (om.NatType.FullCone, "NatType.FullCone", 2),
    (om.NatType.Restricted, "NatType.Restricted", 3),
    (om.NatType.PortRestricted, "NatType.PortRestricted", 4),
    (om.NatType.Symmetric, "NatType.Symmetric", 5),
    (om.Transport.NotConnected, "Transport.NotConnected", 0),
    (om.Transport.P2P, "Transport.P2P", 1),
    (om.Transport.ServerRelay, "Transport.ServerRelay", 2),
    (om.Transport.TurnRelay, "Transport.TurnRelay", 3),
    (om.Strategy.NotSelected, "Strategy.NotSelected", 0),
    (om.Strategy.DirectConnect, "Strategy.DirectConnect", 1),
    (om.Strategy.UdpHolePunch, "Strategy.UdpHolePunch", 2),
    (om.Strategy.TurnRelay, "Strategy.TurnRelay", 3),
    (om.Strategy.ServerRelay, "Strategy.ServerRelay", 4),
    (om.PeerConnectionStatus.Disconnected, "PeerConnectionStatus.Disconnected", 0),
    (om.PeerConnectionStatus.Connecting, "PeerConnectionStatus.Connecting", 1),
    (om.PeerConnectionStatus.Connected, "PeerConnectionStatus.Connected", 2),
    (om.PeerConnectionStatus.Failed, "PeerConnectionStatus.Failed", 3),
    (om.Delivery.ReliableOrdered, "Delivery.ReliableOrdered", 0),
    (om.Delivery.ReliableUnordered, "Delivery.ReliableUnordered", 1),
    (om.Delivery.Unreliable, "Delivery.Unreliable", 2),
    (om.Delivery.Sequenced, "Delivery.Sequenced", 3),
    (om.EventType.Datagram, "EventType.Datagram", 1),
    (om.EventType.PeerConnected, "EventType.PeerConnected", 2),
    (om.EventType.PeerDisconnected, "EventType.PeerDisconnected", 3),
    (om.EventType.Message, "EventType.Message", 4),
    (om.EventType.Error, "EventType.Error", 5),
    (om.EventType.TransportOpened, "EventType.TransportOpened", 6),
    (om.EventType.TransportClosed, "EventType.TransportClosed", 7),
    (om.EventType.Connected, "EventType.Connected", 8),
    (om.EventType.Disconnected, "EventType.Disconnected", 9),
    (om.EventType.Reconnecting, "EventType.Reconnecting", 10),
    (om.EventType.PeerStateChanged, "EventType.PeerStateChanged", 11),
    (om.EventType.PeerWritable, "EventType.PeerWritable", 12),
    (om.CandidateType.Host, "CandidateType.Host", 0),
    (om.CandidateType.ServerReflexive, "CandidateType.ServerReflexive", 1),
    (om.CandidateType.PeerReflexive, "CandidateType.PeerReflexive", 2),
    (om.CandidateType.Relayed, "CandidateType.Relayed", 3),
    (om.LogLevel.Trace, "LogLevel.Trace", 0),
    (om.LogLevel.Debug, "LogLevel.Debug", 1),
    (om.LogLevel.Info, "LogLevel.Info", 2),
    (om.LogLevel.Warning, "LogLevel.Warning", 3),
    (om.LogLevel.Error, "LogLevel.Error", 4),
    (om.LogLevel.Off, "LogLevel.Off", 5),
]


@pytest.mark.parametrize("member, text, value", C_VALUES, ids=[t for _, t, _ in C_VALUES])
def test_member_prints_as_seed_name_and_equals_c_value(member, text, value):
    assert str(member) == text
    assert int(member) == value
    assert member == value
    assert type(member)(value) == member


def test_every_member_is_covered():
    covered = {text for _, text, _ in C_VALUES}
    for enum in (om.NatType, om.Transport, om.Strategy, om.PeerConnectionStatus, om.Delivery,
                 om.EventType, om.LogLevel, om.CandidateType):
        for name in enum.__members__:
            assert f"{enum.__name__}.{name}" in covered
