"""What each NAT type of the lab is: its RFC 4787 behaviours (BEHAVIOUR) and the router rules
that make it (router_rules), the recipes of ../shared/ARCHITECTURE.md, "The NAT lab"."""
from dataclasses import dataclass

NAT_TYPES = ("Open", "FullCone", "Restricted", "PortRestricted", "Symmetric")

# RFC 4787 behaviours in the CONTRACT's words, and what each recipe does. Symmetric is
# MASQUERADE --random-fully: a new random port per destination address and port; its filter is
# conntrack's (only replies pass), so address-and-port dependent.
EI, AD, APD = "EndpointIndependent", "AddressDependent", "AddressAndPortDependent"


@dataclass(frozen=True)
class Behaviour:
    nat: bool
    mapping: str
    filtering: str


BEHAVIOUR = {
    "Open": Behaviour(nat=False, mapping=EI, filtering=EI),
    "FullCone": Behaviour(nat=True, mapping=EI, filtering=EI),
    "Restricted": Behaviour(nat=True, mapping=EI, filtering=AD),
    "PortRestricted": Behaviour(nat=True, mapping=EI, filtering=APD),
    "Symmetric": Behaviour(nat=True, mapping=APD, filtering=APD),
}

# The NAT recipes: iptables/ipset argument lists run inside a router namespace. They follow the
# table of ARCHITECTURE.md word for word, plus one MASQUERADE on the Full cone router (below);
# the INPUT rule is the home router's firewall that every router has (see there for why it
# matters to hole punching).

def router_rules(nat_type, wan_ip, host_ip):
    masquerade = ["iptables", "-t", "nat", "-A", "POSTROUTING", "-o", "wan0", "-j", "MASQUERADE"]
    if nat_type == "FullCone":
        rules = [
            ["iptables", "-t", "nat", "-A", "POSTROUTING", "-o", "wan0", "-p", "udp",
             "-j", "SNAT", "--to-source", wan_ip],
            ["iptables", "-t", "nat", "-A", "PREROUTING", "-i", "wan0", "-p", "udp",
             "-j", "DNAT", "--to-destination", host_ip],
            # Not in ARCHITECTURE.md's row, which NATs UDP only: without it the host's TCP (the
            # signaling WebSocket) leaves with its private source address and never connects.
            masquerade,
        ]
    elif nat_type == "Restricted":
        # The set holds (remote address, our port): an inbound packet passes when our mapping
        # has sent to its source address before, from any of that address's ports.
        rules = [
            ["ipset", "create", "contacted", "hash:ip,port", "timeout", "120"],
            masquerade,
            ["iptables", "-A", "FORWARD", "-i", "lan0", "-o", "wan0",
             "-j", "SET", "--add-set", "contacted", "dst,src"],
            ["iptables", "-t", "nat", "-A", "PREROUTING", "-i", "wan0", "-p", "udp",
             "-m", "set", "--match-set", "contacted", "src,dst",
             "-j", "DNAT", "--to-destination", host_ip],
            ["iptables", "-A", "FORWARD", "-i", "wan0",
             "-m", "conntrack", "--ctstate", "ESTABLISHED,RELATED,DNAT", "-j", "ACCEPT"],
            ["iptables", "-A", "FORWARD", "-i", "wan0", "-j", "DROP"],
        ]
    elif nat_type == "PortRestricted":
        rules = [
            masquerade,
            ["iptables", "-A", "FORWARD", "-i", "wan0",
             "-m", "conntrack", "--ctstate", "ESTABLISHED,RELATED", "-j", "ACCEPT"],
            ["iptables", "-A", "FORWARD", "-i", "wan0", "-j", "DROP"],
        ]
    elif nat_type == "Symmetric":
        rules = [masquerade + ["--random-fully"]]
    else:
        raise ValueError(f"no router recipe for NAT type {nat_type!r}")
    rules.append(["iptables", "-A", "INPUT", "-i", "wan0",
                  "-m", "conntrack", "--ctstate", "NEW,INVALID", "-j", "DROP"])
    return rules
