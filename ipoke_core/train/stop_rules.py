"""When a run stops before its last step: Ctrl-C / SIGTERM, ``--until-step`` and ``--max-minutes``.

Each rule only asks; the loop then stops every rank at the same step and saves a resumable state.
"""
from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Callable, Iterator


class StopSignals:
    """Ctrl-C / SIGTERM finish the step, save and exit; a second Ctrl-C leaves at once.

    ``reason`` is ``"interrupted"`` once a signal came, else None.
    """

    def __init__(self, say: Callable[[str], None]):
        self.say = say
        self.reason: str | None = None

    @contextlib.contextmanager
    def installed(self) -> Iterator[None]:
        """The handlers for the ``with`` block (the previous ones come back after it)."""
        if threading.current_thread() is not threading.main_thread():
            yield  # Python lets only the main thread set signal handlers
            return
        previous = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}

        def handler(signum, frame):
            if self.reason == "interrupted" and signum == signal.SIGINT:
                raise KeyboardInterrupt  # second Ctrl-C: leave at once
            self.reason = "interrupted"
            self.say("interrupt received: finishing this step, saving, exiting (Ctrl-C again to quit at once)")

        for s in previous:
            signal.signal(s, handler)
        try:
            yield
        finally:
            for s, h in previous.items():
                signal.signal(s, h)


def stop_request(step: int, total: int, until_step: int | None, max_minutes: float | None,
                 session_minutes: float, signalled: str | None) -> str | None:
    """Why this rank wants to stop after ``step`` (--until-step, --max-minutes, a signal), else None.
    The limits never stop the last step: that one finishes the run anyway."""
    if until_step is not None and until_step <= step < total:
        return f"reached --until-step {until_step}"
    if max_minutes is not None and session_minutes >= max_minutes and step < total:
        return f"reached --max-minutes {max_minutes:g}"
    return signalled
