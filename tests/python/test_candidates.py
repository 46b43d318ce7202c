"""orbitmesh.IceCandidate: the seed's CreateHost / CreateServerReflexive / CreateRelayed, RFC 8445
§5.1.2.1 priorities with the seed's type preferences (host 126, server-reflexive 100, relayed 0),
the RFC 8839 §5.1 text form and its parser, and refusals raising orbitmesh.Error subclasses.
No network: candidates are values."""
import pytest

import orbitmesh

# priority = 2^24 * type preference + 2^8 * local preference (65535) + (256 - component 1)
HOST_PRIORITY = (126 << 24) + (65535 << 8) + 255  # 2130706431
SRFLX_PRIORITY = (100 << 24) + (65535 << 8) + 255  # 1694498815
RELAY_PRIORITY = (0 << 24) + (65535 << 8) + 255  # 16777215


def test_candidate_is_an_alias_of_ice_candidate():
    assert orbitmesh.Candidate is orbitmesh.IceCandidate


def test_candidate_type_enum():
    assert str(orbitmesh.CandidateType.Host) == "CandidateType.Host"
    assert [int(t) for t in (orbitmesh.CandidateType.Host, orbitmesh.CandidateType.ServerReflexive,
                             orbitmesh.CandidateType.PeerReflexive, orbitmesh.CandidateType.Relayed)] == [0, 1, 2, 3]


def test_create_host():
    c = orbitmesh.IceCandidate.create_host("192.168.1.100", 5000)
    assert c.type == orbitmesh.CandidateType.Host
    assert c.type_name == "host"
    assert (c.address, c.port) == ("192.168.1.100", 5000)
    assert c.transport_address == "192.168.1.100:5000"
    assert c.related_address is None and c.related_port is None
    assert c.relay_server is None
    assert c.priority == HOST_PRIORITY == 2130706431
    assert c.component == 1
    assert c.foundation  # RFC 8839: 1-32 ice-chars
    text = str(c)
    assert text.startswith("candidate:" + c.foundation + " ")
    assert text.endswith(" 1 udp 2130706431 192.168.1.100 5000 typ host")


def test_create_host_keywords_and_ipv6():
    c = orbitmesh.IceCandidate.create_host(address="2001:db8::1", port=6000)
    assert c.address == "2001:db8::1"
    assert c.transport_address == "[2001:db8::1]:6000"
    assert c.port == 6000
    # RFC 8839 writes the IPv6 address bare, without brackets.
    assert str(c).endswith(" 2001:db8::1 6000 typ host")


def test_create_server_reflexive():
    c = orbitmesh.IceCandidate.create_server_reflexive(
        public_address="203.0.113.50", public_port=54321, local_address="192.168.1.100", local_port=5000)
    assert c.type == orbitmesh.CandidateType.ServerReflexive
    assert (c.address, c.port) == ("203.0.113.50", 54321)
    assert (c.related_address, c.related_port) == ("192.168.1.100", 5000)
    assert c.priority == SRFLX_PRIORITY
    assert str(c).endswith(" 203.0.113.50 54321 typ srflx raddr 192.168.1.100 rport 5000")


def test_create_relayed():
    c = orbitmesh.IceCandidate.create_relayed(relayed_address="198.51.100.7", relayed_port=49152,
                                              relay_server="198.51.100.1")
    assert c.type == orbitmesh.CandidateType.Relayed
    assert (c.address, c.port) == ("198.51.100.7", 49152)
    assert "198.51.100.1" in c.relay_server
    assert c.priority == RELAY_PRIORITY
    assert " 198.51.100.7 49152 typ relay" in str(c)


def test_priorities_order_host_then_srflx_then_relay():
    host = orbitmesh.IceCandidate.create_host("10.0.0.1", 1000)
    srflx = orbitmesh.IceCandidate.create_server_reflexive("203.0.113.1", 2000, "10.0.0.1", 1000)
    relay = orbitmesh.IceCandidate.create_relayed("198.51.100.7", 3000, "198.51.100.1")
    assert host.priority > srflx.priority > relay.priority


@pytest.mark.parametrize("make", [
    lambda: orbitmesh.IceCandidate.create_host("192.0.2.1", 5000),
    lambda: orbitmesh.IceCandidate.create_host("2001:db8::7", 5000),
    lambda: orbitmesh.IceCandidate.create_server_reflexive("203.0.113.5", 6000, "10.0.0.1", 4000),
    lambda: orbitmesh.IceCandidate.create_relayed("198.51.100.7", 7000, "198.51.100.1"),
])
def test_text_round_trips_through_parse(make):
    c = make()
    back = orbitmesh.IceCandidate.parse(str(c))
    assert back == c
    assert (back.type, back.address, back.port, back.priority, back.foundation) == \
        (c.type, c.address, c.port, c.priority, c.foundation)
    assert (back.related_address, back.related_port) == (c.related_address, c.related_port)
    assert orbitmesh.IceCandidate.parse("a=" + str(c)) == c  # SDP attribute form
    assert repr(c) == "IceCandidate(" + repr(str(c)) + ")"
    assert hash(back) == hash(c)


def test_parse_a_foreign_candidate():
    # As a browser writes it (RFC 8839 §5.1), with an extension attribute at the end.
    c = orbitmesh.IceCandidate.parse(
        "candidate:842163049 1 udp 1677729535 203.0.113.9 61665 typ srflx raddr 10.1.2.3 rport 61665 generation 0")
    assert c.type == orbitmesh.CandidateType.ServerReflexive
    assert c.foundation == "842163049"
    assert c.priority == 1677729535
    assert (c.address, c.port, c.related_address, c.related_port) == ("203.0.113.9", 61665, "10.1.2.3", 61665)


def test_parse_peer_reflexive():
    c = orbitmesh.IceCandidate.parse("candidate:7 1 udp 1862270975 198.51.100.20 4444 typ prflx raddr 10.0.0.5 rport 4444")
    assert c.type == orbitmesh.CandidateType.PeerReflexive
    assert c.type_name == "prflx"


@pytest.mark.parametrize("text", [
    "",
    "hello",
    "candidate:1 1 udp notanumber 192.0.2.1 5000 typ host",
    "candidate:1 1 udp 2130706431 192.0.2.1 99999 typ host",
    "candidate:1 1 udp 2130706431 not-an-ip 5000 typ host",
    "candidate:1 1 udp 2130706431 192.0.2.1 5000",
])
def test_parse_refuses_malformed_text(text):
    with pytest.raises(orbitmesh.InvalidArgumentError) as caught:
        orbitmesh.IceCandidate.parse(text)
    error = caught.value
    assert isinstance(error, orbitmesh.Error) and isinstance(error, ValueError)
    assert error.status_name in ("OM_ERR_MALFORMED", "OM_ERR_INVALID_ARGUMENT")
    assert str(error)  # the library says what is wrong


@pytest.mark.parametrize("call", [
    lambda: orbitmesh.IceCandidate.create_host("not-an-ip", 5000),
    lambda: orbitmesh.IceCandidate.create_host("example.com", 5000),  # no DNS lookups
    lambda: orbitmesh.IceCandidate.create_host("192.0.2.1", 0),
    lambda: orbitmesh.IceCandidate.create_host("192.0.2.1", 65536),
    lambda: orbitmesh.IceCandidate.create_server_reflexive("203.0.113.5", 6000, "bogus", 4000),
    lambda: orbitmesh.IceCandidate.create_relayed("198.51.100.7", -1, "198.51.100.1"),
])
def test_factories_refuse_bad_addresses(call):
    with pytest.raises(orbitmesh.Error) as caught:
        call()
    assert isinstance(caught.value, ValueError)
    assert str(caught.value)


def test_candidates_are_values():
    a = orbitmesh.IceCandidate.create_host("192.0.2.1", 5000)
    b = orbitmesh.IceCandidate.create_host("192.0.2.1", 5001)
    assert a != b
    assert a == orbitmesh.IceCandidate.create_host("192.0.2.1", 5000)
    assert a != "candidate"  # other types compare unequal, without raising
    assert len({a, b, orbitmesh.IceCandidate.create_host("192.0.2.1", 5000)}) == 2
    with pytest.raises(AttributeError):
        a.port = 6000  # read-only
    with pytest.raises(TypeError):
        orbitmesh.IceCandidate()  # only the factories and parse() make candidates
