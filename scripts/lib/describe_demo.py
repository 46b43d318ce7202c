"""Reads one JSON object printed by `orbitmesh-agent datagram-demo` on stdin and says in plain
words what happened."""
import json
import sys


def describe(r):
    if "sent" not in r:
        return f"The demo failed: {r.get('error', 'no reason given')}."
    lines = [
        f"Agent A ({r['a_address']}) sent {r['sent']} datagrams of {r['size']} bytes to agent B "
        f"({r['b_address']}) through the '{r['transport_plugin']}' transport (MTU {r['mtu']}).",
        f"B received {r['received_by_b']} of them and echoed each one back; "
        f"{r['echoed']} echoes reached A, all checked byte for byte, in {r['elapsed_ms']} ms.",
    ]
    if r.get("lost"):
        cause = "as the configured loss intends" if r.get("loss_configured") else "unexpectedly"
        lines.append(f"{r['lost']} round trips were lost on the way, {cause}; A stopped waiting "
                     f"for them {r.get('waited_ms', '?')} ms after the first send.")
    if r.get("duplicates"):
        lines.append(f"{r['duplicates']} duplicates arrived and were recognised.")
    if r.get("error"):
        lines.append(f"Problem: {r['error']}.")
    return "\n".join(lines)


if __name__ == "__main__":
    text = sys.stdin.read().strip()
    try:
        print(describe(json.loads(text)))
    except (ValueError, KeyError) as e:
        print(f"Could not read the demo's output ({e}): {text!r}")
