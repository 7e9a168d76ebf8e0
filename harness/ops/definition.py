"""Operators that name their own definition (the extension point of :mod:`harness.ops.registry`).

Most operators are "normalize over named axes, then an affine transform" (:class:`~.semantics.Semantics`).
An operator that is not (L2 normalization, local response normalization) names its own
:class:`Definition` in its registry entry:

* ``module``: the module of :mod:`harness.numerics` that computes it (``harness.numerics.<module>``). It
  holds ``reference(x, formula)`` (float64, exact to a few ulps), ``achievable_error(x, ref, formula,
  dtype)`` (what stable implementations in the case dtype reach) and ``emulate(x, formula, dtype)`` (a
  plain implementation computed in the dtype, for the fingerprint);
* ``keys``: the case keys it takes (:class:`Key`: JSON schema of one value, id token, words), besides
  the common ones and the registry's shared keys (``axes``);
* ``conventions``: the ways frameworks compute it (:class:`Convention`), each a value of one of the
  reference function's parameters with words that name it; the first value of each parameter is the
  operator's definition, the others are the variants the fingerprint tries, so that a divergence says
  which convention the output fits;
* ``epsilon``: whether it takes the case key ``epsilon`` (``epsilon: default`` included); ``eps_values``:
  further epsilons the fingerprint tries (the documented defaults of frameworks).

A case of such an op has a :class:`Formula` where other cases have a ``Semantics``: the op, the layout,
the key values, epsilon and the convention parameters. The case loader, inputs, the judge, the
verdict, the fingerprint, the report and the reproducer ask the formula and the numerics module it names.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace


@dataclass(frozen=True)
class Key:
    """A case key an operator defines: its JSON schema (one value), id token and meaning."""

    name: str
    schema: dict = field(compare=False)
    token: Callable[[object], str] = field(compare=False)
    words: str = ""


@dataclass(frozen=True)
class Convention:
    """One value of one parameter of the reference function, and the words that name it
    ("eps clamps the squared norm (TensorFlow)")."""

    param: str
    value: object
    words: str
    #: False where epsilon plays no part in this convention (the fingerprint tries it with one epsilon only)
    epsilon: bool = True


@dataclass(frozen=True)
class Definition:
    module: str
    #: the definition in words, with ``{key}`` fields filled from the formula ("x / max(||x||, eps)")
    text: str
    keys: tuple[Key, ...] = ()
    conventions: tuple[Convention, ...] = ()
    epsilon: bool = True
    eps_values: tuple[float, ...] = ()
    #: the layout's axes the definition runs along when ``axes`` is not given: "last" or "channel"
    along: str = "last"

    @property
    def params(self) -> tuple[str, ...]:
        """The reference function's convention parameters, in order."""
        out: list[str] = []
        for c in self.conventions:
            if c.param not in out:
                out.append(c.param)
        return tuple(out)

    def reference_conventions(self) -> dict:
        """Each convention parameter's first value: the operator's definition."""
        out: dict = {}
        for c in self.conventions:
            out.setdefault(c.param, c.value)
        return out

    def values(self, param: str) -> tuple:
        return tuple(c.value for c in self.conventions if c.param == param)

    def uses_epsilon(self, conventions) -> bool:
        """Whether epsilon plays a part under these (param, value) conventions."""
        return self.epsilon and all(c.epsilon for c in self.conventions if (c.param, c.value) in set(conventions))

    def words(self, param: str, value) -> str:
        for c in self.conventions:
            if c.param == param and c.value == value:
                return c.words
        return f"{param}={value}"


@dataclass(frozen=True)
class Formula:
    """One member of an operator's own family: what the reference computes for a case.

    ``args``: the case's values of the op's keys (and ``axes``, the axes it runs along, in layout order);
    ``eps``: the epsilon (None for an op without one); ``conventions``: the convention parameters (the
    definition's own unless a variant overrides them)."""

    op: str
    layout: str
    args: tuple[tuple[str, object], ...]
    eps: float | None
    conventions: tuple[tuple[str, object], ...]
    definition: Definition = field(compare=False, repr=False)

    def arg(self, name: str, default=None):
        return dict(self.args).get(name, default)

    @property
    def axes(self) -> str:
        return self.arg("axes")

    def convention(self, param: str):
        return dict(self.conventions)[param]

    def with_(self, eps=..., **conventions) -> Formula:
        conv = {**dict(self.conventions), **conventions}
        return replace(self, eps=self.eps if eps is ... else eps,
                       conventions=tuple((p, conv[p]) for p in self.definition.params))

    def differences(self, other: Formula) -> list[str]:
        """Words for each convention in which this formula differs from ``other``, and its epsilon."""
        out = [self.definition.words(p, v) for p, v in self.conventions if dict(other.conventions).get(p) != v]
        if self.definition.uses_epsilon(self.conventions) and self.eps != other.eps:
            out.append("no epsilon (0)" if self.eps == 0 else f"epsilon {_g(self.eps)}")
        return out

    def describe(self) -> str:
        d = self.definition
        args = {k: _g(v) if isinstance(v, float) else v for k, v in self.args}
        text = d.text.format(**args, eps="each framework's documented default" if self.eps is None and d.epsilon
                             else _g(self.eps))
        conv = "; ".join(d.words(p, v) for p, v in self.conventions)
        return f"{text} ({conv})" if conv else text


def _g(v) -> str:
    return f"{v:g}" if isinstance(v, (int, float)) else str(v)
