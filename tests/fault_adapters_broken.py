"""An adapter whose framework (numpy) is installed but whose module fails to import:
a missing transitive dependency is a broken install, not an absent framework."""
import normconf_no_such_dependency  # noqa: F401
import numpy  # noqa: F401

from harness.adapters.base import Adapter


class Broken(Adapter):
    name = "broken"
