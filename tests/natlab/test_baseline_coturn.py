"""The lab's NAT recipes, checked by third-party tools alone (no OrbitMesh code): coturn's STUN
server in the server namespace, and from a host behind each NAT type Debian's `stun` client and
coturn's `turnutils_natdiscovery -m -f`. Each NAT type must show the behaviour its name promises
(nat_recipes.BEHAVIOUR); if one does not, the recipe is wrong, not our code."""
import pytest

from nat_recipes import BEHAVIOUR, EI, NAT_TYPES
from natlab import SERVER_IPS, run_parallel
from third_party_stun import Coturn, run_natdiscovery, run_stun_client


@pytest.fixture(scope="module")
def verdicts(lab, hosts):
    """{nat_type: Future of (stun verdict, stun output, natdiscovery verdict, its output)}."""
    def classify(host):
        stun, stun_output = run_stun_client(host, SERVER_IPS[0])
        host.flush_nat_state()
        discovery, discovery_output = run_natdiscovery(host, SERVER_IPS[0])
        return stun, stun_output, discovery, discovery_output

    with Coturn(lab.server, SERVER_IPS, lab.workdir):
        return run_parallel(classify, hosts)


@pytest.mark.parametrize("nat_type", NAT_TYPES)
def test_stun_client_sees_the_nat_type(verdicts, nat_type):
    stun, output, _, _ = verdicts[nat_type].result()
    expected = BEHAVIOUR[nat_type]
    assert stun.nat == expected.nat, output
    if expected.mapping == EI:
        assert (stun.mapping, stun.filtering) == (expected.mapping, expected.filtering), output
    else:
        # RFC 3489's client does not tell address- from address-and-port-dependent mapping,
        # and does not test filtering behind a dependent mapping.
        assert stun.mapping == "Dependent", output
    if expected.nat:
        assert not stun.hairpin, f"no router of the lab hairpins:\n{output}"


@pytest.mark.parametrize("nat_type", NAT_TYPES)
def test_natdiscovery_sees_the_nat_behaviour(verdicts, hosts, nat_type):
    _, _, discovery, output = verdicts[nat_type].result()
    expected = BEHAVIOUR[nat_type]
    assert (discovery.nat, discovery.mapping, discovery.filtering) == (
        expected.nat, expected.mapping, expected.filtering), output
    assert discovery.mapped_ip == hosts[nat_type].public_ip, output
