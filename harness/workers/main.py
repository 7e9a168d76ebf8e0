"""The worker process's side of the protocol: load the adapters, then answer requests.

Runs in a fresh interpreter (``spawn``) with the environment its adapters ask
for. An adapter whose declared framework modules are missing is "not
installed"; any other failure to load it is an ``error`` with its traceback,
so a broken install is never mistaken for an absent framework.
"""
from __future__ import annotations

import importlib
import importlib.util
import inspect
import os
import re
import sys
import time
import traceback

from harness.adapters import RUN_DIR_ENV, load_adapter, shared_compilation_env

from .protocol import NOT_AVAILABLE, NOT_INSTALLED, FindQuote, Problem, Ready, Reply, RunCell, Stop, output_problem


def _missing_modules(spec) -> list[str]:
    missing = []
    for mod in spec.requires:
        try:
            if importlib.util.find_spec(mod) is None:
                missing.append(mod)
        except (ImportError, ValueError):
            missing.append(mod)
    return missing


def load(specs) -> tuple[dict, dict[str, Problem]]:
    adapters, problems = {}, {}
    for spec in specs:
        missing = _missing_modules(spec)
        if missing:
            problems[spec.name] = Problem("unsupported", f"{NOT_INSTALLED}: no module {', '.join(missing)}",
                                          absent=NOT_INSTALLED)
            continue
        try:
            ad = load_adapter(spec)
            why = ad.unavailable()
        except Exception as e:  # noqa: BLE001 - reported to the harness as the column's error
            problems[spec.name] = Problem("error", f"import failed: {type(e).__name__}: {e}",
                                          traceback=traceback.format_exc())
            continue
        if why:
            problems[spec.name] = Problem("unsupported", f"{NOT_AVAILABLE}: {why}", absent=NOT_AVAILABLE)
        else:
            adapters[spec.name] = ad
    return adapters, problems


def _check_output(out):
    if not hasattr(out, "y"):
        raise TypeError(f"adapter returned {type(out).__qualname__}, not an Output")
    for name, a in (("", out.y), *dict(getattr(out, "arrays", None) or {}).items()):
        problem = output_problem(a)
        if problem:
            raise TypeError(f"{name}: {problem}" if name else problem)
    if not isinstance(out.snippet, str):
        raise TypeError(f"adapter returned a snippet of type {type(out.snippet).__qualname__}, not str")


def run_cell(ad, msg: RunCell) -> Reply:
    case = msg.case
    t0 = time.perf_counter()
    try:
        reason = ad.supports(case)
        if reason:
            return Reply("unsupported", message=reason)
        out = ad.run(case, msg.inputs)
        _check_output(out)
        info = dict(getattr(out, "info", None) or {})
        if case.epsilon is None and case.spec.takes_epsilon and hasattr(ad, "documented_epsilon"):
            info.setdefault("epsilon_default", ad.documented_epsilon(case))
        return Reply("ok", out.y, out.snippet, duration=time.perf_counter() - t0, info=info,
                     arrays=dict(getattr(out, "arrays", None) or {}))
    except MemoryError:
        raise
    except Exception as e:  # noqa: BLE001 - the framework raised
        snippet = ""
        try:
            snippet = ad.code(case) if hasattr(ad, "code") else ""
        except Exception:  # noqa: BLE001
            pass
        return Reply("error", None, snippet, f"{type(e).__name__}: {e}", traceback.format_exc(),
                     time.perf_counter() - t0, info={"exception_types": [c.__name__ for c in type(e).__mro__]})


#: how much lower a worker's CPU priority is than the harness's: the harness process judges every cell
#: (reference, verdict, fingerprint) and writes its record in item order, so when it competes with busy
#: workers for the cores it goes first, and never holds the end of a run up with a backlog of its own
NICENESS = 10


def main(conn, specs, env):  # the worker process's entry point
    try:
        os.setpgid(0, 0)
    except (AttributeError, OSError):
        pass
    try:
        os.nice(NICENESS)
    except (AttributeError, OSError):
        pass
    os.environ.update(env)
    os.environ.update(shared_compilation_env(os.environ.get(RUN_DIR_ENV, "")))
    # what unpickling a cell needs, imported now so the first cell's timeout does not pay for it
    from harness.cases import inputs, model  # noqa: F401
    adapters, problems = load(specs)
    versions = {}
    for name, ad in adapters.items():
        try:
            versions[name] = ad.versions()
        except Exception as e:  # noqa: BLE001
            versions[name] = {"error": f"{type(e).__name__}: {e}"}
    conn.send(Ready(versions, problems))
    while True:
        try:
            msg = conn.recv()
        except EOFError:
            _leave()
        if isinstance(msg, Stop) or msg is None:
            _leave()
        if isinstance(msg, FindQuote):
            conn.send(find_quote(msg.path, msg.quote))
        elif msg.adapter in problems:
            conn.send(Reply.from_problem(problems[msg.adapter]))
        else:
            try:
                reply = run_cell(adapters[msg.adapter], msg)
                try:
                    conn.send(reply)
                except (MemoryError, OSError):
                    raise
                except Exception as e:  # noqa: BLE001 - an output that cannot be sent (pickled) is the cell's error
                    conn.send(Reply("error", message=f"{type(e).__name__}: {e}", traceback=traceback.format_exc(),
                                    duration=reply.duration))
            except MemoryError as e:
                conn.send(Reply("crash", message=f"MemoryError: {e}", traceback=traceback.format_exc()))
                os._exit(3)


def _leave():
    """End the worker now: an interpreter with torch, TensorFlow or JAX loaded takes seconds to shut down
    (their exit handlers and threads), and the harness would kill it after waiting for that anyway."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:  # noqa: BLE001 - a closed or broken stream: nothing left to flush
            pass
    os._exit(0)


def _normal_text(text: str) -> str:
    """Text with markup and layout removed, for finding a quote in a docstring or source."""
    text = re.sub(r":(?:attr|class|func|meth|math):", "", text)
    text = re.sub(r"[`*>#\\|]", " ", text)
    return " ".join(text.replace("...", " ").replace("…", " ").split()).lower()


def find_quote(path: str, quote: str) -> Reply:
    """Whether ``quote`` appears in the docstring or source of the object at ``path``
    (a dotted path into the framework): ``y`` is True or False."""

    t0 = time.perf_counter()
    parts = path.split(".")
    obj, err = None, ""
    for i in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:i]))
        except ImportError as e:
            err = f"{type(e).__name__}: {e}"
            continue
        try:
            for attr in parts[i:]:
                obj = getattr(obj, attr)
        except AttributeError as e:
            return Reply("error", message=f"{path}: no such object ({e})", duration=time.perf_counter() - t0)
        break
    if obj is None:
        return Reply("error", message=f"{path}: cannot import ({err})", duration=time.perf_counter() - t0)
    texts = [inspect.getdoc(obj) or ""]
    try:
        texts.append(inspect.getsource(obj))
    except (OSError, TypeError):
        pass
    # a quote elided with "…" must appear piece by piece
    pieces = [p for p in (_normal_text(q) for q in quote.replace("...", "…").split("…")) if p]
    hay = _normal_text("\n".join(texts))
    found = bool(pieces) and all(p in hay for p in pieces)
    return Reply("ok", found, message=path, duration=time.perf_counter() - t0)
