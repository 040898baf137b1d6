"""Loading a checkpoint: the device choice, the file dialog, the load in the model lane and its outcome.

The workspace's model slot holds the loaded file, the device and whether a load is under way
(``ipoke_core.session``); this piece asks it for a load request, runs it in the ``model`` lane (the
sidecar is checked there too, see ``app.model_info.check_sidecar``) and hands the model back. On
failure an error dialog says why, the current model stays, and the failed file is never the one
loaded at the next start.
"""
from __future__ import annotations

import traceback
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtWidgets import QComboBox, QFileDialog

from app import resources
from app.model_info import PokerFactory, check_sidecar, load_poker, model_summary
from app.workers import Handlers, Job
from ipoke_core.errors import UserError

if TYPE_CHECKING:
    from app.feedback import Feedback
    from app.workers import Lane
    from ipoke_core.inference import Poker
    from ipoke_core.session import Workspace

DEVICE_NAMES = {"auto": "Auto (GPU if available)", "cpu": "CPU", "cuda": "CUDA (GPU)"}


def available_devices() -> list[str]:
    import torch

    return ["auto", "cpu"] + (["cuda"] if torch.cuda.is_available() else [])


class CheckpointLoader:
    """Loads checkpoints into ``workspace`` in ``lane``, with ``factory(path, device)``; ``device_box``
    chooses where the model runs."""

    def __init__(self, workspace: Workspace, lane: Lane, feedback: Feedback, device_box: QComboBox,
                 factory: PokerFactory = load_poker) -> None:
        self.ws, self.lane, self.feedback, self.box, self.factory = workspace, lane, feedback, device_box, factory

    @property
    def path(self) -> str:
        """The loaded checkpoint ("" until one is)."""
        return self.ws.slot.path

    @property
    def loading(self) -> bool:
        return self.ws.slot.loading

    # ---- the device ------------------------------------------------------------------------------
    def set_devices(self, devices: list[str], chosen: str) -> None:
        """Fill the device box, select ``chosen`` and reload the model when it changes."""
        box = self.box
        box.clear()
        for d in devices:
            box.addItem(DEVICE_NAMES[d], d)
        self.select_device(chosen)
        box.currentIndexChanged.connect(self._on_device_changed)

    def current_device(self) -> str:
        return self.box.currentData() or "auto"

    def select_device(self, device: str) -> None:
        i = self.box.findData(device)
        self.box.setCurrentIndex(i if i >= 0 else 0)
        self.ws.set_device(self.current_device())

    def _on_device_changed(self) -> None:
        device = self.current_device()
        self.ws.set_device(device)
        self.feedback.settings.set("device", device)
        if self.path:
            self.load(self.path, device)

    # ---- loading ---------------------------------------------------------------------------------
    def open_dialog(self) -> None:
        start = self.path or str(resources.CHECKPOINTS)
        path, _ = QFileDialog.getOpenFileName(self.feedback.parent, "Open checkpoint", start,
                                              "iPOKE checkpoints (*.safetensors *.json);;All files (*)")
        if path:
            self.load(path)

    def load(self, path: str, device: str | None = None) -> Job:
        """Load a checkpoint in the worker; on failure an error dialog, and the current model stays."""
        # the sidecar is checked in the worker too, so a bad one fails like a bad file: dialog, old model kept
        request = self.ws.load_model_request(path, device or self.current_device(), self.factory, check_sidecar)
        self.feedback.say(f"Loading checkpoint {Path(path).name} on {request.device}…")
        return self.lane.run("checkpoint", request.run, payload=request,
                             handlers=Handlers(finished=self._loaded, failed=self._failed))

    def _loaded(self, job: Job, poker: Poker) -> None:
        # everything read from the new model is read before it replaces the current one
        try:
            model_summary(poker)
            poker.magnitude_range()
        except Exception as e:  # noqa: BLE001 - whatever the check missed must not swap the model half-way
            self._failed(job, e, traceback.format_exc())
            return
        self.feedback.settings.set("last_checkpoint", job.payload.path)
        # the model's resolution may have changed: same window, new pixel grid, a new video; heatmap
        # pokes default to the lengths the model saw in training
        self.ws.accept_model(job.payload, poker)
        self.feedback.say(f"Loaded {Path(self.path).name} ({poker.resolution}×{poker.resolution}, {poker.device})",
                          5000)

    def _failed(self, job: Job, error: BaseException, trace: str) -> None:
        """The current model stays; a checkpoint that failed is never the one loaded at the next start."""
        ws, fb = self.ws, self.feedback
        ws.model_failed(job.payload)
        path = job.payload.path
        if fb.settings.get("last_checkpoint") == path:
            fb.settings.set("last_checkpoint", self.path)
        kept = f"\n\nStill using {Path(self.path).name}." if ws.poker is not None else ""
        # with no model at all (a start-up whose last checkpoint broke since), the bundled one takes over
        default = resources.default_checkpoint()
        if ws.poker is None and default is not None and Path(path).resolve() != Path(default).resolve():
            kept = f"\n\nLoading the bundled model {default.stem} instead."
            self.load(str(default))
        fb.say("Could not load the checkpoint.", 5000)
        fb.error("Cannot load checkpoint", f"{path}\n\n{error}{kept}", None if isinstance(error, UserError) else trace)
