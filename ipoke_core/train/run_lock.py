"""One training process per run folder: an OS-level lock on ``RUN/.lock``.

Two ``ipoke train`` processes on one ``--out`` (or a ``--resume`` while the run still goes) would write
the same checkpoints and state, each at its own learning rate (issue 33). The lock is ``flock`` on a
file inside the run folder: the kernel releases it when the process ends, however it ends, so a
``kill -9`` leaves no stale lock, and the file itself is never removed (removing it would let a
third process lock a new file while the second still holds the old one).
"""
from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

from ipoke_core.errors import UserError

try:
    import fcntl
except ImportError:  # Windows: no flock; runs there are not locked
    fcntl = None  # type: ignore[assignment]

LOCK_FILE = ".lock"


class RunInUseError(UserError):
    """Another process is training in this run folder."""


@contextlib.contextmanager
def run_lock(run_dir: Path) -> Iterator[None]:
    """Hold the run folder's lock for the ``with`` block; :class:`RunInUseError` when another process has it.

    Creates the run folder if needed (the lock lives in it).
    """
    if fcntl is None:
        yield
        return
    from ipoke_core.io_utils import ensure_writable_dir

    ensure_writable_dir(run_dir)
    fd = os.open(run_dir / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "another process"
            raise RunInUseError(f"{run_dir} is in use by a training process (pid {holder}); wait for it to finish "
                                "or stop it, then --resume, or choose another --out") from None
        # the holder's pid, for the message above (informational: the lock is the flock, not this text)
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        yield
    finally:
        os.close(fd)  # releases the flock
