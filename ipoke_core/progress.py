"""Progress reporting and cooperative cancellation for long work (used by the CLI and the GUI).

Long functions take ``progress: ProgressFn | None`` and ``cancel: CancelToken | None``; they call
``progress(done, total, message)`` now and then and ``check(cancel)`` between chunks of work,
which raises ``Cancelled`` once the user asked to stop.
"""
from __future__ import annotations

import threading
from collections.abc import Callable

ProgressFn = Callable[[int, int, str], None]


class Cancelled(Exception):
    """The user cancelled the work."""


class CancelToken:
    """A thread-safe flag that one thread sets and the worker polls."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()


def check(cancel: CancelToken | None) -> None:
    """Raise ``Cancelled`` if ``cancel`` was set."""
    if cancel is not None and cancel.cancelled:
        raise Cancelled()


def report(progress: ProgressFn | None, done: int, total: int, message: str = "") -> None:
    if progress is not None:
        progress(done, total, message)
