"""The docs quote byte offsets, config keys and defaults, sizes and commands. These tests compare
each quote with the code, so a change to either that is not made to the other fails here.

Markers in the Markdown say what a table quotes (the table starts on the next line):

* ``<!-- offsets MODULE TEMPLATE -->``: rows ``| `name` | offset | ...``; the constant is
  TEMPLATE with ``NAME`` replaced by the upper-cased name (``cursor`` -> ``CURSOR_OFFSET``);
* ``<!-- dtype MODULE ATTR -->``: rows ``| `field` | offset | type |``, exactly the dtype's fields;
* ``<!-- config SECTION -->``: rows ``| `key` | default | meaning |``, exactly the section's keys;
  a default in backticks is a TOML value that must equal the code's default.
"""

from __future__ import annotations

import dataclasses
import importlib
import os
import re
import shlex
import struct
import subprocess
import sys
import tomllib
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
ARCH = DOCS / "architecture.md"
OPS = DOCS / "operations.md"
MARKER = re.compile(r"^<!-- (\S+)(?: (.*?))? -->$")
SIZE_UNITS = re.compile(r"^([\d,]+) B")


def tables(path: Path, kind: str) -> dict[str, list[list[str]]]:
    """Marker argument -> body rows (cells stripped) of the table right after each marker."""
    lines = path.read_text().splitlines()
    out: dict[str, list[list[str]]] = {}
    for i, line in enumerate(lines):
        m = MARKER.match(line.strip())
        if not m or m.group(1) != kind:
            continue
        rows, j = [], i + 1
        while j < len(lines) and lines[j].startswith("|"):
            rows.append([c.strip() for c in lines[j].strip().strip("|").split("|")])
            j += 1
        assert len(rows) > 2, f"{path.name}: the table after {line!r} is empty"
        key = m.group(2) or ""
        assert key not in out, f"{path.name}: two tables marked {line!r}"
        out[key] = rows[2:]  # header and separator
    return out


def name(cell: str) -> str:
    return cell.strip("`* ")


def number(cell: str) -> int:
    return int(cell.replace(",", ""))


def type_name(dt: np.dtype) -> str:
    if dt.subdtype is not None:
        base, shape = dt.subdtype
        return f"{base.name}[{shape[0]}]"
    return dt.name


# --- architecture.md: byte offsets -----------------------------------------------------------

OFFSET_TABLES = tables(ARCH, "offsets")
DTYPE_TABLES = tables(ARCH, "dtype")


def test_every_descriptor_has_an_offset_table():
    modules = {arg.split()[0] for arg in OFFSET_TABLES}
    assert {"hftshm.ring.header", "hftshm.ring.reader_table", "hftshm.ring.producer_table",
            "hftshm.runtime.control_layout", "hftshm.latency.layout", "hftshm.risk.layout"} <= modules
    layouts = {arg.split()[0] for arg in DTYPE_TABLES}
    assert {"hftshm.layouts.md", "hftshm.layouts.order", "hftshm.layouts.exec_report", "hftshm.layouts.bench"} <= layouts


@pytest.mark.parametrize("arg", sorted(OFFSET_TABLES))
def test_offsets_match_the_descriptor(arg):
    module_name, template = arg.split()
    module = importlib.import_module(module_name)
    for row in OFFSET_TABLES[arg]:
        const = template.replace("NAME", name(row[0]).upper())
        assert hasattr(module, const), f"{module_name} has no {const} (docs/architecture.md row {row[0]})"
        assert getattr(module, const) == number(row[1]), (
            f"docs/architecture.md says {row[0]} is at {row[1]}, {module_name}.{const} is {getattr(module, const)}")


def test_ring_header_table_lists_every_hot_word():
    from hftshm.ring import header as H

    quoted = {name(r[0]) for r in OFFSET_TABLES["hftshm.ring.header NAME_OFFSET"]}
    missing = [w for w in H.HOT_WORDS if w not in quoted]
    assert not missing, f"hot words missing from docs/architecture.md: {missing}"


@pytest.mark.parametrize("arg", sorted(DTYPE_TABLES))
def test_record_tables_match_the_dtype(arg):
    module_name, attr = arg.split()
    dt = getattr(importlib.import_module(module_name), attr)
    quoted = {name(r[0]): (number(r[1]), r[2].strip("`")) for r in DTYPE_TABLES[arg]}
    actual = {f: (dt.fields[f][1], type_name(dt.fields[f][0])) for f in dt.names}
    assert quoted == actual, f"docs/architecture.md table for {arg} differs from the code"


def test_journal_header_offsets():
    from hftshm.journal import format as F

    fmt = F._FIXED.format
    fields = ("magic", "header_length", "version", "record_size", "fingerprint", "first_seq", "created_ns",
              "header_crc")
    codes = re.findall(r"\d*[a-zA-Z]", fmt.lstrip("<"))
    assert len(codes) == len(fields), f"journal header struct {fmt} changed: update the docs table"
    expected = {f: struct.calcsize("<" + "".join(codes[:i])) for i, f in enumerate(fields)}
    expected.update(json_length=F.JSON_LENGTH_OFFSET, json=F.JSON_OFFSET, records=F.HEADER_LENGTH)
    quoted = {name(r[0]): number(r[1]) for r in tables(ARCH, "journal-header")[""]}
    assert quoted == expected


# --- operations.md: config reference, defaults, sizes, example ------------------------------

CONFIG_TABLES = tables(OPS, "config")


def _section_keys():
    """Section -> key -> default, from the schema every loader checks with."""
    from hftshm import config_schema as S
    from hftshm.runtime import config as C

    keys = {name: section.defaults() for name, section in S.SECTIONS.items()}
    keys["risk"]["symbols"] = None  # the per-symbol override tables
    for name in S.VENUE_TABLES:
        keys["venues"][name] = None  # a venue's own [sim], [risk], [execution] keys
    for name in ("id", "symbols", "path", "class"):
        keys["strategies"][name] = None  # per strategy, or required by kind "file"
    sections = {"rings", "venue", "sim", "feed", "journal", "bridge", "workers", "strategies", "risk",
                "execution"}
    sections |= {"metrics"}  # [metrics]: the Prometheus exporter
    sections |= {"group"}  # a venue of a [[venues]] config: set by runtime.group, never written
    top = {f.name for f in dataclasses.fields(C.Config)} - sections
    assert set(keys["top"]) == top, "Config gained a key or a section: add it to hftshm/config_schema.py"
    assert set(S.KIND_KEYS) | {"file"} == set(S.KINDS)
    return keys


def _default(value):
    if isinstance(value, dataclasses.Field):
        if value.default is not dataclasses.MISSING:
            return value.default
        if value.default_factory is not dataclasses.MISSING:
            return value.default_factory()
        return dataclasses.MISSING
    return value


def test_every_config_section_is_documented():
    assert set(CONFIG_TABLES) == set(_section_keys())


@pytest.mark.parametrize("section", sorted(_section_keys()))
def test_config_keys_and_defaults(section):
    code = _section_keys()[section]
    rows = {name(r[0]): r[1] for r in CONFIG_TABLES[section]}
    assert set(rows) == set(code), (
        f"docs/operations.md [{section}]: missing {sorted(set(code) - set(rows))}, "
        f"not in the code {sorted(set(rows) - set(code))}")
    for key, cell in rows.items():
        if not (cell.startswith("`") and cell.endswith("`")):
            continue  # prose, not a value
        default = _default(code[key])
        if default is dataclasses.MISSING or default is None:
            continue
        doc_value = tomllib.loads(f"v = {cell.strip('`')}")["v"]
        assert doc_value == default and type(doc_value) in (type(default), int, float), (
            f"docs/operations.md [{section}] {key} = {cell}, the code's default is {default!r}")


def test_ring_defaults():
    from hftshm.runtime import config as C

    rows = {name(r[0]): (number(r[1].strip("`")), tomllib.loads(f"v = {r[2].strip('`')}")["v"])
            for r in tables(OPS, "ring-defaults")[""]}
    assert rows == {n: (rc.capacity, rc.policy) for n, rc in C._default_rings().items()}


def test_shared_memory_sizes():
    from hftshm.latency import layout as L
    from hftshm.layouts import exec_report, md, order
    from hftshm.ring import header as H
    from hftshm.runtime import config as C
    from hftshm.runtime import control_layout as CL

    rings = C._default_rings()
    expected = {
        "md": H.segment_size(H.KIND_BROADCAST, rings["md"].capacity, md.LAYOUT.size),
        "orders": H.segment_size(H.KIND_MANY_TO_ONE, rings["orders"].capacity, order.LAYOUT.size),
        "fills": H.segment_size(H.KIND_BROADCAST, rings["fills"].capacity, exec_report.LAYOUT.size),
        "latency": L.segment_size(L.DEFAULT_MAX_STAGES, L.DEFAULT_SLOTS),
        "control": CL.SEGMENT_SIZE,
    }
    expected["one"] = sum(expected.values())
    quoted = {}
    for row in tables(OPS, "shm-sizes")[""]:
        label = name(row[0]).strip("`").split()[0].strip("`")
        quoted[label] = number(SIZE_UNITS.match(row[1].strip("*")).group(1))
    assert quoted == expected


def test_example_config_loads():
    from hftshm.runtime import config as C

    text = OPS.read_text()
    start = text.index("<!-- example -->")
    block = re.search(r"```toml\n(.*?)```", text[start:], re.S)
    data = tomllib.loads(block.group(1))
    cfg = C.from_dict(data)
    assert cfg.strategies and cfg.workers  # the example shows every section


# --- README and docs: every hftshm command quoted exists ---------------------------------------


def _pages():
    """README.md and every page in docs/: (name, text)."""
    return [("README.md", (ROOT / "README.md").read_text())] + [(p.name, p.read_text()) for p in sorted(DOCS.glob("*.md"))]


def _command_lines():
    """(file, line) of every shell line in a code block of the README or a docs page; a line
    ending in a backslash is joined to the next."""
    readme = (ROOT / "README.md").read_text()
    out = [("README.md", ln.strip()) for ln in readme.splitlines() if ln.startswith("    ")]
    for page, text in _pages():
        out += [(page, ln) for ln in _fenced_lines(text)]
    return out


def _fenced_lines(text: str):
    """Lines of the untagged or shell code blocks (not text, python, toml, ...), fences indented
    in a list item included."""
    lang, held = None, ""
    for line in text.splitlines():
        if line.strip().startswith("```"):
            lang = None if lang is not None else (line.strip()[3:].strip() or "sh")
            held = ""
        elif lang in ("sh", "bash", "console", "shell"):
            line = line.strip()
            if line.endswith("\\"):
                held += line[:-1] + " "
                continue
            yield held + line
            held = ""


def _split(line: str):
    """The words of each command of a shell line (comments, pipes and && dropped)."""
    for part in re.split(r"&&|\|\||;|\|", line.split("#", 1)[0]):
        try:
            words = shlex.split(part)
        except ValueError:
            continue
        if words:
            yield words


def _invocations(line: str):
    for words in _split(line):
        if words[0].rsplit("/", 1)[-1] == "hftshm":
            yield words[1:]


def _module_runs(line: str):
    """``python -m hftshm.X ...``: the module name."""
    for words in _split(line):
        if words[0].rsplit("/", 1)[-1].startswith("python") and words[1:2] == ["-m"] and len(words) > 2:
            if words[2].startswith("hftshm"):
                yield words[2]


def _walk(group, args, where):
    """The command ``args`` name (asserting it and every ``--option`` it uses exist): its path."""
    cmd = group
    rest = list(args)
    path = []
    is_group = lambda c: hasattr(c, "commands")  # noqa: E731 (typer bundles its own click)
    while is_group(cmd) and rest and not rest[0].startswith("-"):
        sub = rest.pop(0)
        assert sub in cmd.commands, f"{where}: `hftshm ... {sub}` is not a command (have {sorted(cmd.commands)})"
        cmd = cmd.commands[sub]
        path.append(sub)
    assert not is_group(cmd) or not rest, f"{where}: incomplete command"
    options = {o for p in cmd.params for o in (*p.opts, *p.secondary_opts)} | {"--help"}
    for word in rest:
        if word.startswith("--"):
            assert word.split("=", 1)[0] in options, f"{where}: {word} is not an option of {cmd.name}"
    return tuple(path)


def test_readme_and_docs_commands_exist():
    import typer

    from hftshm.cli import app

    group = typer.main.get_command(app)
    seen = set()
    for doc, line in _command_lines():
        for args in _invocations(line):
            seen.add(_walk(group, args, f"{doc}: {line}"))
    assert ("start",) in seen and ("bench", "ring") in seen, f"the walk missed commands: {sorted(seen)}"


def test_every_command_the_docs_show_answers_help():
    """Each command a page shows runs, as far as ``--help`` (its arguments and imports resolve)."""
    import typer
    from typer.testing import CliRunner

    from hftshm.cli import app

    group = typer.main.get_command(app)
    paths = {_walk(group, args, f"{doc}: {line}") for doc, line in _command_lines() for args in _invocations(line)}
    runner = CliRunner()
    for path in sorted(paths):
        result = runner.invoke(app, [*path, "--help"])
        assert result.exit_code == 0 and "Usage" in result.output, \
            f"`hftshm {' '.join(path)} --help` exits {result.exit_code}: {result.output[-400:]}{result.exception!r}"
    modules = {m for _, line in _command_lines() for m in _module_runs(line)}
    assert "hftshm.exchange" in modules
    for module in sorted(modules):
        run = subprocess.run([sys.executable, "-m", module, "--help"], capture_output=True, text=True, timeout=120)
        assert run.returncode == 0 and "usage" in run.stdout.lower(), \
            f"`python -m {module} --help` exits {run.returncode}: {run.stderr[-400:]}"


# A path into the repository as the pages write it: hftshm/..., layouts/..., workers/..., tests/...,
# docs/..., cli.py, pyproject.toml; not part of a longer path or a URL.
REPO_PATH = re.compile(r"(?<![\w./~$-])((?:hftshm|layouts|workers|tests|docs)/[\w./@-]*[\w/]|cli\.py|pyproject\.toml)")


def test_every_file_the_docs_name_exists():
    named = {(page, m.group(1)) for page, text in _pages() for m in REPO_PATH.finditer(text)}
    assert ("README.md", "pyproject.toml") in named or len(named) > 20, "the pattern found no paths"
    missing = sorted(f"{page}: {path}" for page, path in named if not (ROOT / path).exists())
    assert not missing, "the docs name files the repository does not have:\n" + "\n".join(missing)


# --- links between the pages ------------------------------------------------------------------


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def test_links_to_sections_resolve():
    pages = {p.name: p.read_text() for p in DOCS.glob("*.md")}
    anchors = {n: {_slug(h) for h in re.findall(r"^#+ (.*)$", t, re.M)} for n, t in pages.items()}
    for page in ("index.md", "quickstart.md", "architecture.md", "operations.md", "troubleshooting.md"):
        for target, anchor in re.findall(r"\]\(([\w.-]*?)(?:#([\w-]+))?\)", pages[page]):
            target = target or page
            if target not in pages:
                continue  # a page another part of the project has yet to write
            if anchor:
                assert anchor in anchors[target], f"{page}: no section #{anchor} in {target}"


def test_nap_defaults_in_the_workers_table_are_the_code_s():
    from hftshm.runtime import roles

    row = next(r for r in tables(OPS, "config")["workers"] if name(r[0]) == "max_nap_us")
    for role, nap in roles.MAX_NAP_US.items():
        assert f"{nap:g} for `{role}`" in row[2], f"operations.md max_nap_us: {role}'s default is {nap:g} us"
    assert f"{roles.DEFAULT_MAX_NAP_US:g} for the rest" in row[2]


def test_the_map_of_the_tree_matches_the_install():
    """architecture.md's map: every folder it names exists, installs under the name it gives, and
    the three top-level entries are mapped as pyproject.toml maps them."""
    import importlib.util

    rows = tables(ARCH, "tree")[""]
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    package_dir = project["tool"]["setuptools"]["package-dir"]
    packages = set(project["tool"]["setuptools"]["packages"])
    for row in rows:
        path, installed = name(row[0]), name(row[1])
        assert (ROOT / path).exists(), f"architecture.md map: {path} does not exist"
        assert importlib.util.find_spec(installed) is not None, f"architecture.md map: {installed} is not importable"
        if path.endswith("/"):
            assert installed in packages, f"architecture.md map: {installed} is not a package in pyproject.toml"
        if path in ("layouts/", "workers/"):
            assert package_dir[installed] == path.rstrip("/")
    assert {name(r[0]) for r in rows} >= {"layouts/", "workers/", "cli.py"}
    assert os.path.realpath(ROOT / "hftshm" / "cli.py") == os.path.realpath(ROOT / "cli.py")


def test_help_texts_keep_their_bracketed_words():
    """Rich reads ``[risk]`` in a help text as markup and prints nothing for it: every command's
    ``--help`` shows each ``[section]`` its docstring and its options' and arguments' help texts
    name, and never the escape itself."""
    import typer
    from typer.testing import CliRunner

    from hftshm.cli import app

    runner = CliRunner()
    checked = 0

    def walk(cmd, path):
        nonlocal checked
        if hasattr(cmd, "commands"):
            for name, sub in cmd.commands.items():
                walk(sub, [*path, name])
            return
        texts = [cmd.help or ""] + [getattr(p, "help", None) or "" for p in cmd.params]
        words = set()
        for text in texts:  # as written, unescaped
            words |= set(re.findall(r"\[\[?[A-Za-z_.]+\]\]?", text.replace("\\[", "[")))
        out = runner.invoke(app, [*path, "--help"], terminal_width=200).output
        assert "\\[" not in out, f"`hftshm {' '.join(path)} --help` prints an escape: {out}"
        for w in words:
            assert w in out, f"`hftshm {' '.join(path)} --help` drops {w!r} (rich markup): escape it as \\{w}"
            checked += 1

    walk(typer.main.get_command(app), [])
    assert checked, "no help text names a [section]: the check checked nothing"
