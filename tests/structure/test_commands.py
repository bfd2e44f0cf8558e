"""The CLI is wired once: ``cli.py`` lists every command module, each module is named after the
command (or group) it registers, and no command module reaches into another's private names."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import typer
import typer.main

from hftshm import cli
from hftshm.commands import bench

ROOT = Path(__file__).resolve().parents[2]
COMMANDS = ROOT / "hftshm" / "commands"
HELPERS = {"__init__", "common"}  # not commands: the package and what the modules share


def _module_files() -> dict[str, Path]:
    """``hftshm.commands.<...>`` name -> file, every command module (the bench group's too)."""
    out = {}
    for path in sorted(COMMANDS.rglob("*.py")):
        rel = path.relative_to(COMMANDS).with_suffix("").parts
        if rel[-1] in HELPERS and len(rel) == 1:
            continue
        if rel[-1] == "__init__":
            rel = rel[:-1]
        out[".".join(("hftshm.commands", *rel))] = path
    return out


def _registered(module) -> list[str]:
    """The command and group names ``module.register`` adds to a fresh app."""
    app = typer.Typer()
    module.register(app)
    return [c.name or c.callback.__name__ for c in app.registered_commands] + [g.name for g in app.registered_groups]


def test_every_command_module_is_listed_once():
    listed = [m.__name__ for m in cli.COMMANDS] + [m.__name__ for m in bench.COMMANDS]
    assert len(listed) == len(set(listed)), f"listed twice: {sorted(listed)}"
    assert sorted(listed) == sorted(_module_files()), (
        f"command modules not listed in cli.COMMANDS / commands.bench.COMMANDS: "
        f"{sorted(set(_module_files()) - set(listed))}; listed but gone: {sorted(set(listed) - set(_module_files()))}")


def test_each_module_is_named_after_what_it_registers():
    for name in _module_files():
        module = importlib.import_module(name)
        got = _registered(module)
        assert len(got) == 1, f"{name} registers {got}: one command or group per module"
        assert got[0].replace("-", "_") == name.rsplit(".", 1)[-1], f"{name} registers `{got[0]}`"


def test_the_tree_has_what_the_docs_run():
    """A fixed sample of the command lines (tests/docs runs every one the docs show)."""
    root = typer.main.get_command(cli.app)
    assert {"start", "replay", "journal", "bench", "status", "halt", "reduce-only", "exchange"} <= set(root.commands)
    assert set(root.commands["journal"].commands) == {"inspect", "import"}
    assert {"ring", "latency", "risk", "trading", "ingest", "bridge", "backtest", "parity", "wake"} == set(
        root.commands["bench"].commands)


def test_no_command_module_imports_another_s_private_names():
    bad = []
    for name, path in _module_files().items():
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.ImportFrom) and (node.level or (node.module or "").startswith("hftshm.commands")):
                bad += [f"{name}: from {'.' * node.level}{node.module or ''} import {a.name}"
                        for a in node.names if a.name.startswith("_")]
    assert not bad, "private names imported across command modules:\n" + "\n".join(bad)


def test_command_modules_do_not_import_each_other_round_a_loop():
    from structure.test_imports import _cycles, _imports

    files = _module_files()
    modules = {**files, "hftshm.commands.common": COMMANDS / "common.py"}
    graph = {name: {t for t in _imports(name, path, modules) if t != name} for name, path in modules.items()}
    assert not _cycles(graph), f"command modules importing each other: {_cycles(graph)}"
