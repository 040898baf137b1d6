"""A progress strip for long model work in a tab: what runs, a bar of pokes done, a Cancel button.

Shared by the heatmap and parts views. Work expected to take over 2 s says about how long it still
needs (linear in the pokes done).
"""
from __future__ import annotations

import time

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QVBoxLayout, QWidget

FORMAT = "%v / %m pokes"
SAY_TIME_LEFT_AFTER_S = 2.0  # work expected to take longer says how long it still needs


class ProgressStrip(QWidget):
    """``label`` (what runs, then how it ended), ``bar`` and ``cancel_button`` (visible while running)."""

    cancelRequested = Signal()

    def __init__(self, cancel_tip: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.label = QLabel("")
        self.label.setWordWrap(True)
        self.bar = QProgressBar()
        self.bar.setTextVisible(True)
        self.bar.setFormat(FORMAT)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip(cancel_tip)
        self.cancel_button.clicked.connect(self.cancelRequested)
        self._started = time.monotonic()
        row = QHBoxLayout()
        row.addWidget(self.bar, 1)
        row.addWidget(self.cancel_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.label)
        layout.addLayout(row)
        self._set_running(False)

    @property
    def running(self) -> bool:
        return self.cancel_button.isEnabled()

    def start(self, text: str, total: int) -> None:
        self.label.setText(text)
        self.bar.setRange(0, max(total, 1))
        self.bar.setValue(0)
        self.bar.setFormat(FORMAT)
        self._started = time.monotonic()
        self._set_running(True)

    def set(self, done: int, total: int) -> None:
        self.bar.setRange(0, max(total, 1))
        self.bar.setValue(min(done, total))
        elapsed = time.monotonic() - self._started
        if 0 < done < total and elapsed / done * total > SAY_TIME_LEFT_AFTER_S:
            left = elapsed / done * (total - done)
            self.bar.setFormat(f"{FORMAT} · about {left:.0f} s left" if left >= 1 else FORMAT)
        else:
            self.bar.setFormat(FORMAT)

    def stop(self, text: str = "") -> None:
        self.label.setText(text)
        self._set_running(False)

    def _set_running(self, on: bool) -> None:
        self.bar.setVisible(on)
        self.cancel_button.setVisible(on)
        self.cancel_button.setEnabled(on)
