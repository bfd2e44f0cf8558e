"""The start's progress line, the kernel-cache count behind it, and the [metrics] keys."""

from __future__ import annotations

import pytest

from hftshm.errors import ConfigError
from hftshm.runtime import config as config_mod
from hftshm.runtime import progress


def test_the_line_says_the_step_its_time_and_kernels_compiled_so_far():
    p = progress.StartProgress(started=100.0, kernels_at_start=4)
    assert p.set("worker", "starting worker 2/5: risk", 101.0)
    assert not p.set("worker", "starting worker 2/5: risk", 102.0)  # no change, nothing to say
    assert p.line(103.5, kernels=4) == "[  3.5 s] starting worker 2/5: risk"
    assert p.line(103.5, kernels=9) == ("[  3.5 s] starting worker 2/5: risk "
                                        "(first run: compiling kernels, 5 compiled and cached so far)")
    assert p.line(107.0) == "[  7.0 s] starting worker 2/5: risk (6 s)"  # a step that lasts


def test_kernels_cached_counts_index_files(tmp_path):
    assert progress.kernels_cached([tmp_path]) == 0
    (tmp_path / "a").mkdir()
    for name in ("k.f-1.py311.nbi", "k.f-1.py311.1.nbc", "k.g-9.py311.nbi"):
        (tmp_path / "a" / name).write_bytes(b"")
    assert progress.kernels_cached([tmp_path]) == 2


def test_cache_dirs_follow_numba_cache_dir(monkeypatch, tmp_path):
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path))
    assert progress.cache_dirs() == [tmp_path]


def test_metrics_keys_are_checked():
    cfg = config_mod.from_dict({"metrics": {"port": 9108}})
    assert (cfg.metrics.port, cfg.metrics.addr) == (9108, "127.0.0.1")
    assert config_mod.from_dict({}).metrics.port == 0  # no exporter by default
    with pytest.raises(ConfigError, match=r"\[metrics\] port = 70000: expected an integer in \[0, 65535\]"):
        config_mod.from_dict({"metrics": {"port": 70000}})
    with pytest.raises(ConfigError, match=r"\[metrics\]: unknown key 'prt'"):
        config_mod.from_dict({"metrics": {"prt": 1}})
