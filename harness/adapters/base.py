"""The adapter contract.

An adapter wraps one framework API family and is the only code that imports
that framework. It runs inside a worker process. The harness asks it three
things:

``versions()``
    framework name -> version string for everything that shapes the numbers.
``unavailable()``
    ``None``, or why the adapter cannot run on this machine at all (e.g. "no
    CUDA device"); every cell is then ``unsupported`` with that reason and the
    report hides the column. A framework that is not installed is detected by
    the worker (``ModuleNotFoundError`` on import) and treated the same way.
``supports(case)``
    ``None`` when it can run the case, otherwise a reason a user can act on
    ("TFA has no RMS norm").
``run(case, inputs)``
    call the API the way a user would (with ``inputs.mask``, the positions whose statistics count, passed
    as the API's own mask argument, for the ops in ``masks``; every other ``mask:`` case is unsupported) (including the transposes a user must
    write) and return an :class:`Output`: the result as a NumPy array in the
    case's layout, and the source snippet of the call, so that a reproducer
    shows exactly what ran. A framework exception propagates: the harness
    records it as ``error``.

Inputs arrive as NumPy arrays already rounded to the case dtype
(``inputs.x``, ``inputs.gamma``, ``inputs.beta``; gamma/beta are None when the
case has no affine transform, and beta is None for ops without a bias). When
``case.sets_affine`` (random or given values), the call loads them into the
API's parameters; otherwise they are the API's initial ones and zeros.

A case's ``options`` (framework arguments such as Flax's ``use_fast_variance``)
are passed in the call by the adapters that declare them in ``options``; on
every other adapter the case is unsupported ("<adapter> has no option <name>").
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from harness.ops.layouts import Layout


@dataclass
class Output:
    y: np.ndarray
    snippet: str
    #: facts about the call besides the output: ``epsilon_default`` (the
    #: documented default epsilon used when the case says ``epsilon: default``)
    info: dict = field(default_factory=dict)
    #: named outputs besides ``y``, as numpy arrays (gradients, running statistics)
    arrays: dict = field(default_factory=dict)


class Adapter:
    name: str = ""
    #: ops, layouts and dtypes this adapter can run; anything else is unsupported
    ops: frozenset = frozenset()
    layouts: frozenset | None = None  # None: every layout
    dtypes: frozenset = frozenset({"float32", "float64"})
    #: checks (``check:``) this adapter can run
    checks: frozenset = frozenset({"forward"})
    #: op -> why the API lacks it and where a user finds it instead
    missing_ops: dict = {}
    #: ops whose API takes a mask for its statistics (``mask:`` cases); the others are unsupported
    masks: frozenset = frozenset()
    #: op -> the API a mask case would call, for the reason it is unsupported ("torch.nn.LayerNorm")
    mask_apis: dict = {}
    #: ops whose running statistics the API keeps (checks running_stats and inference)
    stats_ops: frozenset = frozenset({"batch_norm"})
    #: whether the API takes batch norm's momentum (a case giving one is n/a where it does not);
    #: None: where it runs check running_stats
    takes_momentum: bool | None = None
    #: whether it takes ``momentum: null``, the cumulative moving average
    cumulative_momentum: bool = False
    #: why a check or a key is n/a: keys a check, "momentum" or "cumulative", alone or as (op, key)
    missing_checks: dict = {}
    #: whether layer/RMS norm parameters can span other axes than the reduced ones
    decoupled_affine: bool = False
    #: whether group norm statistics can span other axes than the group's channels and every spatial axis
    group_axes: bool = False
    #: op -> the framework options (``options:`` of a case, named in the registry's OPTIONS) this adapter
    #: passes to its API for that op; a case with any other option is unsupported here
    options: dict = {}
    #: op -> (documented default epsilon, the documentation's words, their source): the
    #: value a call without an epsilon argument uses by the docs (``epsilon: default``
    #: cases); a dict dtype -> value where the docs make it depend on the dtype
    default_epsilons: dict = {}

    def versions(self) -> dict[str, str]:
        return {}

    def unavailable(self) -> str | None:
        return None

    def supports(self, case) -> str | None:
        if case.op not in self.ops:
            return self.missing_ops.get(case.op, f"{self.name} has no {case.op}")
        for name in dict(getattr(case, "options", ())):
            if name not in self.options.get(case.op, ()):
                return f"{self.name} has no option {name}"
        if self.layouts is not None and case.layout not in self.layouts:
            return f"{self.name} does not run layout {case.layout}"
        if case.check not in self.checks:
            return self.missing_check(case, case.check) or f"{self.name} does not run check {case.check}"
        if case.dtype not in self.dtypes:
            return f"{self.name} does not run dtype {case.dtype}"
        if case.check in ("running_stats", "inference") and case.op not in self.stats_ops:
            return self.missing_check(case, case.check) or \
                f"{self.name}: its {case.spec.title} keeps no running statistics"
        if case.momentum is not None and case.check != "inference":
            takes = self.takes_momentum if self.takes_momentum is not None else "running_stats" in self.checks
            if not takes or case.op not in self.stats_ops:
                return self.missing_check(case, "momentum") or \
                    f"{self.name}: its {case.spec.title} takes no momentum (it keeps no running statistics)"
            if case.cumulative and not self.cumulative_momentum:
                return self.missing_check(case, "cumulative") or \
                    f"{self.name} has no cumulative moving average (momentum: null)"
        if case.epsilon is None and case.spec.takes_epsilon and self.documented_epsilon(case) is None:
            return f"{self.name} documents no default epsilon for {case.op}"
        if case.spec.definition is not None:
            return self.supports_case(case)
        sem, op = case.semantics, case.spec
        if op.grouped and not self.group_axes \
                and set(sem.stat_axes) != {Layout(case.layout).channel, *Layout(case.layout).spatial}:
            return (f"{self.name} {op.title} always reduces over the group's channels and every spatial axis; "
                    f"it cannot reduce over {{{','.join(Layout(case.layout).ordered(sem.stat_axes))}}} "
                    "(fold the other axes into the batch)")
        if set(sem.affine_axes) != set(sem.stat_axes) and "affine_axes" in op.params \
                and not self.decoupled_affine:
            return (f"{self.name} {case.op} parameters always span the normalized axes; it cannot put them "
                    f"on {case.affine_axes} alone")
        reason = self.supports_case(case)
        if reason is None and getattr(case, "mask", ()) and case.op not in self.masks:
            return self.no_mask(case)
        return reason

    def supports_case(self, case) -> str | None:
        return None

    def no_mask(self, case) -> str:
        """Why a ``mask:`` case is unsupported: the API it would call takes no mask."""
        api = self.mask_apis.get(case.op)
        return f"{api} takes no mask" if api else f"{self.name} {case.spec.title} takes no mask"

    def missing_check(self, case, key: str) -> str | None:
        """Why ``key`` (a check, "momentum" or "cumulative") is n/a for ``case``'s op, if the adapter says."""
        return self.missing_checks.get((case.op, key)) or self.missing_checks.get(key)

    def documented_epsilon(self, case) -> dict | None:
        """The documented default epsilon for ``case`` (value, quote, source), or None."""
        entry = self.default_epsilons.get(case.op)
        if entry is None:
            return None
        value, quote, source = entry
        if isinstance(value, dict):
            value = value.get(case.dtype)
            if value is None:
                return None
        return {"value": float(value), "quote": quote, "source": source}

    def run(self, case, inputs) -> Output:  # pragma: no cover - interface
        raise NotImplementedError

    def repro(self, case) -> dict | None:
        """The pieces of a standalone reproducer (``normconf repro``) as source
        text, or None when this adapter cannot write one. Keys:

        ``imports``       framework imports and setup (runs after ``import numpy as np``)
        ``to_framework``  an expression turning the numpy array ``a`` (case dtype;
                          bfloat16 values are held in a float32 array) into what the call takes
        ``to_numpy``      an expression turning the call's result ``y`` into a float64 numpy array
        ``context``       an expression for a ``with`` block around the call, or ""
        ``versions``      an expression giving the framework versions as a dict
        ``call``          the code that ran: reads ``x``, ``gamma``, ``beta``, leaves ``y``
        """
        return None


def eps_kw(case, name: str) -> list[str]:
    """``[name=<epsilon>]``, or nothing for ``epsilon: default`` (the call leaves it out)."""
    return [] if case.epsilon is None else [f"{name}={fmt(case.epsilon)}"]


def option_kw(case, name: str) -> list[str]:
    """``[name=<value>]`` when the case passes framework option ``name``, else nothing."""
    opts = dict(getattr(case, "options", ()))
    return [f"{name}={fmt(opts[name])}"] if name in opts else []


def fmt(v) -> str:
    """Format a Python value for a snippet."""
    if isinstance(v, float):
        return repr(v)
    if isinstance(v, tuple):
        return "(" + ", ".join(fmt(x) for x in v) + ("," if len(v) == 1 else "") + ")"
    return repr(v)


def run_snippet(adapter_name: str, src: str, namespace: dict) -> dict:
    """Execute an adapter's generated call (the snippet it records) in ``namespace``."""
    exec(compile(src, f"<{adapter_name} snippet>", "exec"), namespace)  # noqa: S102 - our own generated code
    return namespace
