"""``hftshm halt`` / ``resume`` / ``reduce-only`` on a control block prepared for trading."""

import time

from typer.testing import CliRunner

from hftshm.cli import app
from hftshm.risk import reasons as R
from hftshm.runtime.config import from_dict
from hftshm.runtime.control import ACTIVE, HALTED, REDUCE_ONLY, ControlBlock
from hftshm.trading.area import TradingArea
from hftshm.trading.setup import prepare


def test_halt_resume(instance):
    control = ControlBlock.create(instance)
    try:
        prepare(from_dict({"instance": instance}), control)
        runner = CliRunner()
        before = time.time_ns()
        res = runner.invoke(app, ["halt", "--instance", instance, "--cancel-open"])
        assert res.exit_code == 0, res.output
        assert control.trading_state == HALTED and control.cancel_open and control.trading_reason == R.MANUAL
        printed = int(res.output.split(" at ")[1].split()[0])
        assert before < printed and control.trading_changed_ns <= printed  # read after the write
        area = TradingArea(control.risk_buffer())
        area.set_trigger(R.FEED_STALE, 1)
        res = runner.invoke(app, ["resume", "--instance", instance])
        assert res.exit_code == 1 and "FEED_STALE" in res.output and control.trading_state == HALTED
        area.set_trigger(R.OK, 2)
        res = runner.invoke(app, ["resume", "--instance", instance])
        assert res.exit_code == 0, res.output
        assert control.trading_state == ACTIVE
        res = runner.invoke(app, ["reduce-only", "--instance", instance])
        assert res.exit_code == 0 and control.trading_state == REDUCE_ONLY, res.output
        control.set_protection(R.RISK_DOWN, 3)  # execution's watch: the risk worker is gone
        res = runner.invoke(app, ["resume", "--instance", instance])
        assert res.exit_code == 1 and "RISK_DOWN" in res.output and control.trading_state == REDUCE_ONLY
        assert runner.invoke(app, ["halt", "--instance", instance + "nope"]).exit_code != 0
    finally:
        control.close()
        control.unlink()


def test_bench_risk_reports_every_path():
    from typer.testing import CliRunner

    from hftshm.cli import app

    res = CliRunner().invoke(app, ["bench", "risk", "--orders", "2000", "--calls", "2000"])
    assert res.exit_code == 0, res.output
    figures = dict(line.split() for line in res.output.strip().splitlines())
    for key in ("numba_loop_ns", "python_gate_ns", "python_live_admit_ns"):
        assert float(figures[key]) > 0


def test_a_groups_name_commands_every_venue(instance):
    """A config of several venues runs an instance per venue (``<group>-<venue>``, one owner
    process): ``halt``, ``resume`` and ``reduce-only`` given the group's name act on each."""
    names = [f"{instance}-a", f"{instance}-b"]
    controls = [ControlBlock.create(n) for n in names]
    try:
        for n, control in zip(names, controls):
            prepare(from_dict({"instance": n}), control)
        runner = CliRunner()
        res = runner.invoke(app, ["halt", "--instance", instance])
        assert res.exit_code == 0, res.output
        assert all(c.trading_state == HALTED and c.trading_reason == R.MANUAL for c in controls)
        assert all(f"{n}: trading halted at" in res.output for n in names)
        TradingArea(controls[1].risk_buffer()).set_trigger(R.LOSS_LIMIT, 1)  # b's risk worker holds a cause
        res = runner.invoke(app, ["resume", "--instance", instance])
        assert res.exit_code == 1 and "LOSS_LIMIT" in res.output, res.output
        assert controls[0].trading_state == ACTIVE and controls[1].trading_state == HALTED
        res = runner.invoke(app, ["reduce-only", "--instance", instance])
        assert res.exit_code == 1 and controls[0].trading_state == REDUCE_ONLY, res.output
        TradingArea(controls[1].risk_buffer()).set_trigger(R.OK, 2)
        assert runner.invoke(app, ["resume", "--instance", names[1]]).exit_code == 0  # one venue, by its instance
        res = runner.invoke(app, ["halt", "--instance", names[0]])
        assert res.exit_code == 0, res.output
        assert controls[0].trading_state == HALTED and controls[1].trading_state == ACTIVE
    finally:
        for control in controls:
            control.close()
            control.unlink()


def test_a_group_halt_halts_every_venue_it_can_and_names_the_one_it_cannot(instance, monkeypatch):
    """One venue's control block cannot be attached: the others are halted all the same (a halt
    does what it can), the one is named, and the exit code says not everything was halted.
    resume stays all or nothing."""
    names = [f"{instance}-a", f"{instance}-b"]
    controls = [ControlBlock.create(n) for n in names]
    try:
        for n, control in zip(names, controls):
            prepare(from_dict({"instance": n}), control)
        real = ControlBlock.attach

        def attach(name):
            if name == names[0]:
                raise OSError("damaged")
            return real(name)

        monkeypatch.setattr(ControlBlock, "attach", staticmethod(attach))
        runner = CliRunner()
        res = runner.invoke(app, ["halt", "--instance", instance])
        assert res.exit_code == 1, res.output
        assert controls[1].trading_state == HALTED and controls[0].trading_state == ACTIVE
        assert f"not halted: instance '{names[0]}': damaged" in res.output
        res = runner.invoke(app, ["resume", "--instance", instance])
        assert res.exit_code == 2 and controls[1].trading_state == HALTED, res.output
    finally:
        for control in controls:
            control.close()
            control.unlink()
