"""Bad config and bad input files are refused before anything starts, with an error that names
the key (or file), the value and what is allowed (issue 16, points 6 and 9).

Every documented key (docs/operations.md's config tables) is tried with values of a wrong type
and values out of its range; the literal cases the issue found are tried through TOML, and
`hftshm start` with a bad config must exit non-zero with one line, no traceback, nothing started
and nothing left in /dev/shm."""

from __future__ import annotations

import json
import math
import os
import subprocess

import pytest

from hftshm import config_schema as S
from hftshm.errors import ConfigError
from hftshm.journal import format as F
from hftshm.layouts import exec_report, md
from hftshm.runtime import config as C
from hftshm.runtime import group
from hftshm.launch.supervisor import Supervisor
from docs.test_docs import CONFIG_TABLES, name
from .helpers import CLI, leftovers, run_config

# typer draws errors in a box as wide as the terminal: a long tmp path must not wrap mid-word
WIDE = dict(os.environ, COLUMNS="1000")

# --- every documented key, a wrong type and an out-of-range value -----------------------------


def _wrong_types(key: S.Key) -> list:
    """Values of another type than ``key`` takes (bool is not an int, "5" is not a number)."""
    if isinstance(key, S.Bool):
        return ["false", "true", 1, 0]
    if isinstance(key, S.Int):
        return ["5", True, 1.5, [1]]
    if isinstance(key, S.Float):
        return ["5", True, math.inf, -math.inf, math.nan, [1.0]]
    if isinstance(key, (S.Choice, S.Text)):
        return [123, True, ["x"]]
    if isinstance(key, S.Names):
        return ["btcusdt", 5, [1]]
    if isinstance(key, S.Speed):
        return [True, "fast", [1], math.inf, math.nan]
    if isinstance(key, S.Amount):
        return [True, "abc", [1], math.inf, math.nan]
    raise AssertionError(f"no wrong-type values for {type(key).__name__}: add them here")


def _out_of_range(key: S.Key) -> list:
    """Values of the right type outside the key's range or choices ([] where none exists)."""
    if isinstance(key, S.Int):
        out = [key.lo - 1] + ([key.hi + 1] if key.hi is not None else [])
        return out + ([key.lo + 1] if key.power_of_two else [])
    if isinstance(key, S.Float):
        out = [key.lo if key.lo_open else key.lo - 1.0, -1e9]
        return out + ([key.hi if key.hi_open else key.hi * 2 + 1] if key.hi is not None else [])
    if isinstance(key, S.Choice):
        return ["nope", ""]
    if isinstance(key, S.Text):
        return (["Bad Name!"] if key.pattern else []) + ([""] if not key.empty else [])
    if isinstance(key, S.Names):
        return [[], ["ok", "ok"], ["no such thing!"]]
    if isinstance(key, S.Speed):
        return ["0", "-1", "inf", 0, -2]
    if isinstance(key, S.Amount):
        return [0, -1, "0.000000001", "-5"]
    return []  # a bool has no range; a free path is checked against the disk (preflight)


def _config_with(section: str, key: str, value) -> dict:
    """A config dict that sets ``key`` of the documented ``section`` to ``value``."""
    if section == "top":
        return {key: value}
    if section == "rings":
        return {"rings": {"md": {key: value}}}
    if section == "workers":
        return {"workers": {"ingest": {key: value}}}
    if section == "venues":  # a config of several venues (runtime.group)
        return {"venues": [{"name": "a", key: value}, {"name": "b"}]}
    if section == "risk_total":
        return {"venues": [{"name": "a"}, {"name": "b"}], "risk_total": {key: value}}
    if section == "strategies.spread":  # one instrument on two venues: a config of several
        table = {"name": "s", "kind": "spread", "symbols": ["a:btcusdt", "b:btcusdt"]}
        return {"venues": [{"name": "a", "symbols": ["btcusdt"]}, {"name": "b", "symbols": ["btcusdt"]}],
                "strategies": [{**table, key: value}]}
    if section.startswith("strategies"):
        table = {"name": "s", "kind": section.partition(".")[2] or "momentum"}
        if key in ("path", "class"):
            table.update(kind="file", path="x.py", **{"class": "X"})
        return {"strategies": [{**table, key: value}]}
    return {section: {key: value}}


def _documented():
    for section, rows in sorted(CONFIG_TABLES.items()):
        for row in rows:
            yield section, name(row[0])


DOCUMENTED = list(_documented())
SCHEMA_ONLY_IN_PROSE = {("risk", "symbols")}  # per-symbol tables of [risk] keys: tested below
# a venue's own [sim], [risk] and [execution] keys: tests/runtime/test_group_config.py
SCHEMA_ONLY_IN_PROSE |= {("venues", t) for t in S.VENUE_TABLES}


def _load(data: dict):
    """A config dict as ``hftshm start`` loads it: one venue, or several (runtime.group)."""
    return group.expand(data) if group.is_group(data) else C.from_dict(data)


def test_every_documented_key_is_in_the_schema_and_back():
    documented = set(DOCUMENTED)
    schema = {(s, k) for s, section in S.SECTIONS.items() for k in section.keys}
    assert documented - SCHEMA_ONLY_IN_PROSE == schema
    # the dataclasses take exactly the schema's keys (and defaults)
    for cls, section in C._SCHEMA.items():
        fields = {f.name: f for f in C.dataclasses.fields(cls)}
        assert set(fields) == set(section.keys), cls
    assert C.Config().sim.rate == S.SIM["rate"].default and C.WorkerConfig().restart is True


@pytest.mark.parametrize("section,key", [p for p in DOCUMENTED if p not in SCHEMA_ONLY_IN_PROSE])
def test_every_documented_key_refuses_a_wrong_type_and_an_out_of_range_value(section, key):
    spec = S.SECTIONS[section][key]
    wrong, out = _wrong_types(spec), _out_of_range(spec)
    if not isinstance(spec, S.Bool) and not (isinstance(spec, S.Text) and not spec.pattern and spec.empty):
        assert out, f"{section} {key}: a key with a range needs out-of-range values here"
    for value in wrong + out:
        with pytest.raises(ConfigError) as err:
            _load(_config_with(section, key, value))
        assert key in str(err.value), (section, key, value, str(err.value))
    # and the default passes
    if spec.default is not None:
        _load(_config_with(section, key, spec.default))


def test_risk_symbols_tables_are_checked_key_by_key():
    for value in ("x", {"btcusdt": {"max_order_qty": True}}, {"btcusdt": {"max_orders_per_s": 0}},
                  {"btcusdt": {"price_band_bps": "5"}}, {"btcusdt": {"bogus": 1}}):
        with pytest.raises(ConfigError, match="risk.symbols"):
            C.from_dict({"risk": {"symbols": value}})
    cfg = C.from_dict({"risk": {"symbols": {"btcusdt": {"max_order_qty": "0.5"}}}})
    assert cfg.risk["symbols"]["btcusdt"]["max_order_qty"] == "0.5"


# --- the literal cases of issue 16 point 6 ------------------------------------------------------

LITERAL = [
    ('[workers.risk]\nrestart = "false"', "restart = 'false'", "true or false"),
    ('[journal]\nenabled = "false"', "enabled = 'false'", "true or false"),
    ('[journal]\nfsync = "no"', "fsync = 'no'", "true or false"),
    ("[journal]\nrotate_mb = -1", "rotate_mb = -1", "[0.1, 1048576]"),
    ("[journal]\nflush_ms = 0", "flush_ms = 0", "[1, 60000]"),
    ('[feed]\nstale_after_s = "5"', "stale_after_s = '5'", "a finite number"),
    ("[feed]\nreconnect_max_s = -3", "reconnect_max_s = -3", "(0, 3600]"),
    ("[sim]\nlevels = -5", "levels = -5", "[2, 1000]"),
    ("[sim]\nport = 70000", "port = 70000", "[0, 65535]"),
    ('[sim]\nrate = "fast"', "rate = 'fast'", "a finite number"),
    ("data_dir = 123", "data_dir = 123", "a directory path"),
    ("dashboard_hz = true", "dashboard_hz = True", "a finite number"),
    ("[risk]\nmax_feed_age_s = inf", "max_feed_age_s = inf", "a finite number"),
    ("[risk]\nmax_feed_age_s = nan", "max_feed_age_s = nan", "a finite number"),
    ('[venue]\nsymbols = "btcusdt"', "symbols = 'btcusdt'", "TOML array"),
    ("[rings.foo]\ncapacity = 1024", "[rings.foo]", "md, orders, fills"),
    ("[rings]\nmd = 5", "[rings]", "expected tables"),
    ('strategies = "mom"', "[[strategies]]", "an array of tables"),
    ("risk = 5", "[risk]", "expected a table"),
    ("[workers.ingset]\nwait = \"backoff\"", "[workers.ingset]", "no such worker"),
    ("[execution]\nmax_order_age_ms = 0", "max_order_age_ms = 0", "[1, 600000]"),
    ("[risk]\nprotection_timeout_ms = 10", "protection_timeout_ms = 10", "[50, 60000]"),
    ('[journal]\nhalt_on_md_failure = "false"', "halt_on_md_failure = 'false'", "true or false"),
    ("[[strategies]]\nname = \"m\"\nslip_bps = -1", "slip_bps = -1", "[0, 1000]"),
    ("[[strategies]]\nname = \"m\"\nkind = \"imbalance\"\nthreshold = \"0.6\"", "threshold = '0.6'", "(0, 1)"),
]


@pytest.mark.parametrize("toml,named,allowed", LITERAL, ids=[c[1] for c in LITERAL])
def test_literal_bad_values_name_key_value_and_what_is_allowed(tmp_path, toml, named, allowed):
    path = tmp_path / "c.toml"
    path.write_text(toml + "\n")
    with pytest.raises(ConfigError) as err:
        C.load(path)
    msg = str(err.value)
    assert named in msg and allowed in msg, msg
    assert "\n" not in msg


def test_good_values_keep_their_meaning(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text('[journal]\nenabled = false\nfsync = true\nflush_ms = 5\n[workers.risk]\nrestart = false\n'
                    '[sim]\nrate = 500\nspeed = 10\n[feed]\nstale_after_s = 2\n')
    cfg = C.load(path)
    assert cfg.journal.enabled is False and cfg.journal.fsync is True and cfg.worker("risk").restart is False
    assert cfg.journal.flush_ms == 5.0 and isinstance(cfg.journal.flush_ms, float)
    assert cfg.sim.rate == 500.0 and cfg.sim.speed == "10" and cfg.feed.stale_after_s == 2.0
    assert C.from_json(cfg.to_json()).journal.fsync is True


# --- what the config points at: preflight -------------------------------------------------------


def _cores_outside():
    allowed = os.sched_getaffinity(0)
    return next(c for c in range(4096) if c not in allowed)


def test_cpu_must_be_a_core_this_process_may_run_on():
    cpu = _cores_outside()
    cfg = C.from_dict({"workers": {"ingest": {"cpu": cpu}}})  # a valid core number...
    with pytest.raises(ConfigError, match=rf"\[workers.ingest\] cpu = {cpu}: not a core"):
        C.preflight(cfg)  # ...that this machine does not give us
    assert 64 not in os.sched_getaffinity(0)  # the case, on this machine
    with pytest.raises(ConfigError, match="cpu = 64"):
        C.preflight(C.from_dict({"workers": {"journal": {"cpu": 64}}}))
    C.preflight(C.from_dict({"workers": {"ingest": {"cpu": min(os.sched_getaffinity(0))}}}))


def test_data_dir_must_be_creatable(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    with pytest.raises(ConfigError, match="data_dir = .*a-file.* is not a directory"):
        C.preflight(C.from_dict({"data_dir": str(blocker / "runs")}))
    C.preflight(C.from_dict({"data_dir": str(tmp_path / "new" / "runs")}))  # creatable: fine
    if os.geteuid() != 0:  # root writes anywhere: only another user can see a 0500 directory refused
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        with pytest.raises(ConfigError, match="not writable"):
            C.preflight(C.from_dict({"data_dir": str(locked / "runs")}))


def _journal_file(path, ring="md", layout=md.LAYOUT):
    path.write_bytes(F.encode(ring, layout, 0, ["BTCUSDT"], "x"))
    return path


@pytest.fixture
def inputs(tmp_path):
    d = tmp_path / "in"
    d.mkdir()
    (d / "empty.capture").write_bytes(b"")
    (d / "junk.capture").write_bytes(b"this is not a capture\n")
    (d / "junk.hftj").write_bytes(b"x" * 10)
    (d / "nojournal").mkdir()
    (d / "fills").mkdir()
    _journal_file(d / "fills" / "fills-000000000000000.hftj", "fills", exec_report.LAYOUT)
    (d / "md").mkdir()
    _journal_file(d / "md" / "md-000000000000000.hftj")
    return d


@pytest.mark.parametrize("replay,words", [
    ("missing.capture", "no such file"),
    ("nojournal", "a directory, not a file"),
    ("empty.capture", "an empty capture"),
    ("junk.capture", "not a capture"),
])
def test_sim_replay_capture_is_checked(inputs, replay, words):
    path = str(inputs / replay)
    with pytest.raises(ConfigError) as err:
        C.preflight(C.from_dict({"sim": {"replay": path}}))
    assert f"[sim] replay = {path!r}" in str(err.value) and words in str(err.value), str(err.value)


def test_the_vendored_capture_passes():
    from support import CAPTURE

    C.preflight(C.from_dict({"sim": {"replay": str(CAPTURE)}}))


def test_a_replay_sets_the_venue_symbols_and_streams_the_config_leaves_unset(tmp_path):
    """[sim] replay of an XRPUSDT capture: the feed subscribes to xrpusdt and the capture's one
    stream, not to the defaults (btcusdt, ethusdt), which the replay does not serve."""
    cap = tmp_path / "xrp.capture"
    cap.write_text("".join('%d {"stream":"xrpusdt@bookTicker","data":{"u":%d,"s":"XRPUSDT","b":"0.5234",'
                           '"B":"9","a":"0.5235","A":"8"}}\n' % (100 + i, i) for i in range(3)))
    cfg = C.from_dict({"sim": {"replay": str(cap)}})
    assert (cfg.venue.symbols, cfg.venue.streams) == (["xrpusdt"], ["bookTicker"])
    assert [s.symbols for s in cfg.strategies] == [["xrpusdt"]]  # the default strategy trades it
    cfg = C.from_dict({"sim": {"replay": str(cap)}, "venue": {"symbols": ["xrpusdt"], "streams": ["trade"]}})
    assert (cfg.venue.symbols, cfg.venue.streams) == (["xrpusdt"], ["trade"])  # as written
    default = C.from_dict({"sim": {"replay": str(tmp_path / "missing")}, "strategies": []}).venue.symbols
    assert default == ["btcusdt", "ethusdt"]  # preflight names the missing capture


def test_a_corrupt_gzip_replay_is_named_by_preflight(tmp_path):
    """A gzip whose deflate data is bad (zlib's own error, not an OSError): reading the config
    leaves it alone, and preflight names it; it used to end config loading in a traceback."""
    cap = tmp_path / "bad.capture.gz"
    cap.write_bytes(b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03" + b"\x07" + bytes(40))  # block type 3: invalid
    cfg = C.from_dict({"sim": {"replay": str(cap)}, "strategies": []})
    assert cfg.venue.symbols == ["btcusdt", "ethusdt"]
    with pytest.raises(ConfigError, match=r"replay = .*bad.capture.gz.*: not a capture: .*invalid block type"):
        C.preflight(cfg)


@pytest.mark.parametrize("replay,words", [
    ("missing", "no such file or directory"),
    ("nojournal", "no journal files"),
    ("junk.hftj", "not a journal"),
    ("fills", "is the 'fills' journal"),
    ("fills/fills-000000000000000.hftj", "is the 'fills' journal"),
])
def test_venue_replay_journal_is_checked(inputs, replay, words):
    path = str(inputs / replay)
    cfg = C.from_dict({"venue": {"kind": "replay", "replay": path}, "strategies": []})
    with pytest.raises(ConfigError) as err:
        C.preflight(cfg)
    assert f"[venue] replay = {path!r}" in str(err.value) and words in str(err.value), str(err.value)
    for good in ("md", "md/md-000000000000000.hftj"):
        C.preflight(C.from_dict({"venue": {"kind": "replay", "replay": str(inputs / good)}, "strategies": []}))


def test_key_file_and_strategy_file_must_exist(tmp_path):
    with pytest.raises(ConfigError, match=r"\[execution\] key_file = .*: no such file"):
        C.preflight(C.from_dict({"execution": {"key_file": str(tmp_path / "nokey")}}))
    cfg = C.from_dict({"strategies": [{"name": "f", "kind": "file", "path": str(tmp_path / "s.py"), "class": "S"}]})
    with pytest.raises(ConfigError, match=r"\[\[strategies\]\] #1 \(f\) path = .*: no such file"):
        C.preflight(cfg)


def test_supervisor_checks_inputs_before_it_starts_the_simulator(tmp_path, instance):
    cfg = C.from_dict({"instance": instance, "data_dir": str(tmp_path / "runs"),
                       "sim": {"replay": str(tmp_path / "missing.capture")}})
    said = []
    sup = Supervisor(cfg, duration=1, out=None)
    sup.say = said.append
    assert sup.run() == 1
    assert sup.sim is None and sup.control is None, "something was started before the check"
    assert any("[sim] replay" in s and "missing.capture" in s and "no such file" in s for s in said), said
    assert not (tmp_path / "runs").exists() and leftovers(instance) == []


# --- the command line: one line, exit 2, nothing started, nothing left --------------------------


def _start(tmp_path, instance, extra, *args):
    return subprocess.run(CLI + ["start", "--headless", "--duration", "30", *args,
                                 "--config", str(run_config(tmp_path, instance, extra))],
                          capture_output=True, text=True, env=WIDE, timeout=120)


@pytest.mark.parametrize("extra,words", [
    ('[sim]\nrate = "fast"\n', "[sim] rate = 'fast'"),
    ("[rings.foo]\ncapacity = 1024\n", "[rings.foo]"),
    ("[workers.ingest]\ncpu = CPU\n", "[workers.ingest] cpu = CPU"),
    ('[sim]\nreplay = "TMP/missing.capture"\n', "missing.capture'"),
    ('strategies = []\n[venue]\nkind = "replay"\nreplay = "TMP/no-journal"\n', "[venue] replay = 'TMP/no-journal'"),
], ids=["rate", "ring", "cpu", "capture", "journal"])
def test_start_with_a_bad_config_says_one_line_and_starts_nothing(tmp_path, instance, extra, words):
    cpu = str(_cores_outside())
    extra, words = (s.replace("CPU", cpu).replace("TMP", str(tmp_path)) for s in (extra, words))
    out = _start(tmp_path, instance, extra)
    assert out.returncode == 2, out.stdout + out.stderr
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and words in lines[0], out.stderr
    assert "Traceback" not in out.stdout + out.stderr
    assert not (tmp_path / "runs").exists(), "the run directory was made: something started"
    assert leftovers(instance) == []


def test_a_symbol_the_venue_cannot_serve_is_refused_before_anything_starts(tmp_path, instance):
    """Before: the simulator exited with 2 ("see exchange.log") after the run had begun."""
    cfg = C.load(None, {"instance": instance, "data_dir": str(tmp_path), "venue": {"symbols": ["abc"]}})
    with pytest.raises(ConfigError, match=r"\[venue\] symbols: symbol 'abc' does not end in a known quote asset"):
        C.preflight(cfg)
    assert leftovers(instance) == []


def test_start_with_an_unusable_data_dir(tmp_path, instance):
    (tmp_path / "f").write_text("")
    path = run_config(tmp_path, instance)
    path.write_text(f'instance = "{instance}"\ndata_dir = "{tmp_path / "f" / "runs"}"\n')
    out = subprocess.run(CLI + ["start", "--headless", "--duration", "30", "--config", str(path)],
                         capture_output=True, text=True, env=WIDE, timeout=120)
    assert out.returncode == 2 and "data_dir = " in out.stderr and "not a directory" in out.stderr, out.stderr
    assert "Traceback" not in out.stderr and leftovers(instance) == []


def test_replay_command_names_a_bad_journal(tmp_path, inputs):
    for target, words in ((inputs / "missing", "missing does not exist"), (inputs / "junk.hftj", "junk.hftj"),
                          (inputs / "fills", "'fills' journal")):
        out = subprocess.run(CLI + ["replay", str(target), "--headless", "--duration", "5"],
                             capture_output=True, text=True, env=WIDE, timeout=120)
        assert out.returncode == 2 and words in out.stderr, out.stderr
        assert "Traceback" not in out.stderr


def test_exchange_names_a_capture_it_cannot_play(tmp_path):
    out = subprocess.run(CLI + ["exchange", "--port", "0", "--replay", str(tmp_path)],
                         capture_output=True, text=True, timeout=60, env={**os.environ, "COLUMNS": "400"})
    text = " ".join((out.stdout + out.stderr).replace("\u2502", " ").split())  # the error box, unwrapped
    assert out.returncode == 2 and f"replay file {str(tmp_path)!r} is not a file" in text, text


def test_a_worker_trusts_the_resolved_config_and_types_it_again(monkeypatch):
    """from_json rebuilds exactly what the supervisor resolved (every section typed, the trading
    tables with their defaults) and validates nothing a second time."""
    cfg = C.from_dict({"venue": {"symbols": ["btcusdt", "ethusdt"]}, "rings": {"md": {"capacity": 4096}},
                       "workers": {"risk": {"wait": "blocking"}}, "risk": {"max_position": 3},
                       "execution": {"timeout_ms": 700}, "journal": {"fsync": True}})
    text = cfg.to_json()
    monkeypatch.setattr(C, "validate", lambda _cfg: pytest.fail("a worker validated the config again"))
    monkeypatch.setattr(C, "validate_trading", lambda _cfg: pytest.fail("a worker validated the trading tables"))
    back = C.from_json(text)
    assert back.to_json() == text
    assert isinstance(back.risk, C.RiskConfig) and back.risk.max_position == 3
    assert isinstance(back.execution, C.ExecutionConfig) and back.execution.timeout_ms == 700
    assert back.execution.recv_window_ms == C.ExecutionConfig().recv_window_ms
    assert back.worker("risk").wait == "blocking" and back.rings["md"].capacity == 4096
    assert back.strategies == cfg.strategies and back.venue.symbols == ["btcusdt", "ethusdt"]


def test_strategy_tables_are_typed_with_their_kind_defaults_and_read_flat_too():
    cfg = C.from_dict({"venue": {"symbols": ["btcusdt", "ethusdt"]},
                       "strategies": [{"name": "mom", "kind": "momentum", "short": 7},
                                      {"name": "f", "kind": "file", "path": "x.py", "class": "X", "mine": 3}]})
    mom, f = cfg.strategy("mom"), cfg.strategy("f")
    assert isinstance(mom, C.StrategyConfig) and (mom.name, mom.kind, mom.id) == ("mom", "momentum", 1)
    assert mom.symbols == ["btcusdt", "ethusdt"] and mom.params["short"] == 7
    assert mom.params["long"] == S.KIND_KEYS["momentum"]["long"].default  # the one default, from the schema
    assert (f.id, f.path, f.class_name, f.params) == (2, "x.py", "X", {"mine": 3})
    assert dict(f) == {"name": "f", "kind": "file", "id": 2, "symbols": ["btcusdt", "ethusdt"], "path": "x.py",
                       "class": "X", "mine": 3}
    back = C.from_json(cfg.to_json())
    assert back.strategy("mom").params == mom.params and dict(back.strategy("f")) == dict(f)
    assert json.loads(cfg.to_json())["strategies"][1]["class"] == "X"  # config.json keeps the file's shape
    with pytest.raises(C.ConfigError, match="no strategy named 'nope'"):
        cfg.strategy("nope")


@pytest.mark.parametrize("kind,why", [("okx", "no order entry for this venue"),
                                      ("bybit_spot", "no order entry for this venue")])
@pytest.mark.parametrize("where", ["venue", "sim"])
def test_strategies_on_a_market_data_only_venue_are_refused(kind, why, where):
    strategies = [{"name": "m", "kind": "momentum"}]
    streams = ["trades"] if kind == "okx" else ["publicTrade"]
    venue = ({"venue": {"kind": kind, "stream_url": "wss://example.invalid", "symbols": ["btcusdt"],
                        "streams": streams}}
             if where == "venue" else {"sim": {"venue": kind}, "venue": {"streams": streams}})
    with pytest.raises(ConfigError, match=rf'\[{where}\] (kind|venue) = "{kind}": market data only \(.*{why}'):
        C.from_dict({"strategies": strategies, **venue})
    assert C.from_dict({"strategies": [], **venue}).strategies == []  # market data alone is fine


@pytest.mark.parametrize("where", ["venue", "sim"])
def test_strategies_on_bybit_linear_are_taken_and_none_is_added_by_default(where):
    """Bybit linear has order entry (hftshm.venues.bybit.protocol, driven by execution); with no
    [[strategies]] the simulator speaking it gets no default one (sized for Binance's rules)."""
    strategies = [{"name": "m", "kind": "momentum"}]
    venue = ({"venue": {"kind": "bybit_linear", "stream_url": "wss://example.invalid", "symbols": ["btcusdt"],
                        "streams": ["publicTrade"]}}
             if where == "venue" else {"sim": {"venue": "bybit_linear"}, "venue": {"streams": ["publicTrade"]}})
    assert [s.name for s in C.from_dict({"strategies": strategies, **venue}).strategies] == ["m"]
    assert C.from_dict(venue).strategies == []
