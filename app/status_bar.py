"""The status bar's permanent fields: the model, its resolution and device, the last inference time
and a busy bar while the model works (their texts come from ``app.messages.status_fields``)."""
from __future__ import annotations

from PySide6.QtWidgets import QLabel, QProgressBar, QStatusBar

from app.messages import StatusFields
from app.widgets import ElidedLabel


class ModelStatus:
    """The permanent widgets of ``bar``."""

    def __init__(self, bar: QStatusBar) -> None:
        self.model = ElidedLabel()  # a long checkpoint name is cut, its tooltip has all of it
        self.resolution = QLabel()
        self.device = QLabel()
        self.time = QLabel()
        self.busy = QProgressBar()
        self.busy.setRange(0, 0)
        self.busy.setMaximumWidth(90)
        self.busy.setMaximumHeight(14)
        self.busy.setToolTip("The model is working")
        self.busy.hide()
        for w, tip in ((self.model, "Loaded checkpoint"), (self.resolution, "Model resolution"),
                       (self.device, "Device the model runs on"), (self.time, "Time of the last video generation")):
            w.setToolTip(tip)
            bar.addPermanentWidget(w)
        bar.addPermanentWidget(self.busy)

    def show(self, fields: StatusFields) -> None:
        for label, text in ((self.model, fields.model), (self.resolution, fields.resolution),
                            (self.device, fields.device), (self.time, fields.time)):
            label.setText(text)

    def set_busy(self, busy: bool) -> None:
        self.busy.setVisible(busy)
