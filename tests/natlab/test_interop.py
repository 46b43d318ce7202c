"""Interop with real peers (issue 4, item 5), in the lab:
- coturn (`turnserver -S`, two IPs, alternate port) as the STUN server of our agent's netcheck
  gives the same verdicts as our own server does (nat_recipes.BEHAVIOUR, the CONTRACT's JSON);
- Debian's `stun` and coturn's `turnutils_natdiscovery -m -f` classify each host the same
  against our server as against coturn.
coturn runs first (with our signaling server, its STUN off), then our server alone on the same
ports; the NATs forget their state in between."""
import pytest

from nat_recipes import NAT_TYPES
from natlab import SERVER_IPS, run_parallel
from orbitmesh_lab import OrbitmeshServer, contract_problems, run_netcheck
from third_party_stun import STUN_PORT, Coturn, run_natdiscovery, run_stun_client


def classify_all(hosts):
    """{"stun": {nat_type: Future}, "natdiscovery": {...}} against the STUN server on
    SERVER_IPS[0]."""
    stun = run_parallel(lambda host: run_stun_client(host, SERVER_IPS[0]), hosts)
    discovery = run_parallel(lambda host: run_natdiscovery(host, SERVER_IPS[0]), hosts)
    return {"stun": stun, "natdiscovery": discovery}


@pytest.fixture(scope="module")
def with_coturn(lab, hosts):
    signaling = OrbitmeshServer(lab, stun_port=0)
    with Coturn(lab.server, SERVER_IPS, lab.workdir), signaling:
        verdicts = classify_all(hosts)
        verdicts["netcheck"] = run_parallel(
            lambda host: run_netcheck(host, signaling.url, f"interop-{host.nat_type}",
                                      ["--stun-server", SERVER_IPS[0],
                                       "--stun-port", str(STUN_PORT)]), hosts)
    lab.flush_nat_state()
    return verdicts


@pytest.fixture(scope="module")
def with_ours(lab, hosts, with_coturn):
    with OrbitmeshServer(lab, http_port=8081, stun_port=STUN_PORT):
        verdicts = classify_all(hosts)
    lab.flush_nat_state()
    return verdicts


@pytest.mark.parametrize("nat_type", NAT_TYPES)
def test_our_agent_with_coturn_reports_the_nat_type(with_coturn, hosts, nat_type):
    netcheck = with_coturn["netcheck"][nat_type].result()
    problems = contract_problems(netcheck, hosts[nat_type])
    assert not problems, "\n".join(problems) + "\n" + netcheck.describe()


@pytest.mark.parametrize("nat_type", NAT_TYPES)
def test_stun_client_classifies_our_server_as_coturn(with_coturn, with_ours, nat_type):
    theirs, their_output = with_coturn["stun"][nat_type].result()
    ours, our_output = with_ours["stun"][nat_type].result()
    assert ours == theirs, f"against coturn:\n{their_output}\nagainst ours:\n{our_output}"


@pytest.mark.parametrize("nat_type", NAT_TYPES)
def test_natdiscovery_classifies_our_server_as_coturn(with_coturn, with_ours, nat_type):
    theirs, their_output = with_coturn["natdiscovery"][nat_type].result()
    ours, our_output = with_ours["natdiscovery"][nat_type].result()
    assert ours == theirs, f"against coturn:\n{their_output}\nagainst ours:\n{our_output}"
