"""Atomic file writes: write to a temporary file in the same folder, fsync, then rename.

A crash or kill at any moment leaves either the old file or the new one, never a half-written one.
"""
from __future__ import annotations

from ipoke_core.errors import UserError

import contextlib
import errno
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path


class OutputError(UserError, OSError):
    """The output location cannot be written; the message names it."""


# below this much free space a failed write is taken for a full disk, whatever error the writer raised
# (torch.save reports ENOSPC as a RuntimeError without an errno)
_NEARLY_FULL = 1 << 20


def mount_point(path: Path) -> Path:
    """The mount point of the file system that holds ``path`` (or would hold it)."""
    p = Path(os.path.realpath(path))
    while not p.exists() and p != p.parent:
        p = p.parent
    while not os.path.ismount(p) and p != p.parent:
        p = p.parent
    return p


def no_space_error(path: str | Path) -> OutputError:
    """The one-line error for a write of ``path`` that found the disk full."""
    return OutputError(f"no space left on {mount_point(Path(path))} (writing {path}); free some space or "
                       "choose another output location (existing files were left as they were)")


def output_error(path: str | Path, error: OSError, doing: str = "write") -> OutputError:
    """The one-line error for a failed write (or ``doing``, e.g. "create output folder") of ``path``:
    a full disk, or else the reason in the OS's words (permissions, I/O error, a read-only file
    system); either way earlier files are intact."""
    if is_no_space(error):
        return no_space_error(path)
    reason = error.strerror or str(error) or type(error).__name__
    return OutputError(f"cannot {doing} {path}: {reason} (existing files were left as they were)")


def is_no_space(error: BaseException, folder: str | Path | None = None) -> bool:
    """Whether a failed write failed for lack of space: ENOSPC or a full quota, or, for writers that wrap
    the OS error in their own, any error while ``folder``'s file system is (nearly) full. Check before
    removing the half-written file, which frees the space again."""
    if isinstance(error, OSError) and error.errno in (errno.ENOSPC, errno.EDQUOT):
        return True
    if folder is None or not isinstance(error, Exception):
        return False
    try:
        return shutil.disk_usage(folder).free < _NEARLY_FULL
    except OSError:
        return False


def ensure_writable_dir(folder: Path) -> None:
    """Create ``folder`` if needed and check that files can be created in it."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise output_error(folder, e, "create output folder") from None
    if not os.access(folder, os.W_OK | os.X_OK):
        raise OutputError(f"output folder {folder} is not writable")


def current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def temp_file_for(path: str | Path) -> Iterator[Path]:
    """Yield a new temporary file next to ``path`` for the caller to fill and rename onto it.

    The temporary name ends with the real extension, for writers that pick the format from the
    name (ffmpeg, OpenCV). Whatever the caller did not rename is removed at exit; a failure on a
    full disk becomes the one-line no-space error (the file at ``path`` was never touched).
    """
    path = Path(path)
    ensure_writable_dir(path.parent)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=f".tmp{path.suffix}", dir=path.parent)
    except OSError as e:  # e.g. /proc or /sys: the folder exists, is "writable", but takes no new files
        raise output_error(path, e) from None
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
    except BaseException as e:
        full = not isinstance(e, OutputError) and is_no_space(e, path.parent)
        with contextlib.suppress(FileNotFoundError):
            tmp_path.unlink()
        if full:
            raise no_space_error(path) from None
        raise
    with contextlib.suppress(FileNotFoundError):
        tmp_path.unlink()


def finish_temp(tmp: Path) -> None:
    """Make a filled temporary file ready to be renamed into place: the user's umask and on disk.

    mkstemp makes 0600 files, and some writers (safetensors) recreate the file with their own mode;
    outputs are for sharing, so they get the user's umask like any new file. The fsync comes before
    the rename, so a crash never leaves a renamed but empty file (and a full disk can show only here,
    with delayed allocation).
    """
    os.chmod(tmp, 0o666 & ~current_umask())
    with open(tmp, "rb+") as f:
        os.fsync(f.fileno())


def replace_file(tmp: Path, path: Path) -> None:
    """Rename the finished ``tmp`` onto ``path``; a refusal (an immutable or read-only target) is one line."""
    try:
        os.replace(tmp, path)
    except OSError as e:
        raise output_error(path, e) from None


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; on success it is renamed onto ``path``.

    See :func:`temp_file_for`; on error the temporary file is removed and ``path`` is untouched.
    """
    path = Path(path)
    with temp_file_for(path) as tmp:
        yield tmp
        finish_temp(tmp)
        replace_file(tmp, path)


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def atomic_write_text(path: str | Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))
