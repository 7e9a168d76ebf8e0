"""The layout of harness/: one package per concept, importing one way, with no private names crossing a
module's edge, and README's map of it true to the tree."""
import ast
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HARNESS = ROOT / "harness"


def lint_imports(cwd: Path) -> subprocess.CompletedProcess:
    exe = Path(sys.executable).with_name("lint-imports")
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-c", "from importlinter.cli import lint_imports_command; "
                                                                  "lint_imports_command()"]
    return subprocess.run(cmd + ["--no-cache"], cwd=cwd, capture_output=True, text=True, timeout=300)


def test_the_import_contracts_hold():
    p = lint_imports(ROOT)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "0 broken" in p.stdout


@pytest.mark.parametrize("module,line,names", [
    ("numerics/verdict.py", "from harness.execution.runner import Runner", ("harness.numerics", "harness.execution")),
    ("ops/registry.py", "import harness.cases.model", ("harness.ops", "harness.cases")),
    ("cases/load.py", "from harness.results.record import Result", ("harness.cases", "harness.results")),
])
def test_a_planted_wrong_way_import_breaks_the_contract(tmp_path, module, line, names):
    shutil.copytree(HARNESS, tmp_path / "harness", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    target = tmp_path / "harness" / module
    target.write_text(target.read_text() + f"\n{line}  # planted\n")
    p = lint_imports(tmp_path)
    assert p.returncode != 0, p.stdout
    assert "BROKEN" in p.stdout and all(n in p.stdout for n in names), p.stdout


def _modules():
    return sorted(p for p in HARNESS.rglob("*.py") if "__pycache__" not in p.parts)


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _absolute(path: Path, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    base = _module_name(path).split(".")
    if path.name != "__init__.py":
        base = base[:-1]
    base = base[:len(base) - node.level + 1]
    return ".".join(base + ([node.module] if node.module else []))


def test_no_module_imports_another_modules_private_names():
    bad = []
    for path in _modules():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and _absolute(path, node).startswith("harness"):
                bad += [f"{path.relative_to(ROOT)}:{node.lineno}: {a.name}" for a in node.names
                        if a.name.startswith("_") and not a.name.startswith("__")]
    assert not bad


def test_every_module_sits_in_a_package_and_every_package_has_a_face():
    top = sorted(p.name for p in HARNESS.glob("*.py"))
    # the CLI, `python -m harness`, the package face, and the plugin's earlier name for outside conftests
    assert top == ["__init__.py", "__main__.py", "cli.py", "pytest_plugin.py"]
    for pkg in (p for p in HARNESS.iterdir() if p.is_dir() and p.name != "__pycache__"):
        if any(pkg.glob("*.py")):
            face = pkg / "__init__.py"
            assert face.is_file(), pkg
            assert ast.get_docstring(ast.parse(face.read_text())), f"{face} says nothing of its package"


def test_function_level_imports_of_the_harness_say_why():
    """A function-level import of the harness is allowed where it keeps a start light; it says so."""
    unexplained = []
    for path in _modules():
        if path.name == "cli.py":
            continue  # its docstring says why every command imports its package when it runs
        src = path.read_text()
        lines = src.splitlines()
        for node in ast.walk(ast.parse(src)):
            if isinstance(node, (ast.Import, ast.ImportFrom)) and node.col_offset > 0:
                mod = _absolute(path, node) if isinstance(node, ast.ImportFrom) else node.names[0].name
                if mod.startswith("harness") and "#" not in lines[node.end_lineno - 1]:
                    unexplained.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert not unexplained


def test_readme_layout_names_every_module_and_nothing_else():
    """README's "Layout of this repository" lists every package of harness/ with every one of its modules."""
    text = (ROOT / "README.md").read_text()
    block = text.split("## Layout of this repository", 1)[1].split("```", 2)[1]
    listed: dict[str, set] = {}
    where = None
    for line in block.splitlines():
        if line.startswith("harness/"):
            where = line.split()[0].rstrip("/")
        elif line[:1].strip():
            where = None
        if where is not None:
            listed.setdefault(where, set()).update(re.findall(r"(?<![\w.])(_?_?[a-z_][a-z0-9_]*_?_?\.py)\b", line))
    actual = {}
    for path in _modules():
        folder = path.parent.relative_to(ROOT).as_posix()
        if path.parent.parent.name == "harness" or path.parent == HARNESS:
            actual.setdefault(folder, set()).add(path.name)
    for folder in actual:
        if folder != "harness":
            actual[folder].discard("__init__.py")
    actual["harness"].discard("__init__.py")
    for folder, names in listed.items():
        names.discard("__init__.py")
    assert set(listed) == set(actual)
    for folder in actual:
        assert listed[folder] == actual[folder], folder
