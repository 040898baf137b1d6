"""The Qt binding must not lose references when signals carry booleans.

PySide6 6.12.0 drops one reference to ``True``/``False`` per emitted bool; on Python < 3.12
the process aborts ("bool_dealloc") after a few hundred clicks, toggles or menu actions.
pyproject.toml excludes that release; this test catches a future one with the same bug.
"""
import sys

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QCheckBox


class _Emitter(QObject):
    flag = Signal(bool)


def test_bool_signals_keep_reference_counts(qtbot):
    emitter = _Emitter()
    got = []
    emitter.flag.connect(got.append)
    box = QCheckBox()
    box.toggled.connect(lambda on: None)
    before = sys.getrefcount(True), sys.getrefcount(False)
    for i in range(200):
        emitter.flag.emit(i % 2 == 0)
        box.setChecked(i % 2 == 0)
    del got[:]
    after = sys.getrefcount(True), sys.getrefcount(False)
    # a few references may come and go elsewhere; the bug loses 200+ of each
    assert abs(after[0] - before[0]) < 20 and abs(after[1] - before[1]) < 20, (before, after)
