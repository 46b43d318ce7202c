"""Fixtures of the NAT lab suite: one lab per test module, with a host behind each NAT type.
Where namespaces are impossible here, the fixtures skip with the loud NATLAB SKIPPED line
(run_suite.py turns an all-skipped run into ctest's SKIP_RETURN_CODE)."""
import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import natlab  # noqa: E402
from nat_recipes import NAT_TYPES  # noqa: E402

_unavailable = []   # memo: the probe builds a namespace, once per session is enough


def lab_unavailable_reason():
    if not _unavailable:
        _unavailable.append(natlab.unavailable_reason())
    return _unavailable[0]


def skip_loudly(reason):
    natlab.skip_loudly(reason)
    pytest.skip(f"NATLAB SKIPPED: {reason}")


@pytest.fixture(scope="module")
def lab():
    reason = lab_unavailable_reason()
    if reason:
        skip_loudly(reason)
    with natlab.Lab() as built:
        yield built


@pytest.fixture(scope="module")
def hosts(lab):
    """{nat_type: Host}: one host behind each NAT type of nat_recipes.NAT_TYPES."""
    return {nat_type: lab.add_host(nat_type) for nat_type in NAT_TYPES}
