"""Two columns compared for people porting a model: where they differ, under which case parameters,
and which documented defaults differ between the two APIs.

A column is one adapter in one environment (``adapter@env``). Records hold each cell judged against the
float64 reference, never an output, so every relation here goes through the reference and the
fingerprint; no difference between the two outputs is claimed as measured.

* :mod:`.columns`: the columns of merged results (:class:`ColumnIndex`, built once) and selectors
  (``adapter@env``, an adapter, a framework matched loosely: :meth:`ColumnIndex.select`);
* :mod:`.relation`: the relation of two cells of one case (``same``, ``differ``, ``same deviation``,
  ``both diverge``, ``raises on one side``, ``both raise``, ``only A``, ``only B``, ``neither``);
* :mod:`.conditions`: the case parameters that separate the differing cases from the alike ones;
* :mod:`.comparison`: :func:`compare` (every pair, its relation, the conditions) and :func:`summary`;
* :mod:`.defaults`: documented defaults per API (``cases/defaults/*.yaml``), loaded and validated, and
  side by side (:func:`defaults_table`);
* :mod:`.command`: ``normconf compare A B``.

For the report, pure and fast (the index and its literals are built once for every pair):

* ``summary(index, a, b, op=None, cause_of=None)``: for one pair of columns (``index.select(...).column``
  or ``index.columns[i]``), a JSON-able ``{"a", "b", "op", "counts": {relation: n}, "conditions": [text],
  "exact", "differing": [{"case_id", "relation"}], "note"}``; ``cause_of(record)`` (the report passes
  its expectations lookup) gives a record's declared root cause, an object with ``id`` and ``name``;
* ``defaults_table(defaults, adapters, op_names=None)``: the documented defaults of those adapters per op
  as JSON-able ``{"ops": [{"op", "apis": {adapter: api}, "where", "facts": [{"fact", "differs", "note",
  "values": {adapter: fact}}]}]}``, ``defaults`` from ``load_defaults(discover_defaults(cases_root))``.
"""
from .columns import ColumnIndex, UnknownColumn
from .comparison import NOTE, compare, separation_of, summary
from .conditions import separate
from .defaults import defaults_table
from .defaults import discover as discover_defaults
from .defaults import load as load_defaults
from .relation import DIFFERING, RELATIONS

__all__ = ["DIFFERING", "NOTE", "RELATIONS", "ColumnIndex", "UnknownColumn", "compare", "defaults_table",
           "discover_defaults", "load_defaults", "separate", "separation_of", "summary"]
