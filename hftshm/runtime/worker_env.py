"""The environment a worker process is started with: the one protocol between the process that
spawns a worker (``hftshm.launch.instance``, its only writer) and ``python -m hftshm.workers``
(its only reader).

::

    HFTSHM_CONFIG           the resolved config, JSON (runtime.config.to_json)
    HFTSHM_WORKER_PARAMS    the worker's own settings, JSON object (a strategy's table)
    HFTSHM_SUPERVISOR_PID   the pid that owns the instance: the worker dies with it (0: none)
    HFTSHM_CREDENTIALS_FD   execution only: the pipe holding the API key pair (trading.credentials)

No worker inherits the API key pair: ``environ`` drops the key, the secret and any credentials fd
of the spawning process, and the fd is added for execution alone.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field

CONFIG = "HFTSHM_CONFIG"
PARAMS = "HFTSHM_WORKER_PARAMS"
SUPERVISOR_PID = "HFTSHM_SUPERVISOR_PID"
CREDENTIALS_FD = "HFTSHM_CREDENTIALS_FD"
API_KEY = "HFTSHM_API_KEY"
API_SECRET = "HFTSHM_API_SECRET"
PRIVATE = (API_KEY, API_SECRET, CREDENTIALS_FD)  # never passed on to a child's environment
_OURS = (CONFIG, PARAMS, SUPERVISOR_PID, CREDENTIALS_FD)


def without_secrets(base=os.environ) -> dict:
    """``base`` without the key, the secret and a credentials fd: what any child may inherit."""
    return {k: v for k, v in base.items() if k not in PRIVATE}


@dataclass(frozen=True)
class WorkerEnv:
    config_json: str
    params: dict = field(default_factory=dict)
    supervisor_pid: int = 0
    credentials_fd: int | None = None

    def environ(self, base=os.environ) -> dict:
        """The child's whole environment: ``base`` without secrets or a stale protocol variable
        (a worker started by a worker), plus this one's."""
        env = {k: v for k, v in without_secrets(base).items() if k not in _OURS}
        env[CONFIG] = self.config_json
        env[PARAMS] = json.dumps(self.params)
        if self.supervisor_pid:
            env[SUPERVISOR_PID] = str(self.supervisor_pid)
        if self.credentials_fd is not None:
            env[CREDENTIALS_FD] = str(self.credentials_fd)
        return env

    @classmethod
    def read(cls, environ=os.environ) -> "WorkerEnv":
        """What the worker was started with. The credentials fd is left for execution to take
        (``trading.credentials.load`` reads and closes it)."""
        if CONFIG not in environ:
            raise KeyError(f"{CONFIG} is not set: a worker is started by hftshm (hftshm start), "
                           "not by hand")
        fd = environ.get(CREDENTIALS_FD)
        return cls(config_json=environ[CONFIG], params=json.loads(environ.get(PARAMS) or "{}"),
                   supervisor_pid=int(environ.get(SUPERVISOR_PID) or 0),
                   credentials_fd=int(fd) if fd and fd.isdigit() else None)
