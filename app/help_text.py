"""The texts of Help ▸ How to use and Help ▸ About, and the dialogs that show them."""
from __future__ import annotations

from PySide6.QtWidgets import QMessageBox, QWidget

HELP_HTML = (
    "<p><b>Poke:</b> press on the object in the input image, drag to where that point should move and "
    "release. The model generates a short video of the object's response, which plays on the right. "
    "Shift+drag adds more pokes; Ctrl+Z undoes the last one.</p>"
    "<p><b>Crop:</b> the model sees a square (bright). Drag the dimmed area to move it, or tick "
    "<i>Fit whole image</i>.</p>"
    "<p><b>Continue:</b> Ctrl+L makes the last frame the new input, to chain motions.</p>"
    "<p><b>Heatmaps:</b> press H and click a point: the model is poked there many times in random "
    "directions, and the heatmap shows which pixels move together with it (paper Fig. 5).</p>"
    "<p><b>Export:</b> Ctrl+E saves MP4, GIF, PNG frames or a frame strip.</p>"
    "<p>Space plays/pauses; the mouse wheel zooms the image; double-click fits it.</p>")



def about_html() -> str:
    """The About text with the installed version and the libraries it runs on."""
    import platform
    from importlib.metadata import PackageNotFoundError, version

    import PySide6
    import torch

    try:
        ours = version("ipoke")
    except PackageNotFoundError:  # run from a source tree that was never installed
        ours = "unknown (not installed)"
    return (f"<p><b>iPoke desktop</b> {ours}</p><p>Interactive image-to-video synthesis after Blattmann et al., "
            "<i>Understanding Object Dynamics for Interactive Image-to-Video Synthesis</i>, CVPR 2021.</p>"
            f"<p>PyTorch {torch.__version__}, Qt {PySide6.QtCore.qVersion()} (PySide6 {PySide6.__version__}), "
            f"Python {platform.python_version()}.</p><p>MIT licence.</p>")


def show_help(parent: QWidget) -> None:
    QMessageBox.information(parent, "How to use iPoke", HELP_HTML)


def show_about(parent: QWidget) -> None:
    QMessageBox.about(parent, "About iPoke", about_html())
