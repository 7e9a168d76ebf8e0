"""An adapter whose framework is not installed."""
import normconf_no_such_framework  # noqa: F401

from harness.adapters.base import Adapter


class Missing(Adapter):
    name = "missing"
