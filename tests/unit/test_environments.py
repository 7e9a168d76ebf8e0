"""tox.ini's test environments: unit-np1 (numpy 1.26) runs every test that depends on numpy's behaviour,
and every test environment runs its tests in parallel."""
import ast
import configparser
import functools
import shlex
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
UNIT = ROOT / "tests" / "unit"


def tox_ini():
    ini = configparser.ConfigParser(interpolation=None)
    ini.read(ROOT / "tox.ini")
    return ini


def pytest_words(env: str) -> list[str]:
    command = tox_ini()[f"testenv:{env}"]["commands"].replace("\\\n", " ")
    (line,) = [x for x in command.splitlines() if x.strip().startswith("pytest")]
    return shlex.split(line.replace("{posargs}", ""))


def np1_selection() -> list[Path]:
    return [ROOT / w for w in pytest_words("unit-np1")[1:] if w.startswith("tests/")]


@functools.cache
def imports_numpy(path: Path) -> bool:
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import) and any(a.name.split(".")[0] == "numpy" for a in node.names):
            return True
        if isinstance(node, ast.ImportFrom) and not node.level and (node.module or "").split(".")[0] == "numpy":
            return True
    return False


def numpy_tests() -> set[Path]:
    """The test modules that depend on numpy: those that import it, and every test module of a harness
    package that imports it (tests/unit/<package>/ tests harness/<package>/)."""
    packages = {p.name for p in (ROOT / "harness").iterdir()
                if p.is_dir() and any(map(imports_numpy, p.rglob("*.py")))}
    return {t for t in UNIT.rglob("test_*.py") if imports_numpy(t) or t.relative_to(UNIT).parts[0] in packages}


def selected(path: Path, selection) -> bool:
    return any(path == s or s in path.parents for s in selection)


def test_np1_runs_every_test_that_depends_on_numpy():
    selection = np1_selection()
    assert selection and all(p.exists() for p in selection), [str(p) for p in selection if not p.exists()]
    missing = sorted(str(t.relative_to(ROOT)) for t in numpy_tests() if not selected(t, selection))
    assert not missing, f"depend on numpy but unit-np1 does not run them: {missing}"


def test_the_check_sees_a_numpy_test_left_out(tmp_path):
    selection = [p for p in np1_selection() if p.name != "numerics"]
    numerics = [t for t in numpy_tests() if "numerics" in t.parts]
    assert numerics and not any(selected(t, selection) for t in numerics)
    assert not imports_numpy(Path(__file__))
    (tmp_path / "t.py").write_text("from numpy.testing import assert_array_equal\n")
    assert imports_numpy(tmp_path / "t.py")


def label_envs() -> list[str]:
    """The environments `tox -m test` runs."""
    (line,) = [x for x in tox_ini()["tox"]["labels"].splitlines() if x.split("=")[0].strip() == "test"]
    return [e.strip() for e in line.split("=", 1)[1].split(",")]


def test_the_test_label_runs_both_numpy_versions():
    assert {"unit", "unit-np1", "browser", "current-tests"} <= set(label_envs())


@pytest.mark.parametrize("env", label_envs())
def test_test_environments_run_in_parallel(env):
    words = pytest_words(env)
    assert "-n" in words and words[words.index("-n") + 1] == "auto", words
    deps = tox_ini()[f"testenv:{env}"]["deps"]
    assert "{[deps]test}" in deps or "pytest-xdist" in deps, deps
