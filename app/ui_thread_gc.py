"""Python's cyclic garbage collector runs in the UI thread while a worker thread lives.

Automatic collection runs in whichever thread allocates past a threshold. When that is a worker
(loading a model allocates a great deal), it frees all the cyclic garbage there is, a closed window's
widgets included: their C++ destructors then run in the worker, PySide6 hands the widget tree to the
UI thread for deletion, and each thread waits for a lock the other holds (a Qt connection lock, the
GIL). The suite hung this way in CI, in the middle of a checkpoint load.

So while any ``Lane`` lives, automatic collection is off and a timer in the UI thread collects with
the interpreter's own thresholds. pyqtgraph's ``GarbageCollector`` does the same for a whole process
but cannot hand collection back; this one does when the last worker ends, so a test run or a script
that opened a window goes on with automatic collection.

``hold()`` and ``release()`` are called in the UI thread only.
"""
from __future__ import annotations

import gc

from PySide6.QtCore import QObject, QTimer

# often enough that garbage never piles up between ticks, rarely enough to cost nothing when idle
INTERVAL_MS = 250


def collect_due() -> int:
    """Collect the oldest generation whose count is past its threshold, as the interpreter would;
    returns how many objects were unreachable (0 when nothing was due)."""
    counts, thresholds = gc.get_count(), gc.get_threshold()
    due = [g for g in range(3) if thresholds[g] and counts[g] > thresholds[g]]
    return gc.collect(max(due)) if due else 0


class _Collector(QObject):
    def __init__(self) -> None:
        super().__init__()
        self.holders = 0
        self.was_enabled = True
        self.timer = QTimer(self)
        self.timer.setInterval(INTERVAL_MS)
        self.timer.timeout.connect(collect_due)

    def hold(self) -> None:
        if self.holders == 0:
            self.was_enabled = gc.isenabled()
            gc.disable()
            self.timer.start()
        self.holders += 1

    def release(self) -> None:
        if self.holders == 0:
            return
        self.holders -= 1
        if self.holders == 0:
            self.timer.stop()
            collect_due()
            if self.was_enabled:
                gc.enable()


_collector: _Collector | None = None


def hold() -> None:
    """A worker thread is starting: from now on only the UI thread collects garbage."""
    global _collector
    if _collector is None:
        _collector = _Collector()
    _collector.hold()


def release() -> None:
    """A worker thread has ended; with the last one, automatic collection is back as it was."""
    if _collector is not None:
        _collector.release()


def holders() -> int:
    """How many live workers hold collection in the UI thread (0: automatic collection as usual)."""
    return 0 if _collector is None else _collector.holders
