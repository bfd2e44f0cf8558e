"""The import structure: every module imports in a fresh interpreter, and no two packages of
hftshm import each other (directly or round a longer loop), so cycles do not come back.

The walk reads every ``import`` statement of the source, function-level ("late") imports
included: a late import hides a cycle from the interpreter, not from a reader. A node is a
top-level package of hftshm (``hftshm.ring``, ``hftshm.layouts``, ...) or a top-level module
(``hftshm.errors``); ``__main__`` modules are entry points nothing imports and are left out.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# Installed as hftshm.layouts and hftshm.workers (pyproject.toml [tool.setuptools.package-dir]).
SOURCES = {"hftshm": ROOT / "hftshm", "hftshm.layouts": ROOT / "layouts", "hftshm.workers": ROOT / "workers"}

# Modules that need an optional peer package to import (pyproject.toml extras): without that
# package their import must fail on exactly that package, never on something of hftshm.
OPTIONAL = {"hftshm.bench.hbt_peer": "hftbacktest", "hftshm.bench.iceoryx2_peer": "iceoryx2"}

# Imports between packages that still close a loop, each to go. The layering they break:
# runtime (the control block, the config) builds on risk, trading builds on both, and launch
# (the instance builder, the supervisor) on all three.
# The test fails if one of them is gone (delete the line) or a new loop appears.
KNOWN = {
}


def _modules() -> dict[str, Path]:
    found = {}
    for prefix, top in SOURCES.items():
        for dirpath, dirnames, filenames in os.walk(top):
            dirnames[:] = [d for d in dirnames if d != "__pycache__"]
            rel = Path(dirpath).relative_to(top).parts
            if prefix == "hftshm" and rel and (top / rel[0]) in SOURCES.values():
                continue
            for f in filenames:
                if f.endswith(".py") and f != "__main__.py":
                    parts = [*rel] + ([] if f == "__init__.py" else [f[:-3]])
                    found[".".join([prefix, *parts])] = Path(dirpath) / f
    return found


def _imports(name: str, path: Path, modules) -> set[str]:
    """Every module of hftshm that ``name`` imports, anywhere in its source."""
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    out = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            targets = [mod, *(f"{mod}.{a.name}" for a in node.names)]
        else:
            continue
        out.update(t for t in targets if t in modules)
    out.discard("hftshm")  # `from .. import naming`: the root package holds every module
    return out


def _node(module: str) -> str:
    return ".".join(module.split(".")[:2])


def _edges(modules) -> set[tuple[str, str]]:
    """(importing module, imported module) for every import that crosses two nodes."""
    return {(m, t) for m, p in modules.items() for t in _imports(m, p, modules) if _node(m) != _node(t)}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one node (Tarjan)."""
    index, low, stack, on, out = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_the_walk_sees_the_whole_tree():
    modules = _modules()
    assert {"hftshm.errors", "hftshm.ring.header", "hftshm.layouts.md", "hftshm.workers.ingest",
            "hftshm.cli"} <= set(modules)
    edges = _edges(modules)
    assert ("hftshm.ring.segment", "hftshm.preamble") in edges  # `from .. import preamble`
    assert ("hftshm.runtime.config", "hftshm.config_schema") in edges  # `from .. import config_schema as S`


def test_the_walk_finds_a_loop():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycle_between_packages():
    edges = _edges(_modules())
    stale = sorted(e for e in KNOWN if e not in edges)
    assert not stale, f"these known imports are gone, delete them from KNOWN: {stale}"
    graph: dict[str, set[str]] = {}
    for (src, dst) in edges:
        if (src, dst) not in KNOWN:
            graph.setdefault(_node(src), set()).add(_node(dst))
    loops = _cycles(graph)
    detail = [f"{src} -> {dst}" for loop in loops for (src, dst) in sorted(edges)
              if _node(src) in loop and _node(dst) in loop and (src, dst) not in KNOWN]
    assert not loops, f"packages importing each other: {loops}; the imports:\n" + "\n".join(detail)


def test_every_module_imports_in_a_fresh_interpreter():
    names = sorted(_modules())
    script = (
        "import importlib, sys\n"
        f"optional = {OPTIONAL!r}\n"
        "bad = []\n"
        "for name in sys.argv[1:]:\n"
        "    try:\n"
        "        importlib.import_module(name)\n"
        "    except ModuleNotFoundError as exc:\n"
        "        if exc.name != optional.get(name):\n"
        "            bad.append(f'{name}: {exc!r}')\n"
        "    except Exception as exc:\n"
        "        bad.append(f'{name}: {exc!r}')\n"
        "print('\\n'.join(bad))\n"
        "sys.exit(1 if bad else 0)\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    # run from / with no PYTHONPATH: the installed names, not the checkout's top-level folders
    run = subprocess.run([sys.executable, "-c", script, *names], capture_output=True, text=True,
                         cwd="/", env=env, timeout=300)
    assert run.returncode == 0, f"modules that do not import:\n{run.stdout}{run.stderr[-2000:]}"


def test_every_package_folder_is_installed():
    """pyproject.toml lists packages by hand: a folder of modules missing there installs nothing,
    and a listed folder that is gone breaks `pip install` on a clean checkout."""
    import tomllib

    root = Path(__file__).resolve().parents[2]
    listed = set(tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = set()
    for dirpath, dirnames, filenames in os.walk(root / "hftshm"):
        dirnames[:] = [d for d in dirnames if d != "__pycache__"]
        if any(f.endswith(".py") for f in filenames):
            found.add(".".join(Path(dirpath).relative_to(root).parts))
    missing = sorted(found - listed)
    gone = sorted(p for p in listed - found if p not in ("hftshm.layouts", "hftshm.workers"))
    assert not missing and not gone, f"pyproject.toml packages: missing {missing}, not in the tree {gone}"


def test_every_late_import_names_what_exists():
    """A function-level import runs only when its function does: a name moved or renamed breaks
    it silently until a user hits that path (a benchmark's ``from . import fast`` after the move
    of the benchmarks did). Every ``from X import Y`` of hftshm, anywhere in the source, must name
    a module that imports and a Y it defines (or a submodule)."""
    import importlib

    modules = _modules()
    bad = []
    for name, path in sorted(modules.items()):
        package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if not isinstance(node, ast.ImportFrom):
                continue
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.split(".")[0] != "hftshm" or target in OPTIONAL:
                continue
            try:
                mod = importlib.import_module(target)
            except Exception as exc:
                bad.append(f"{path.relative_to(ROOT)}:{node.lineno}: {target}: {exc!r}")
                continue
            for alias in node.names:
                if alias.name == "*" or hasattr(mod, alias.name) or f"{target}.{alias.name}" in modules:
                    continue
                bad.append(f"{path.relative_to(ROOT)}:{node.lineno}: {target} has no {alias.name!r}")
    assert not bad, "imports that would fail when they run:\n" + "\n".join(bad)
