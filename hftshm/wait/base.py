"""The wait strategy interface: ``idle(work_count)`` after every poll, ``reset()`` on work."""

from __future__ import annotations


class WaitStrategy:
    name = "abstract"

    def idle(self, work_count: int = 0) -> None:
        """Called after each duty cycle; ``work_count`` 0 means the cycle found nothing to do."""
        raise NotImplementedError

    def reset(self) -> None:
        """Forget any backoff state (called when work arrives)."""

    def watch(self, reader) -> None:
        """Readers whose publishes should end a wait (only blocking needs to know)."""

    def close(self) -> None:
        """Release any OS resources (only blocking holds one)."""
