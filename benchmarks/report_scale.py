"""Report at scale: render a synthetic 100k-cell result set and time it.

    python benchmarks/report_scale.py [--cases 5000] [--columns 20] [--browser]

Prints the time to write the HTML and, with --browser, the time from
navigation start to interactive (the page script's ready mark) in headless
Chromium, plus the time one filter change takes, and the machine's load average
before and after (the figures mean little on a machine busy with other jobs).
Results land in a temporary directory unless --out is given.
"""
from __future__ import annotations

import argparse
import os
import random
import shutil
import tempfile
import time
from pathlib import Path

from harness.report import write_report
from harness.results.record import Result
from harness.results.write import Writer

OPS = ("batch_norm", "layer_norm", "group_norm", "instance_norm", "rms_norm")


def synthesize(d: Path, n_cases: int, n_cols: int, seed=0) -> list[Path]:
    rnd = random.Random(seed)
    envs = ("current", "legacy")
    adapters = [f"adapter{i:02d}" for i in range(n_cols // len(envs))]
    paths = []
    for env in envs:
        p = d / f"{env}.jsonl"
        w = Writer(p, env)
        for a in adapters:
            w.adapter(a, {"framework": f"{rnd.randint(1, 3)}.{rnd.randint(0, 20)}"})
        for i in range(n_cases):
            op = OPS[i % len(OPS)]
            dtype = ("float32", "float64")[i % 2]
            case = {"id": f"{op}-case{i:05d}-{dtype}", "description": "synthetic", "source": "benchmark", "op": op,
                    "layout": "BTF", "shape": {"B": 2, "T": 5, "F": 6}, "dtype": dtype, "epsilon": 1e-5,
                    "affine": "ones", "seed": i, "input": {"distribution": "normal", "mean": 0.0, "std": 1.0},
                    "groups": 2 if op == "group_norm" else None, "axes": None, "check": "forward", "tags": [],
                    "file": f"cases/{op}/synthetic{i // 500}.yaml", "line": 1 + i % 500}
            for a in adapters:
                u = rnd.random()
                if u < 0.85:
                    st, m, msg = "agree", {"max_abs": 1e-7, "max_rel": 1e-7, "max_ulp": float(rnd.randint(0, 64)),
                                           "atol": 1e-5, "rtol": 1e-5, "n": 60, "n_bad": 0,
                                           "worst_index": [0, 1, 2], "worst_expected": 0.5, "worst_actual": 0.5}, ""
                elif u < 0.93:
                    st, m, msg = "diverge", {"max_abs": rnd.random() * 2, "max_rel": 1.0, "max_ulp": 1e7,
                                             "atol": 1e-5, "rtol": 1e-5, "n": 60, "n_bad": 7,
                                             "worst_index": [1, 2, 3], "worst_expected": 0.5,
                                             "worst_actual": 1.5}, "diverge: synthetic\n  reference: ..."
                elif u < 0.95:
                    st, m, msg = "error", {}, "ValueError: synthetic failure"
                else:
                    st, m, msg = "unsupported", {}, "synthetic adapter has no such op"
                w.write(Result(case_id=case["id"], adapter=a, env=env, status=st, metrics=m, message=msg,
                               snippet=f"m = fw.{op}(eps=1e-05)\ny = m(x)", duration=0.01, case=case,
                               versions={"framework": "1.0"}))
        w.close()
        paths.append(p)
    return paths


def browser_timing(html: Path) -> dict:
    from playwright.sync_api import sync_playwright
    exe = os.environ.get("NORMCONF_CHROMIUM") or shutil.which("chromium")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=exe, args=["--headless", "--no-sandbox", "--disable-gpu",
                                                         "--disable-background-networking"])
        page = b.new_page()
        out = {}
        for i in range(3):
            page.goto("about:blank")
            page.goto(html.as_uri(), timeout=120_000)
            page.wait_for_function("window.normconfReady !== undefined", timeout=120_000)
            out.setdefault("ready_ms", []).append(page.evaluate("window.normconfReady"))
            out.setdefault("dom_content_loaded_ms", []).append(page.evaluate(
                "performance.getEntriesByType('navigation')[0].domContentLoadedEventEnd"))
        t0 = time.perf_counter()
        page.fill("input[name=q]", "op:group_norm")
        page.evaluate("document.getElementById('count').textContent")
        out["filter_ms"] = (time.perf_counter() - t0) * 1000
        t0 = time.perf_counter()
        page.fill("input[name=q]", "adapter:adapter0* status:diverge,error op:group_norm,layer_norm")
        page.evaluate("document.getElementById('count').textContent")
        out["query_ms"] = (time.perf_counter() - t0) * 1000
        t0 = time.perf_counter()
        page.fill("input[name=q]", "")
        page.check("input[name=view][value=odd]")
        page.evaluate("document.getElementById('count').textContent")
        out["odd_ms"] = (time.perf_counter() - t0) * 1000
        page.check("input[name=view][value='']")
        t0 = time.perf_counter()
        page.click("#grid tbody:not([hidden]) tr[data-r]:not([hidden]) td >> nth=0")
        page.wait_for_selector("#drill[open]")
        out["drill_ms"] = (time.perf_counter() - t0) * 1000
        page.keyboard.press("Escape")
        # the page's own share of opening a drill-down (the Playwright click above also finds the
        # cell among 100k, scrolls it into view and waits for it to be stable)
        out["drill_js_ms"] = page.evaluate("""() => { const t = performance.now();
            document.querySelector('#grid tbody:not([hidden]) tr[data-r]:not([hidden]) td:nth-of-type(2)').click();
            document.body.offsetHeight;
            return document.getElementById('drill').open ? performance.now() - t : NaN; }""")
        b.close()
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cases", type=int, default=5000)
    ap.add_argument("--columns", type=int, default=20)
    ap.add_argument("--browser", action="store_true")
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    d = args.out or Path(tempfile.mkdtemp(prefix="normconf-bench-"))
    d.mkdir(parents=True, exist_ok=True)
    paths = synthesize(d, args.cases, args.columns)
    cells = args.cases * (args.columns // 2) * 2
    print("load average (1, 5, 15 min) before: " + ", ".join(f"{x:.2f}" for x in os.getloadavg()))
    t0 = time.perf_counter()
    html = write_report(paths, d / "index.html")
    dt = time.perf_counter() - t0
    print(f"cells: {cells}; HTML written in {dt:.2f} s; size {html.stat().st_size / 1e6:.1f} MB")
    if args.browser:
        t = browser_timing(html)
        print("navigation start -> interactive (ms):", ", ".join(f"{v:.0f}" for v in t["ready_ms"]))
        print("DOMContentLoaded (ms):", ", ".join(f"{v:.0f}" for v in t["dom_content_loaded_ms"]))
        print(f"one filter change: {t['filter_ms']:.0f} ms; three-key query: {t['query_ms']:.0f} ms; "
              f"odd-one-out view: {t['odd_ms']:.0f} ms; open drill-down: {t['drill_ms']:.0f} ms "
              f"(in the page: {t['drill_js_ms']:.0f} ms)")
    print("load average (1, 5, 15 min) after: " + ", ".join(f"{x:.2f}" for x in os.getloadavg()))


if __name__ == "__main__":
    main()
