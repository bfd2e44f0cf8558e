"""Starting an instance: the instance builder (segments and workers), the simulator launcher,
the supervisor behind ``hftshm start`` and its run summary, and the trading instance of tests and
benchmarks. It sits above every other package: it builds on the runtime and on trading."""
