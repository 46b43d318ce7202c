"""Our side of NAT discovery in the lab: orbitmesh-server with its embedded RFC 5780 STUN
server on both addresses, and `orbitmesh-agent netcheck` behind each NAT type; the verdict must
be the CONTRACT's JSON describing the NAT the host sits behind."""
import pytest

from nat_recipes import NAT_TYPES
from natlab import run_parallel
from orbitmesh_lab import OrbitmeshServer, contract_problems, run_netcheck, split_endpoint


@pytest.fixture(scope="module")
def netchecks(lab, hosts):
    """{nat_type: Future of Netcheck}, all hosts at once against one server."""
    server = OrbitmeshServer(lab)
    with server:
        runs = run_parallel(
            lambda host: run_netcheck(host, server.url, f"netcheck-{host.nat_type}"), hosts)
    yield runs
    assert server.exit_code == 0, f"server exit code on SIGTERM\n{server.log_tail()}"


@pytest.mark.parametrize("nat_type", NAT_TYPES)
def test_netcheck_reports_the_nat_type(netchecks, hosts, nat_type):
    netcheck = netchecks[nat_type].result()
    problems = contract_problems(netcheck, hosts[nat_type])
    assert not problems, "\n".join(problems) + "\n" + netcheck.describe()


@pytest.fixture(scope="module")
def one_ip_netcheck(lab, hosts, netchecks):
    """A netcheck from behind PortRestricted against a server that has one IP (an alternate port
    only): the verdict must say so (server_ips_used 1). After the two-IP server has stopped."""
    lab.flush_nat_state()
    host = hosts["PortRestricted"]
    with OrbitmeshServer(lab, http_port=8081, alt_address=None) as server:
        return run_netcheck(host, server.url, "netcheck-one-ip")


def test_netcheck_flags_a_server_with_one_ip(one_ip_netcheck, hosts):
    netcheck = one_ip_netcheck
    assert netcheck.exit_code == 0 and isinstance(netcheck.result, dict), netcheck.describe()
    assert netcheck.result.get("server_ips_used") == 1, netcheck.describe()
    ip, _ = split_endpoint(netcheck.result.get("mapped_address"))
    assert ip == hosts["PortRestricted"].public_ip, netcheck.describe()
