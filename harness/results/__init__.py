"""Results: the records a run writes (JSON Lines), reading them back, and checking them as untrusted input.

* :mod:`.parts`: typed parts of a record (:class:`Metrics`, :class:`Fingerprint`, ...) and schema upgrades;
* :mod:`.record`: :class:`Result` and :class:`ClaimResult` and their vocabularies;
* :mod:`.write`: the :class:`Writer` and a run's provenance;
* :mod:`.validate`: each field's type and value, with a fast path for records as written;
* :mod:`.read`: reading and merging files (:func:`read`, :func:`read_many`);
* :mod:`.paths`: where results files are, and a reproducer's file name;
* :mod:`.timeline`: ``normconf bisect``'s timelines (a cell's verdict per release), written and read back.
"""
from .parts import SCHEMA_VERSION, Fingerprint, Metrics
from .paths import ResultsNotFound, collect, repro_name, result_paths
from .read import merge, read_many
from .record import OUTCOMES, STATUSES, VERDICTS, ClaimResult, Result, verdict_text
from .write import Writer, provenance

__all__ = ["OUTCOMES", "SCHEMA_VERSION", "STATUSES", "VERDICTS", "ClaimResult", "Fingerprint", "Metrics", "Result",
           "ResultsNotFound", "Writer", "collect", "merge", "provenance", "read_many", "repro_name", "result_paths",
           "verdict_text"]
