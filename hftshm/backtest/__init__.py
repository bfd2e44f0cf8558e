"""The backtester: the live strategy code over a recorded md journal, with two clocks.

Modules: ``config`` (the ``[backtest]`` tables), ``source`` (streaming an md journal and its
two timelines), ``latency`` (latency models), ``queue`` (queue-position models), ``venue`` (the
simulated venue), ``engine`` (the event loop), ``outputs`` (run directory), ``stats`` (summary),
``run`` (the whole run, for the CLI).
"""
