"""Loading a checkpoint: the device choice, the file dialog, the load in the model lane and its outcome.

A load runs in the window's ``model`` lane (the sidecar is checked there too, see
``app.model_info.check_sidecar``). On success the side panel's model line, the heatmap poke
lengths and the workspace get the new model; on failure an error dialog says why, the current
model stays, and the failed file is never the one loaded at the next start.
"""
from __future__ import annotations

import traceback
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtWidgets import QFileDialog

from app import resources
from app.model_info import check_sidecar, model_summary
from app.workers import Handlers, Job
from ipoke_core.errors import UserError

if TYPE_CHECKING:
    from app.main_window import MainWindow
    from ipoke_core.inference import Poker

DEVICE_NAMES = {"auto": "Auto (GPU if available)", "cpu": "CPU", "cuda": "CUDA (GPU)"}


def available_devices() -> list[str]:
    import torch

    return ["auto", "cpu"] + (["cuda"] if torch.cuda.is_available() else [])


class CheckpointLoader:
    """The window's checkpoint: which file is loaded (``path``) and whether a load is under way."""

    def __init__(self, window: MainWindow) -> None:
        self.window = window
        self.path = ""  # the loaded checkpoint ("" until one is)
        self.loading = False

    # ---- the device ------------------------------------------------------------------------------
    def set_devices(self, devices: list[str], chosen: str) -> None:
        """Fill the side panel's device box, select ``chosen`` and reload the model when it changes."""
        box = self.window.side.device
        box.clear()
        for d in devices:
            box.addItem(DEVICE_NAMES[d], d)
        self.select_device(chosen)
        box.currentIndexChanged.connect(self._on_device_changed)

    def current_device(self) -> str:
        return self.window.side.device.currentData() or "auto"

    def select_device(self, device: str) -> None:
        box = self.window.side.device
        i = box.findData(device)
        box.setCurrentIndex(i if i >= 0 else 0)

    def _on_device_changed(self) -> None:
        device = self.current_device()
        self.window.settings.set("device", device)
        if self.path:
            self.load(self.path, device)

    # ---- loading ---------------------------------------------------------------------------------
    def open_dialog(self) -> None:
        start = self.path or str(resources.CHECKPOINTS)
        path, _ = QFileDialog.getOpenFileName(self.window, "Open checkpoint", start,
                                              "iPOKE checkpoints (*.safetensors *.json);;All files (*)")
        if path:
            self.load(path)

    def load(self, path: str, device: str | None = None) -> Job:
        """Load a checkpoint in the worker; on failure an error dialog, and the current model stays."""
        w = self.window
        device = device or self.current_device()
        factory = w.poker_factory
        self.loading = True
        w._update_banner()
        w._update_hint()
        w.statusBar().showMessage(f"Loading checkpoint {Path(path).name} on {device}…")
        # the sidecar is checked in the worker too, so a bad one fails like a bad file: dialog, old model kept
        return w.model_lane.run("checkpoint", lambda progress, cancel: check_sidecar(factory(path, device), path),
                                payload={"path": path, "device": device},
                                handlers=Handlers(finished=self._loaded, failed=self._failed))

    def _loaded(self, job: Job, poker: Poker) -> None:
        w = self.window
        # everything read from the new model is read before it replaces the current one
        try:
            summary = model_summary(poker)
            lo, hi = poker.magnitude_range()
        except Exception as e:  # noqa: BLE001 - whatever the check missed must not swap the model half-way
            self._failed(job, e, traceback.format_exc())
            return
        self.loading = False
        self.path = job.payload["path"]
        w.settings.set("last_checkpoint", self.path)
        name = Path(self.path).name
        w.side.checkpoint_label.setText(name)
        w.side.checkpoint_label.setToolTip(self.path)
        w.side.model_info.setText(summary)
        w.statusBar().showMessage(f"Loaded {name} ({poker.resolution}×{poker.resolution}, {poker.device})", 5000)
        # heatmap pokes default to the lengths the model saw in training
        w.side.heat_lo.setValue(lo)
        w.side.heat_hi.setValue(hi)
        # the model's resolution may have changed: same window, new pixel grid, a new video
        w.workspace.set_poker(poker)
        w._update_banner()
        w._update_enabled()
        w._update_status()

    def _failed(self, job: Job, error: BaseException, trace: str) -> None:
        """The current model stays; a checkpoint that failed is never the one loaded at the next start."""
        w = self.window
        self.loading = False
        path = job.payload["path"]
        if w.settings.get("last_checkpoint") == path:
            w.settings.set("last_checkpoint", self.path)
        w._update_banner()
        w._update_hint()
        kept = f"\n\nStill using {Path(self.path).name}." if w.poker is not None else ""
        # with no model at all (a start-up whose last checkpoint broke since), the bundled one takes over
        default = resources.default_checkpoint()
        if w.poker is None and default is not None and Path(path).resolve() != Path(default).resolve():
            kept = f"\n\nLoading the bundled model {default.stem} instead."
            self.load(str(default))
        w.statusBar().showMessage("Could not load the checkpoint.", 5000)
        w.show_error("Cannot load checkpoint", f"{path}\n\n{error}{kept}",
                     None if isinstance(error, UserError) else trace)
