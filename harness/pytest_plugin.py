"""pytest collection of case files: one item per (case, adapter).

Item ids look like ``<case file>::<case id>[<adapter>]``, e.g. ``cases/x/seed_btf.yaml::gn-btf-g1-eps1e-05-float32[torch]``.
A bad case file becomes one failing item carrying its one-line error; the
other files are collected as usual.

Every cell and claim ends as one of three outcomes, given the expectations in
``<cases>/expectations/*.yaml``: *expected* (agrees, or diverges as an entry
says: reported as xfail with the entry's reason), *unexpected* (a new
divergence, error, crash or timeout, or an expected divergence that now
agrees: a failure), or a *harness failure* (a bad case, claims or
expectations file, an unknown adapter, an exception in the harness itself).
The session's exit status says which: 0 all expected, 1 something unexpected,
2 a harness failure (also a stale expectation entry with
``--strict-expectations``).
"""
from __future__ import annotations

import os
import zlib
from pathlib import Path

import pytest

from .cases import CLAIMS_DIR, EXPECTATIONS_DIR, CaseError, load_file
from .expectations import Expectations, describe_unexpected
from .expectations import discover as discover_expectations
from .expectations import load_file as load_expectations_file
from .runner import Runner, explain
from .workers import DEFAULT_CELL_TIMEOUT, DEFAULT_STARTUP_TIMEOUT

_RUNNER = pytest.StashKey["Runner | None"]()
_SEEN = pytest.StashKey[dict]()
_EXPECT = pytest.StashKey["Expectations | None"]()
_TALLY = pytest.StashKey[dict]()
_DISPATCHED = pytest.StashKey[bool]()


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
    g.addoption("--jobs", type=int, default=None, metavar="N",
                help="at most N adapter workers busy at once, cells sent to them ahead of time; records are "
                     "still written in item order (default: the number of cores; 1 runs one cell at a time)")
    g.addoption("--cell-timeout", type=float, default=DEFAULT_CELL_TIMEOUT, help="seconds per cell")
    g.addoption("--startup-timeout", type=float, default=DEFAULT_STARTUP_TIMEOUT,
                help="seconds for a worker to import its framework")
    g.addoption("--expectations", default=None, metavar="DIR",
                help="directory of expectations files (default: <cases-root>/expectations)")
    g.addoption("--strict-expectations", action="store_true", default=False,
                help="a stale expectation entry (one that matches no cell of the run) is a harness failure")
    g.addoption("--max-elements", type=int, default=None,
                help="largest input (elements) a case may ask for (default: $NORMCONF_MAX_ELEMENTS or 2**24)")


def _env_name(config) -> str:
    return (config.getoption("--env-name") or os.environ.get("NORMCONF_ENV")
            or os.environ.get("TOX_ENV_NAME") or "local")


def _adapters(config) -> list[str] | None:
    raw = config.getoption("--adapters")
    names = [a.strip() for a in raw.split(",") if a.strip()]
    return names or None


def _jobs(config) -> int:
    n = config.getoption("--jobs")
    if n is None:
        try:
            n = len(os.sched_getaffinity(0))
        except (AttributeError, OSError):
            n = os.cpu_count() or 1
    if n < 1:
        raise pytest.UsageError(f"--jobs wants a positive number, not {n}")
    return n


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
    config.stash[_DISPATCHED] = False
    config.stash[_SEEN] = {}
    config.stash[_EXPECT] = None
    config.stash[_TALLY] = {"expected": 0, "expected_divergent": [], "unexpected": [], "harness": [], "other_failed": 0}


def _expectations_dir(config) -> Path:
    opt = config.getoption("--expectations")
    return Path(opt).resolve() if opt else _cases_root(config) / EXPECTATIONS_DIR


def _expectations(config) -> Expectations:
    """The run's expectations (a bad file's entries are left out; its own item fails)."""
    e = config.stash[_EXPECT]
    if e is None:
        d = _expectations_dir(config)
        e = Expectations.load(discover_expectations(d.parent) if d.name == EXPECTATIONS_DIR
                              else sorted(d.rglob("*.yaml")), relative_to=config.rootpath)
        config.stash[_EXPECT] = e
    return e


def pytest_collect_file(parent, file_path: Path):
    if file_path.suffix in (".yaml", ".yml"):
        root = _cases_root(parent.config)
        resolved = file_path.resolve()
        if _expectations_dir(parent.config) in resolved.parents:
            return ExpectationsFile.from_parent(parent, path=file_path)
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
                   resume=config.getoption("--resume"), expectations=_expectations(config),
                   jobs=_jobs(config))
        config.stash[_RUNNER] = r
    return r


def _dispatching_runner(item) -> Runner:
    """The run's Runner; at the first cell or claim, the session's remaining cells go to the dispatcher
    (after collection, -k, --shard and other deselection, so exactly the cells that will run)."""
    config = item.config
    r = _runner(config)
    if not config.stash[_DISPATCHED]:
        config.stash[_DISPATCHED] = True
        r.dispatch([(i.case, i.adapter) for i in item.session.items
                    if isinstance(i, CaseItem) and not i.case.skip])
    return r


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    tally = config.stash.get(_TALLY, None)
    tr = terminalreporter
    if tally is not None and (tally["expected"] or tally["unexpected"] or tally["harness"]):
        tr.write_sep("=", "normconf outcomes")
        tr.write_line(f"{tally['expected']} expected ({len(tally['expected_divergent'])} of them known "
                      f"divergences or errors), {len(tally['unexpected'])} unexpected, "
                      f"{len(tally['harness'])} harness failure(s)")
        for nodeid, why in tally["unexpected"]:
            tr.write_line(f"unexpected: {nodeid}: {why}")
        for nodeid, why in tally["harness"]:
            tr.write_line(f"harness failure: {nodeid}: {' '.join(why)[:300]}")
        for e in _stale(config):
            level = "error" if config.getoption("--strict-expectations") else "warning"
            tr.write_line(f"{level}: stale expectation {e.where}: {e.names} matches no cell of this run")
    r = config.stash.get(_RUNNER, None)
    if r is not None and r.writer is not None and r.writer.moved_aside:
        terminalreporter.write_line(f"normconf: moved the earlier results file {r.writer.path} to "
                                    f"{r.writer.moved_aside} (use --resume to continue it instead)")
    if r is not None and config.getoption("--resume"):
        terminalreporter.write_line(f"normconf: resumed: {r.resumed} cell(s) and claim(s) already recorded "
                                    "were not run again")


def _partial(config) -> bool:
    """Whether this run selects part of the cells (then no entry can be called stale)."""
    if config.getoption("keyword") or config.getoption("markexpr") or config.getoption("--shard"):
        return True
    root = _cases_root(config)
    # node ids, or files and directories below the case root (not the whole tree)
    return any("::" in a or Path(config.invocation_params.dir, a).resolve() != root for a in config.args)


def _stale(config):
    r = config.stash.get(_RUNNER, None)
    if r is None or _partial(config):
        return []
    ran = set(r.adapter_names)
    import fnmatch
    from .expectation_entry import any_glob
    return [e for e in r.expectations.stale()
            if any(any_glob(a, e.adapter) for a in ran) and (not e.env or fnmatch.fnmatchcase(r.env, e.env))]


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session, exitstatus):
    config = session.config
    r = config.stash.get(_RUNNER, None)
    if r is not None:
        r.close()
    tally = config.stash.get(_TALLY, None)
    if tally is None or int(exitstatus) not in (0, 1) or tally["other_failed"]:
        return  # pytest's own status stands: it could not run, or other tests failed
    if not (tally["expected"] or tally["unexpected"] or tally["harness"]):
        return  # no cell, claim or harness file was judged in this session
    stale = _stale(config)
    if tally["harness"] or (stale and config.getoption("--strict-expectations")):
        session.exitstatus = 2
    elif tally["unexpected"]:
        session.exitstatus = 1
    else:
        session.exitstatus = 0


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    if not isinstance(item, (_AdapterItem, CaseFileError, ExpectationsOK)):
        if rep.failed:  # another test in the same session (e.g. the harness's own test suite)
            item.config.stash[_TALLY]["other_failed"] += 1
        return
    if rep.when != "call" and not rep.failed:
        return
    tally = item.config.stash[_TALLY]
    if rep.failed:
        exc = call.excinfo.value if call.excinfo else None
        if isinstance(exc, CellFailure):
            tally["unexpected"].append((item.nodeid, exc.summary))
        else:
            tally["harness"].append((item.nodeid, rep.longreprtext.strip().splitlines()[-1:] or [""]))
    elif rep.when == "call" and isinstance(item, _AdapterItem):
        tally["expected"] += 1
        if hasattr(rep, "wasxfail"):
            tally["expected_divergent"].append(item.nodeid)


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


class ExpectationsFile(pytest.File):
    """An expectations file: one item that fails with the file's one-line error when it is bad."""

    def collect(self):
        rel = os.path.relpath(self.path, self.config.rootpath)
        try:
            load_expectations_file(self.path, rel)
        except Exception as e:  # noqa: BLE001 - a bad file is one failing item
            yield CaseFileError.from_parent(self, name="<invalid expectations file>", error=_as_case_error(rel, e))
            return
        yield ExpectationsOK.from_parent(self, name="<expectations>")


class ExpectationsOK(pytest.Item):
    def runtest(self):
        pass

    def reportinfo(self):
        return self.path, 0, "expectations file"


class CellFailure(Exception):
    """An unexpected cell or claim: its text is the whole report, ``summary`` one line."""

    def __init__(self, text, summary=""):
        super().__init__(text)
        self.text = text
        self.summary = summary or text.splitlines()[0]


def _record_outcome(item, r):
    item.user_properties.append(("outcome", r.outcome))
    if r.expectation:
        item.user_properties.append(("expectation", r.expectation.get("reason", "")))
        if r.expectation.get("url"):
            item.user_properties.append(("expectation_url", r.expectation["url"]))


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

        r = _dispatching_runner(self).run_claim(self.claim, self.adapter)
        self.user_properties.append(("verdict", r.verdict))
        _record_outcome(self, r)
        if r.verdict == "unsupported":
            pytest.skip(f"unsupported: {r.error}")
        if r.outcome == "expected":
            if r.verdict == "holds":
                return
            pytest.xfail(f"expected verdict {r.verdict}: {r.expectation['reason']}")
        lines = [f"claim {self.claim.id} [{self.adapter}]: {verdict_text(r)}",
                 f"  {self.claim.framework} {self.claim.api}: \"{self.claim.quote}\"",
                 f"  source: {self.claim.source}"]
        if r.per_input:
            lines.append("  per input: " + ", ".join(f"{k}: {v}" for k, v in r.per_input.items()))
        if r.explanation:
            lines.append(f"  explanation: {r.explanation}")
        lines.append(f"  claim: {self.claim.file}:{self.claim.line}")
        why = (f"verdict {r.verdict}, expected {r.expectation['verdict']} ({r.expectation['file']}:"
               f"{r.expectation['line']})") if r.expectation else f"claim does not hold: {verdict_text(r)}"
        lines.insert(0, f"unexpected: {why}")
        raise CellFailure("\n".join(lines), why)

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
        result = _dispatching_runner(self).run_cell(self.case, self.adapter)
        self.user_properties.append(("status", result.status))
        for k in ("max_abs", "achievable", "ratio", "allowed", "max_rel", "max_ulp", "nonfinite"):
            if getattr(result.metrics, k) is not None:
                self.user_properties.append((k, getattr(result.metrics, k)))
        _record_outcome(self, result)
        if result.status == "unsupported":
            pytest.skip(f"unsupported: {result.message}")
        if result.outcome == "expected":
            if result.status == "agree":
                return
            pytest.xfail(f"expected {result.status}: {result.expectation['reason']}")
        from .expectation_entry import Entry
        entry = None
        if result.expectation:
            e = result.expectation
            entry = Entry(e["id"], e["adapter"], e.get("reason", ""),
                          status=tuple([e["status"]] if isinstance(e.get("status"), str) else e.get("status", ())),
                          file=e.get("file", ""), line=e.get("line", 0))
        why = describe_unexpected(result.status, entry)
        expl = result.explanation
        summary = why + (f": {expl[:160]}" if expl else (f": {result.message.splitlines()[0][:160]}"
                                                          if result.message else ""))
        raise CellFailure(f"unexpected: {why}\n" + explain(self.case, result), summary)

    def reportinfo(self):
        return self.path, max(self.case.line - 1, 0), f"{self.case.id} [{self.adapter}]"
