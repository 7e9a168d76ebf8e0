"""The repro tests run the fault-injection adapters from the repository root."""
import pytest

from tests.unit.repro.support import REPO


@pytest.fixture(autouse=True)
def plugins(monkeypatch):
    monkeypatch.setenv("NORMCONF_ADAPTERS", "tests.fault_adapters:SPECS")
    monkeypatch.chdir(REPO)
