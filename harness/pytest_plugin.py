"""pytest collection of case files: one item per (case, adapter).

Item ids look like ``cases/group_norm/seed_btf.yaml::gn-btf-g1-eps1e-05-float32[torch]``.
A bad case file becomes one failing item carrying its one-line error; the
other files are collected as usual.
"""
from __future__ import annotations

import os
import zlib
from pathlib import Path

import pytest

from .cases import CLAIMS_DIR, CaseError, load_file
from .runner import Runner, explain
from .workers import DEFAULT_CELL_TIMEOUT, DEFAULT_STARTUP_TIMEOUT

_RUNNER = pytest.StashKey["Runner | None"]()
_SEEN = pytest.StashKey[dict]()


def pytest_addoption(parser):
    g = parser.getgroup("normconf")
    g.addoption("--adapters", default=os.environ.get("NORMCONF_ADAPTER_NAMES", ""),
                help="comma-separated adapters to run (default: every registered adapter)")
    g.addoption("--env-name", default=None,
                help="environment name recorded in results (default: $NORMCONF_ENV, $TOX_ENV_NAME or 'local')")
    g.addoption("--results", default=None,
                help="results JSONL path (default: reports/results/<env>.jsonl); 'none' writes nothing")
    g.addoption("--resume", action="store_true", default=False,
                help="continue the results file: skip cells already recorded with the same case content and "
                     "framework versions, append the rest (without it, an existing results file is moved aside)")
    g.addoption("--shard", default=None, metavar="K/N",
                help="run only shard K of N (cases and claims split by a stable hash of their id; "
                     "default results file reports/results/<env>.shard-K-of-N.jsonl); merging all N equals one run")
    g.addoption("--cases-root", default=None, help="directory holding case files (default: <rootdir>/cases)")
    g.addoption("--cell-timeout", type=float, default=DEFAULT_CELL_TIMEOUT, help="seconds per cell")
    g.addoption("--startup-timeout", type=float, default=DEFAULT_STARTUP_TIMEOUT,
                help="seconds for a worker to import its framework")
    g.addoption("--max-elements", type=int, default=None,
                help="largest input (elements) a case may ask for (default: $NORMCONF_MAX_ELEMENTS or 2**24)")


def _env_name(config) -> str:
    return (config.getoption("--env-name") or os.environ.get("NORMCONF_ENV")
            or os.environ.get("TOX_ENV_NAME") or "local")


def _adapters(config) -> list[str] | None:
    raw = config.getoption("--adapters")
    names = [a.strip() for a in raw.split(",") if a.strip()]
    return names or None


def _cases_root(config) -> Path:
    opt = config.getoption("--cases-root")
    return Path(opt).resolve() if opt else Path(config.rootpath, "cases")


def _shard(config) -> tuple[int, int] | None:
    raw = config.getoption("--shard")
    if not raw:
        return None
    try:
        k, n = (int(x) for x in raw.split("/"))
    except ValueError:
        raise pytest.UsageError(f"--shard wants K/N, e.g. 2/4, not {raw!r}") from None
    if not 1 <= k <= n:
        raise pytest.UsageError(f"--shard {raw}: K must be between 1 and N")
    return k, n


def shard_of(key: str, n: int) -> int:
    """The shard (1..n) an item with this case or claim id belongs to: stable across machines and runs."""
    return zlib.crc32(key.encode("utf-8")) % n + 1


def pytest_collection_modifyitems(config, items):
    shard = _shard(config)
    if not shard:
        return
    k, n = shard
    keep, drop = [], []
    for item in items:
        key = (getattr(getattr(item, "case", None), "id", None) or getattr(getattr(item, "claim", None), "id", None)
               or item.nodeid)
        (keep if shard_of(key, n) == k else drop).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


def pytest_configure(config):
    config.stash[_RUNNER] = None
    config.stash[_SEEN] = {}


def pytest_collect_file(parent, file_path: Path):
    if file_path.suffix in (".yaml", ".yml"):
        root = _cases_root(parent.config)
        resolved = file_path.resolve()
        if root in resolved.parents:
            if (root / CLAIMS_DIR) in resolved.parents:
                return ClaimFile.from_parent(parent, path=file_path)
            return CaseFile.from_parent(parent, path=file_path)
    return None


def _runner(config) -> Runner:
    r = config.stash[_RUNNER]
    if r is None:
        env = _env_name(config)
        res = config.getoption("--results")
        if res is None:
            shard = _shard(config)
            name = f"{env}.shard-{shard[0]}-of-{shard[1]}.jsonl" if shard else f"{env}.jsonl"
            res = str(Path(config.rootpath, "reports", "results", name))
        r = Runner(env, None if res == "none" else res, _adapters(config),
                   cell_timeout=config.getoption("--cell-timeout"),
                   startup_timeout=config.getoption("--startup-timeout"),
                   resume=config.getoption("--resume"))
        config.stash[_RUNNER] = r
    return r


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    r = config.stash.get(_RUNNER, None)
    if r is not None and r.writer is not None and r.writer.moved_aside:
        terminalreporter.write_line(f"normconf: moved the earlier results file {r.writer.path} to "
                                    f"{r.writer.moved_aside} (use --resume to continue it instead)")
    if r is not None and config.getoption("--resume"):
        terminalreporter.write_line(f"normconf: resumed: {r.resumed} cell(s) and claim(s) already recorded "
                                    "were not run again")


def pytest_sessionfinish(session):
    r = session.config.stash.get(_RUNNER, None)
    if r is not None:
        r.close()


def _as_case_error(file, e: Exception) -> CaseError:
    if isinstance(e, CaseError):
        return e
    return CaseError(file, 0, None, f"cannot load: {type(e).__name__}: {e}")


class CaseFile(pytest.File):
    def collect(self):
        rel = os.path.relpath(self.path, self.config.rootpath)
        try:
            cases = load_file(self.path, max_elements=self.config.getoption("--max-elements"), display=rel)
        except Exception as e:  # noqa: BLE001 - one bad file is one failing item; the others still run
            yield CaseFileError.from_parent(self, name="<invalid case file>", error=_as_case_error(rel, e))
            return
        seen = self.config.stash[_SEEN]
        for c in cases:
            if c.id in seen:
                first = seen[c.id]
                err = CaseError(rel, c.line, "id", f"duplicate case id '{c.id}' (also in {first})")
                yield CaseFileError.from_parent(self, name="<invalid case file>", error=err)
                return
        for c in cases:
            seen[c.id] = f"{c.file}:{c.line}"
        names = _adapters(self.config)
        if names is None:
            from .adapters import registry
            names = list(registry())
        for c in cases:
            for a in names:
                yield CaseItem.from_parent(self, name=f"{c.id}[{a}]", case=c, adapter=a)


class ClaimFile(pytest.File):
    def collect(self):
        from .adapters import registry
        from .claims import load_claims

        rel = os.path.relpath(self.path, self.config.rootpath)
        try:
            claims = load_claims(self.path, display=rel)
        except Exception as e:  # noqa: BLE001 - one bad file is one failing item; the others still run
            yield CaseFileError.from_parent(self, name="<invalid claims file>", error=_as_case_error(rel, e))
            return
        selected = _adapters(self.config)
        known = registry()
        for c in claims:
            for a in c.adapters:
                if a not in known:
                    err = CaseError(rel, c.line, "adapters", f"unknown adapter '{a}' in claim '{c.id}'")
                    yield CaseFileError.from_parent(self, name=f"<invalid claim {c.id}>", error=err)
                    continue
                if selected is None or a in selected:
                    yield ClaimItem.from_parent(self, name=f"{c.id}[{a}]", claim=c, adapter=a)


class CellFailure(Exception):
    """A cell or claim that did not agree: its text is the whole report."""

    def __init__(self, text):
        super().__init__(text)
        self.text = text


class _AdapterItem(pytest.Item):
    """One measurement with one adapter; a disagreement is reported by its own text."""

    def __init__(self, *, adapter, **kw):
        super().__init__(**kw)
        self.adapter = adapter

    def repr_failure(self, excinfo):
        if isinstance(excinfo.value, CellFailure):
            return excinfo.value.text
        return super().repr_failure(excinfo)


class ClaimItem(_AdapterItem):
    def __init__(self, *, claim, **kw):
        super().__init__(**kw)
        self.claim = claim

    def runtest(self):
        from .claims import verdict_text

        r = _runner(self.config).run_claim(self.claim, self.adapter)
        self.user_properties.append(("verdict", r.verdict))
        if r.verdict == "holds":
            return
        if r.verdict == "unsupported":
            pytest.skip(f"unsupported: {r.error}")
        lines = [f"claim {self.claim.id} [{self.adapter}]: {verdict_text(r)}",
                 f"  {self.claim.framework} {self.claim.api}: \"{self.claim.quote}\"",
                 f"  source: {self.claim.source}"]
        if r.per_input:
            lines.append("  per input: " + ", ".join(f"{k}: {v}" for k, v in r.per_input.items()))
        if r.explanation:
            lines.append(f"  explanation: {r.explanation}")
        lines.append(f"  claim: {self.claim.file}:{self.claim.line}")
        raise CellFailure("\n".join(lines))

    def reportinfo(self):
        return self.path, max(self.claim.line - 1, 0), f"claim {self.claim.id} [{self.adapter}]"


class CaseFileError(pytest.Item):
    def __init__(self, *, error: CaseError, **kw):
        super().__init__(**kw)
        self.error = error

    def runtest(self):
        raise self.error

    def repr_failure(self, excinfo):
        if isinstance(excinfo.value, CaseError):
            return str(excinfo.value)
        return super().repr_failure(excinfo)

    def reportinfo(self):
        return self.path, max(self.error.line - 1, 0), str(self.error)


class CaseItem(_AdapterItem):
    def __init__(self, *, case, **kw):
        super().__init__(**kw)
        self.case = case

    def runtest(self):
        if self.case.skip:
            _runner(self.config).record_skip(self.case, self.adapter, self.case.skip)
            pytest.skip(f"skipped by its case file: {self.case.skip}")
        result = _runner(self.config).run_cell(self.case, self.adapter)
        self.user_properties.append(("status", result.status))
        for k in ("max_abs", "achievable", "ratio", "allowed", "max_rel", "max_ulp", "nonfinite"):
            if k in result.metrics:
                self.user_properties.append((k, result.metrics[k]))
        if result.status == "agree":
            return
        if result.status == "unsupported":
            pytest.skip(f"unsupported: {result.message}")
        raise CellFailure(explain(self.case, result))

    def reportinfo(self):
        return self.path, max(self.case.line - 1, 0), f"{self.case.id} [{self.adapter}]"
