"""normconf: conformance harness for normalization operators."""

__version__ = "0.1.0"
