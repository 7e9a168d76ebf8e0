import os
import shutil
import sys
from pathlib import Path

import pytest

from harness.cases.model import Case
from harness.report import write_report
from harness.results.record import Result
from harness.results.write import Writer

HOSTILE = '<script>window.__pwned=1</script>"onmouseover="window.__pwned=2" </table> javascript:window.__pwned=3'
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]


def chromium_path():
    path = os.environ.get("NORMCONF_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    assert path, "Chromium not found: install Debian's chromium (the browser tox env does) or set NORMCONF_CHROMIUM"
    return path


def axe_path() -> Path:
    """axe-core's axe.min.js: NORMCONF_AXE, or where install-chromium.sh puts it in the tox environment."""
    p = Path(os.environ.get("NORMCONF_AXE") or Path(sys.prefix) / "axe-core" / "axe.min.js")
    assert p.is_file(), f"axe-core not found at {p}: run sh tests/browser/install-chromium.sh {sys.prefix}"
    return p


def axe_violations(pg) -> list[dict]:
    """axe-core's violations on the page as it is now (id, impact, help, the first three nodes)."""
    pg.add_script_tag(path=str(axe_path()))
    return pg.evaluate("""async () => {
        const r = await axe.run(document, {resultTypes: ['violations']});
        return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                                       nodes: v.nodes.slice(0, 3).map(n => n.target.join(' '))}));
    }""")


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium_path(), args=ARGS)
        yield b
        b.close()


def _case(cid, op, layout, dtype, **kw):
    shape = {"BTF": {"B": 2, "T": 3, "F": 4}, "NCHW": {"N": 2, "C": 4, "H": 3, "W": 2}}[layout]
    d = {"id": cid, "description": f"{op} case {HOSTILE}", "source": "javascript:window.__pwned=4", "op": op,
         "layout": layout, "shape": shape, "dtype": dtype, "epsilon": 1e-5, "affine": "ones", "seed": 0,
         "input": {"distribution": "normal", "mean": 0.0, "std": 1.0},
         "groups": 2 if op == "group_norm" else None, "axes": None, "check": "forward", "tags": [],
         "file": "cases/x.yaml", "line": 3}
    d.update(kw)
    return Case.from_dict(d).to_dict()


OK = {"max_abs": 1e-7, "max_rel": 1e-7, "max_ulp": 2.0, "atol": 1e-5, "rtol": 1e-5, "n": 24, "n_bad": 0,
      "worst_index": [0, 0, 0], "worst_expected": 0.1, "worst_actual": 0.1}


def _res(case, adapter, status, env="current", **kw):
    m = dict(OK)
    if status == "diverge":
        m.update(max_abs=kw.pop("err", 1.19), max_ulp=1e7, n_bad=3, worst_index=[1, 2, 0, 1][:len(case["layout"])])
    return Result(case_id=case["id"], adapter=adapter, env=env, status=status, case=case,
                  metrics=m if status in ("agree", "diverge") else {}, versions={"fw": "1.0"},
                  snippet=f"y = {adapter}.norm(x)  # {HOSTILE}", **kw)


@pytest.fixture(scope="session")
def report(tmp_path_factory):
    """A report with three adapters in two environments: the odd one out,
    errors, crashes and hostile strings everywhere a user string can go."""
    d = tmp_path_factory.mktemp("rep")
    cur, leg = [], []
    cases = [
        _case("gn-btf-g1-float32", "group_norm", "BTF", "float32"),
        _case("gn-nchw-g2-float64", "group_norm", "NCHW", "float64"),
        _case("ln-btf-float32", "layer_norm", "BTF", "float32"),
        _case("ln-btf-small-float32", "layer_norm", "BTF", "float32"),
        _case(f"bn-{HOSTILE}", "batch_norm", "BTF", "float32"),
    ]
    for c in cases:
        cur.append(_res(c, "torch", "agree"))
        cur.append(_res(c, "keras-tf", "agree"))
        leg.append(_res(c, "tfa", "unsupported", env="legacy", message="TFA has no layer norm"))
    cur[2] = _res(cases[1], "torch", "diverge", err=0.5, message=f"diverge {HOSTILE}")  # odd one out
    cur[5] = _res(cases[2], "keras-tf", "diverge", err=2.5, message="diverge")
    cur[7] = _res(cases[3], "keras-tf", "error", message=f"ValueError: {HOSTILE}", traceback=f"Traceback {HOSTILE}")
    cur[9] = _res(cases[4], "keras-tf", "crash", message="worker killed by SIGSEGV")
    cur[2].case["source"] = "https://example.org/groupnorm Sec. 3"  # a real address becomes a link
    cur[6].case["source"] = "java\tscript:window.__pwned=5"  # scheme hidden behind a tab stays text
    leg[0] = _res(cases[0], "tfa", "agree", env="legacy")
    leg[1] = _res(cases[1], "tfa", "agree", env="legacy")
    for env, rs in (("current", cur), ("legacy", leg)):
        w = Writer(d / f"{env}.jsonl", env)
        for r in rs:
            w.write(r)
        w.close()
    out = write_report([d / "current.jsonl", d / "legacy.jsonl"], d / "index.html")
    return out.resolve().as_uri()


@pytest.fixture
def page(browser, report):
    ctx = browser.new_context(viewport={"width": 1300, "height": 900})
    pg = ctx.new_page()
    pg.errors = []
    pg.dialogs = []
    pg.on("console", lambda m: pg.errors.append(m.text) if m.type == "error" else None)
    pg.on("pageerror", lambda e: pg.errors.append(str(e)))
    pg.on("dialog", lambda dlg: (pg.dialogs.append(dlg.message), dlg.dismiss()))
    pg.report_url = report
    yield pg
    ctx.close()


@pytest.fixture(scope="session")
def shipped(tmp_path_factory):
    """The report of every shipped case and claim (see shipped.py), with facts the tests check."""
    from tests.browser.shipped import write
    d = tmp_path_factory.mktemp("shipped")
    facts = write(d)
    facts["html"] = write_report(facts["paths"], d / "index.html")
    facts["url"] = facts["html"].resolve().as_uri()
    return facts


def new_page(browser, url, width=1440, height=900, js=True, **kw):
    ctx = browser.new_context(viewport={"width": width, "height": height}, java_script_enabled=js, **kw)
    pg = ctx.new_page()
    pg.errors = []
    pg.on("console", lambda m: pg.errors.append(m.text) if m.type == "error" else None)
    pg.on("pageerror", lambda e: pg.errors.append(str(e)))
    pg.goto(url)
    if js and url != "about:blank":
        pg.wait_for_function("window.normconfReady !== undefined")
    return ctx, pg
