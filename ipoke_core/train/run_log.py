"""The human-readable side of a run: ``train.log``, the progress bar and the messages on stderr (rank 0 only)."""
from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Iterator
from pathlib import Path

# the losses the progress bar shows, when the step has them
SHOWN_LOSSES = ("ae_perc", "perc", "latent", "g_temporal", "d_temporal")


class RunLog:
    """Writes each message with a timestamp to ``train.log`` and, unless quiet, to stderr (through the bar
    while one is shown, so the two do not overwrite each other). Other ranks write nothing."""

    def __init__(self, main: bool, to_stderr: bool):
        self.main = main
        self.to_stderr = to_stderr
        self._file = None
        self._bar = None

    def open(self, path: Path) -> None:
        """Append to ``path`` from now on (a resumed run continues its log)."""
        self._file = open(path, "a")  # noqa: SIM115 - open for the whole run, closed by close()

    def close(self) -> None:
        if self._file is not None:
            self._file.close()

    def write(self, msg: str) -> None:
        if not self.main:
            return
        line = f"[{time.strftime('%Y-%m-%d %H:%M:%S')}] {msg}"
        if self._file is not None:
            self._file.write(line + "\n")
            self._file.flush()  # a killed run keeps every line it logged
        if self._bar is not None:
            self._bar.write(msg, file=sys.stderr)
        elif self.to_stderr:
            print(msg, file=sys.stderr)

    @contextlib.contextmanager
    def progress(self, start: int, total: int) -> Iterator[None]:
        """A tqdm bar on rank 0 (unless --quiet) for the ``with`` block, starting at ``start`` of ``total``."""
        if self.main and self.to_stderr:
            from tqdm import tqdm

            self._bar = tqdm(total=total, initial=start, unit="step", dynamic_ncols=True, file=sys.stderr)
        try:
            yield
        finally:
            if self._bar is not None:
                self._bar.close()
                self._bar = None

    def advance(self) -> None:
        """One more step done."""
        if self._bar is not None:
            self._bar.update(1)

    def show_losses(self, stage: int, values: dict[str, float], samples_per_s: float) -> None:
        """The latest mean losses and throughput beside the bar."""
        if self._bar is not None:
            shown = {k: f"{values[k]:.3g}" for k in SHOWN_LOSSES if k in values}
            self._bar.set_postfix(stage=stage, **shown, sps=f"{samples_per_s:.1f}")
