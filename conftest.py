# Hands pytest the YAML case collector (harness.plugin); everything else lives in harness/ (and the
# tests' own helpers in tests/).
import sys

pytest_plugins = ["harness.plugin"]


def pytest_sessionfinish(session, exitstatus):
    """The harness's own tests share one worker per adapter (tests/support.py): stop them at the end."""
    support = sys.modules.get("tests.support")
    if support is not None:
        support.close_shared_runners()
