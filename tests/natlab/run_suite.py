"""ctest's entry to one NAT lab test module:

    run_suite.py TEST_MODULE.py [--needs TOOL]...

Exits with SKIP_CODE (ctest's SKIP_RETURN_CODE) after printing "NATLAB SKIPPED: <reason>" when
the lab cannot be built here (not root, no `ip netns`, no iptables/ipset/conntrack) or a tool the
module needs is missing, and also when pytest ran but every test skipped: never a silent pass.
Otherwise the exit code is pytest's."""
import argparse
import os
import shutil
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import natlab  # noqa: E402

SKIP_CODE = 77


class _Outcomes:
    """A pytest plugin counting test outcomes (the call phase, and setup skips)."""

    def __init__(self):
        self.passed = self.failed = self.skipped = 0

    def pytest_runtest_logreport(self, report):
        if report.skipped:
            self.skipped += 1
        elif report.failed:
            self.failed += 1
        elif report.when == "call" and report.passed:
            self.passed += 1


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("module")
    parser.add_argument("--needs", action="append", default=[], metavar="TOOL")
    parser.add_argument("pytest_args", nargs="*")
    args = parser.parse_args()

    reason = natlab.unavailable_reason()
    missing = [tool for tool in args.needs if shutil.which(tool) is None]
    if not reason and missing:
        reason = f"missing tools: {' '.join(missing)}"
    if reason:
        natlab.skip_loudly(reason)
        return SKIP_CODE

    import pytest   # Debian's python3-pytest (scripts/lib/common.sh installs it)
    outcomes = _Outcomes()
    code = pytest.main(["-q", "-rsxf", "-p", "no:cacheprovider", f"--rootdir={HERE}",
                        os.path.join(HERE, args.module), *args.pytest_args], plugins=[outcomes])
    if code == 0 and outcomes.passed == 0:
        natlab.skip_loudly(f"{args.module}: every test skipped")
        return SKIP_CODE
    return int(code)


if __name__ == "__main__":
    sys.exit(main())
