"""Background work for the GUI: the UI thread never runs the model, an export or a file load.

A ``Lane`` is one worker thread that runs jobs one at a time, in the order they were submitted.
Submitting with ``coalesce=True`` replaces a job of the same kind that is still waiting: while
the user drags a poke, only the newest preview request is ever started (latest request wins).
A job that is already running cannot be interrupted mid forward pass, but its result carries
its id, and ``Lane.is_latest(job)`` tells the receiver whether a newer request of the same kind
exists, so stale results are dropped. Long jobs (heatmaps) poll a ``CancelToken``.

Signals are emitted from the worker thread; Qt queues them to receivers in the UI thread. While a
lane lives, Python collects garbage in the UI thread only (``app.ui_thread_gc``).
"""
from __future__ import annotations

import itertools
import threading
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from PySide6.QtCore import QObject, QThread, Signal, Slot

from app import ui_thread_gc
from ipoke_core.progress import CancelToken, Cancelled, ProgressFn

# a job's work: called in the worker thread with a progress callback and a cancel token
Work = Callable[[ProgressFn, CancelToken], Any]

_ids = itertools.count(1)


@dataclass(frozen=True)
class Handlers:
    """Who hears of one job, in the UI thread: the receiver of a lane's signals calls these."""

    finished: Callable[[Job, Any], object] | None = None
    failed: Callable[[Job, BaseException, str], object] | None = None
    cancelled: Callable[[Job], object] | None = None
    started: Callable[[Job], object] | None = None
    progress: Callable[[Job, int, int, str], object] | None = None


@dataclass(eq=False)
class Job:
    """One request: ``kind`` groups requests that supersede each other ("poke", "heatmap", ...);
    ``handlers`` say where its result goes."""

    kind: str
    work: Work
    payload: Any = None  # anything the receiver needs to interpret the result
    handlers: Handlers = field(default_factory=Handlers)
    id: int = field(default_factory=lambda: next(_ids))
    cancel: CancelToken = field(default_factory=CancelToken)


class _Thread(QThread):
    def __init__(self, lane: Lane) -> None:
        super().__init__()
        self.lane = lane

    def run(self) -> None:
        self.lane._loop()


class Lane(QObject):
    """A worker thread with a queue of jobs (see module docstring)."""

    started = Signal(object)  # Job
    progress = Signal(object, int, int, str)  # Job, done, total, message
    finished = Signal(object, object)  # Job, result
    failed = Signal(object, object, str)  # Job, exception, formatted traceback
    cancelled = Signal(object)  # Job
    dropped = Signal(object)  # Job replaced by a newer one before it started
    busyChanged = Signal(bool)

    def __init__(self, name: str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.name = name
        self._cond = threading.Condition()
        self._queue: list[Job] = []
        self._running: Job | None = None
        self._latest: dict[str, int] = {}
        self._stopping = False
        self._thread = _Thread(self)
        self._thread.setObjectName(f"ipoke-{name}")
        # garbage is collected in the UI thread while this worker lives (see app.ui_thread_gc)
        ui_thread_gc.hold()
        self._holds_gc = True
        self._thread.finished.connect(self._release_gc)  # queued: runs in the UI thread
        self._thread.start()

    # ---- UI-thread API ---------------------------------------------------------------------
    def submit(self, job: Job, coalesce: bool = False) -> Job:
        """Queue ``job``; with ``coalesce`` a waiting job of the same kind is dropped first."""
        dropped: list[Job] = []
        with self._cond:
            if self._stopping:
                raise RuntimeError(f"lane {self.name} is shut down")
            if coalesce:
                dropped = [j for j in self._queue if j.kind == job.kind]
                self._queue = [j for j in self._queue if j.kind != job.kind]
            self._latest[job.kind] = job.id
            self._queue.append(job)
            self._cond.notify()
        for j in dropped:
            self.dropped.emit(j)
        return job

    def run(self, kind: str, work: Work, payload: Any = None, coalesce: bool = False,
            handlers: Handlers | None = None) -> Job:
        """Shorthand for ``submit(Job(kind, work, payload, handlers), coalesce)``."""
        return self.submit(Job(kind, work, payload, handlers or Handlers()), coalesce)

    def is_latest(self, job: Job) -> bool:
        """True unless a newer job of the same kind has been submitted since ``job``."""
        with self._cond:
            return self._latest.get(job.kind) == job.id

    def cancel(self, kind: str | None = None) -> None:
        """Cancel the running and waiting jobs of ``kind`` (all kinds when ``None``)."""
        with self._cond:
            waiting = [j for j in self._queue if kind is None or j.kind == kind]
            self._queue = [j for j in self._queue if not (kind is None or j.kind == kind)]
            running = self._running
        if running is not None and (kind is None or running.kind == kind):
            running.cancel.cancel()
        for j in waiting:
            j.cancel.cancel()
            self.cancelled.emit(j)

    def is_busy(self, kind: str | None = None) -> bool:
        with self._cond:
            jobs = self._queue + ([self._running] if self._running else [])
        return any(kind is None or j.kind == kind for j in jobs)

    def stop(self) -> None:
        """Cancel everything and tell the thread to end after its current job, without waiting.

        A forward pass cannot be interrupted, so quitting must not wait for one (see ``app.main``).
        """
        self.cancel()
        with self._cond:
            self._stopping = True
            self._cond.notify_all()

    def wait(self, wait_ms: int) -> bool:
        """Wait up to ``wait_ms`` for the thread to end (after ``stop``); True if it has ended."""
        ended = self._thread.wait(max(0, int(wait_ms)))
        if ended:
            self._release_gc()
        return ended

    @Slot()
    def _release_gc(self) -> None:
        if self._holds_gc:
            self._holds_gc = False
            ui_thread_gc.release()

    def shutdown(self, wait_ms: int = 10000) -> bool:
        """Cancel everything, stop the thread; returns False if it did not stop within ``wait_ms``."""
        self.stop()
        return self.wait(wait_ms)

    # ---- worker thread -----------------------------------------------------------------------
    def _loop(self) -> None:
        while True:
            with self._cond:
                while not self._queue and not self._stopping:
                    self._cond.wait()
                if self._stopping:
                    return
                job = self._queue.pop(0)
                self._running = job
            self.busyChanged.emit(True)
            self.started.emit(job)
            try:
                if job.cancel.cancelled:
                    raise Cancelled()
                result = job.work(lambda d, t, m="", j=job: self.progress.emit(j, int(d), int(t), str(m)), job.cancel)
            except Cancelled:
                self.cancelled.emit(job)
            except BaseException as e:  # noqa: BLE001 - every error must reach the UI, none may kill the thread
                self.failed.emit(job, e, traceback.format_exc())
            else:
                self.finished.emit(job, result)
            finally:
                with self._cond:
                    self._running = None
                    idle = not self._queue
                if idle:
                    self.busyChanged.emit(False)


class Dispatcher(QObject):
    """Hears every job the lanes report on and calls that job's own ``Handlers``, in the UI thread.

    After ``close()`` (the window is closing) late results are ignored.
    """

    def __init__(self, lanes: list[Lane], parent: QObject | None = None) -> None:
        super().__init__(parent)  # lives in the UI thread: the lanes' signals are queued to it
        self.closed = False
        for lane in lanes:
            lane.finished.connect(self._on_finished)
            lane.failed.connect(self._on_failed)
            lane.cancelled.connect(self._on_cancelled)
            lane.progress.connect(self._on_progress)
            lane.started.connect(self._on_started)

    def close(self) -> None:
        self.closed = True

    def _on_finished(self, job: Job, result: Any) -> None:
        if job.handlers.finished and not self.closed:
            job.handlers.finished(job, result)

    def _on_failed(self, job: Job, error: BaseException, trace: str) -> None:
        if job.handlers.failed and not self.closed:
            job.handlers.failed(job, error, trace)

    def _on_cancelled(self, job: Job) -> None:
        if job.handlers.cancelled and not self.closed:
            job.handlers.cancelled(job)

    def _on_started(self, job: Job) -> None:
        if job.handlers.started and not self.closed:
            job.handlers.started(job)

    def _on_progress(self, job: Job, done: int, total: int, message: str) -> None:
        if job.handlers.progress and not self.closed:
            job.handlers.progress(job, done, total, message)
