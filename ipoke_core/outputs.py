"""The one output guard: every file a command writes is checked here before the work starts.

A command names its inputs and everything it will write: plain files, and folder outputs
(:class:`FolderOutput`) that expand to the files they will hold. :func:`check_outputs` then, before
any model runs,

- refuses any target that is an input, however it is spelled (a symlink, ``..``, a hard link);
- refuses a target that is a folder where a file goes (the atomic writer cannot replace it);
- refuses an existing target unless the user passed ``--overwrite``, naming it.

A folder output owns only the files whose names match its pattern (``frame_000.png`` …,
``loc1_heatmap.npy`` …): those are the files it writes and, with ``--overwrite``, the files of an
earlier run that it removes once the new ones are in place (:meth:`FolderOutput.remove_stale`).
Anything else in the folder is the user's and is never touched. The files themselves are replaced
atomically by the writers of ``io_utils`` (a checkpoint's pair by ``checkpoint.save_checkpoint``).
"""
from __future__ import annotations

import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from ipoke_core.io_utils import OutputError, output_error


@dataclass(frozen=True)
class FolderOutput:
    """A folder a command writes several files into.

    ``owned`` matches the name of every file this kind of output writes (an earlier run's too);
    ``names`` are the files this run writes, where known before the work (the rest of what the
    folder will hold is known anyway: every owned file already there is rewritten or, with
    ``--overwrite``, removed). ``exclusive``: the folder may hold nothing else (a frames folder).
    """

    folder: Path
    owned: re.Pattern[str]
    names: tuple[str, ...] = ()
    exclusive: bool = False

    def own_files(self) -> list[Path]:
        """The files of this kind already in the folder (none when it does not exist)."""
        if not self.folder.is_dir():
            return []
        return sorted(p for p in self.folder.iterdir() if self.owned.fullmatch(p.name))

    def targets(self) -> list[Path]:
        """Every path this run may write or remove: its own names and the owned files already there."""
        paths = {self.folder / name for name in self.names}
        paths.update(self.own_files())
        return sorted(paths)

    def remove_stale(self, written: Iterable[str] | None = None) -> list[Path]:
        """After a successful run: remove the owned files it did not rewrite (an earlier, longer run's).

        ``written`` defaults to ``names``. Only files matching ``owned`` are ever removed.
        """
        keep = set(self.names if written is None else written)
        stale = [p for p in self.own_files() if p.name not in keep and not p.is_dir()]
        for path in stale:
            path.unlink(missing_ok=True)
        return stale


Output = str | Path | FolderOutput


def same_file(a: str | Path, b: str | Path) -> bool:
    """Whether ``a`` and ``b`` are the same file: through symlinks, ``..``, another spelling or a hard link."""
    try:
        if os.path.exists(a) and os.path.exists(b):
            return os.path.samefile(a, b)
    except OSError:
        pass
    return os.path.realpath(a) == os.path.realpath(b)


def check_outputs(outputs: Iterable[Output], inputs: Iterable[str | Path] = (), overwrite: bool = False) -> None:
    """Raise :class:`OutputError` (one line naming the path) unless every output may be written.

    Call it before the work starts. ``inputs`` are the files the command reads; an output that is one
    of them is refused even with ``overwrite``. A path the OS cannot even look at (a name longer than
    the file system allows, a component that is a file) is refused in its words, not with a traceback.
    """
    try:
        _check_outputs(outputs, inputs, overwrite)
    except OutputError:
        raise
    except OSError as e:
        raise output_error(e.filename if e.filename is not None else "the output", e, "use output") from None


def _check_outputs(outputs: Iterable[Output], inputs: Iterable[str | Path], overwrite: bool) -> None:
    inputs = [Path(p) for p in inputs]
    files: list[Path] = []
    for out in outputs:
        if isinstance(out, FolderOutput):
            _check_folder(out)
            files += out.targets()
        else:
            files.append(Path(out))
    for path in files:
        for source in inputs:
            if same_file(path, source):
                which = "itself" if path == source else f"{source} (the same file)"
                raise OutputError(f"output {path} is the input {which}; choose another output name")
    for path in files:
        if path.is_dir():
            raise OutputError(f"output {path} is a folder; name a file (or move the folder away)")
        if not overwrite and (path.exists() or path.is_symlink()):
            raise OutputError(f"{path} already exists; choose another name or pass --overwrite to replace it")


def _check_folder(out: FolderOutput) -> None:
    folder = out.folder
    if not folder.exists():
        return
    if not folder.is_dir():
        raise OutputError(f"{folder} exists and is not a folder")
    if out.exclusive:
        foreign = sorted(e.name for e in folder.iterdir() if not (e.is_file() and out.owned.fullmatch(e.name)))
        if foreign:
            shown = ", ".join(foreign[:3]) + (" ..." if len(foreign) > 3 else "")
            raise OutputError(f"{folder} already holds other files ({shown}); "
                              "write into a new or empty folder")


def check_replaceable(path: str | Path) -> None:
    """Raise :class:`OutputError` unless the existing file ``path`` can be replaced atomically (a file,
    in a folder this process may create and rename files in): for commands that rewrite a file they
    read, such as ``eval --record``, checked before the work rather than after it."""
    path = Path(path)
    if path.is_dir():
        raise OutputError(f"output {path} is a folder; name a file (or move the folder away)")
    folder = path.parent
    if not os.access(folder, os.W_OK | os.X_OK):
        raise OutputError(f"cannot replace {path}: its folder {folder} is not writable")
    # a read-only or immutable (chattr +i) file: the rename at the end would fail after all the work
    if path.exists() and not os.access(path, os.W_OK):
        raise OutputError(f"cannot replace {path}: the file is read-only or immutable "
                          "(make it writable, e.g. chmod u+w, or chattr -i)")
