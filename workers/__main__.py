"""One worker process: ``python -m hftshm.workers ROLE NAME``, started by an instance
(``hftshm.launch.instance``) with the environment of ``hftshm.runtime.worker_env.WorkerEnv``: the
resolved config, the worker's own settings (a strategy's table) and the pid of the process that
owns the instance: the worker dies with it (PR_SET_PDEATHSIG), so none outlives a kill -9'd
supervisor. No worker's environment holds the API key pair; execution alone gets it through a
pipe (``hftshm.trading.credentials``).
"""

from __future__ import annotations

import logging
import os
import sys
import time

from hftshm.latency import LatencyBook
from hftshm.runtime import config as config_mod
from hftshm.runtime import control_layout as C
from hftshm.runtime.agent import WorkerContext
from hftshm.runtime.control import ControlBlock
from hftshm.runtime.process import die_with_parent, pin, set_title
from hftshm.runtime.roles import agent_class, wait_options
from hftshm.runtime.runner import Runner
from hftshm.runtime.worker_env import WorkerEnv


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 2:
        print("usage: python -m hftshm.workers ROLE NAME", file=sys.stderr)
        return 2
    role, name = argv
    set_title(f"hftshm: {name}")
    env = WorkerEnv.read()
    if env.supervisor_pid:
        die_with_parent(env.supervisor_pid)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format=f"%(asctime)s {name} %(levelname)s %(message)s")
    cfg = config_mod.from_json(env.config_json)
    params = env.params
    wcfg = cfg.worker(name)
    pin(wcfg.cpu)
    control = ControlBlock.attach(cfg.instance)
    slot = control.find_worker(name)
    control.set_worker_field(slot, C.W_PID, os.getpid())
    control.set_worker_field(slot, C.W_STARTED_NS, time.time_ns())
    latency = LatencyBook.attach(cfg.instance)
    ctx = WorkerContext(instance=cfg.instance, name=name, role=role, config=cfg, control=control, slot=slot,
                        counters=control.counters(slot), latency=latency, params=params)
    agent = agent_class(role)(ctx)
    return Runner(agent, wcfg.wait, **wait_options(role, wcfg.wait, wcfg.max_nap_us)).run()


if __name__ == "__main__":
    sys.exit(main())
