"""The wait strategy interface: ``idle(work_count)`` after every poll, ``reset()`` on work."""

from __future__ import annotations


class WaitStrategy:
    name = "abstract"
    after_work = False  # True: the runner calls idle(work_count) after a cycle that did work too

    def idle(self, work_count: int = 0) -> None:
        """Called after each duty cycle; ``work_count`` 0 means the cycle found nothing to do."""
        raise NotImplementedError

    def reset(self) -> None:
        """Forget any backoff state (called when work arrives)."""

    def watch(self, reader) -> None:
        """Readers whose publishes should end a wait (only the parking strategies use them);
        each reader's slot shows this strategy's name."""
        set_code = getattr(reader, "set_wait_code", None)
        if set_code is not None:
            set_code(self.name)

    def close(self) -> None:
        """Release any OS resources (only blocking holds one)."""
