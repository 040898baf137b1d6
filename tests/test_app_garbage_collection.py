"""While the app's worker threads live, Python's garbage collector runs in the UI thread only: a
collection in a worker frees UI objects there and deadlocks Qt (the suite hung so in CI, mid model
load, with one worker in ~QObject waiting for the GIL and the UI thread waiting for a Qt lock)."""
import gc
import threading

import pytest

from app import ui_thread_gc
from app.workers import Lane


class Cycle:
    """Garbage only the cycle collector can free; records whether it was freed in the UI thread."""

    def __init__(self, freed_in_ui_thread: list[bool]) -> None:
        self.me = self
        self.freed_in_ui_thread = freed_in_ui_thread

    def __del__(self) -> None:
        self.freed_in_ui_thread.append(threading.current_thread() is threading.main_thread())


@pytest.fixture
def lane(qtbot):
    # the workers of windows closed by earlier tests end soon; each releases when its end is heard
    qtbot.waitUntil(lambda: ui_thread_gc.holders() == 0, timeout=10000)
    assert gc.isenabled()
    lane = Lane("gc-test")
    yield lane
    lane.shutdown()


def test_a_worker_that_allocates_never_collects_the_ui_threads_garbage(qtbot, lane):
    assert not gc.isenabled()
    freed_in_ui_thread: list[bool] = []
    Cycle(freed_in_ui_thread)
    # fifty thousand containers: automatic collection would run dozens of times, in the worker
    with qtbot.waitSignal(lane.finished, timeout=20000):
        lane.run("allocate", lambda progress, cancel: len([[] for _ in range(50_000)]))
    assert freed_in_ui_thread in ([], [True])
    keep = [[] for _ in range(5 * gc.get_threshold()[0])]  # noqa: F841 - make a collection due
    qtbot.waitUntil(lambda: bool(freed_in_ui_thread), timeout=5000)  # the UI thread's timer collects
    assert freed_in_ui_thread == [True]


def test_automatic_collection_comes_back_when_the_last_worker_ends(qtbot, lane):
    other = Lane("gc-test-2")
    assert ui_thread_gc.holders() == 2
    assert other.shutdown()
    assert ui_thread_gc.holders() == 1 and not gc.isenabled()  # one worker still lives
    assert lane.shutdown()
    assert ui_thread_gc.holders() == 0 and gc.isenabled()
    assert lane.shutdown() and ui_thread_gc.holders() == 0  # a second shutdown releases nothing twice
