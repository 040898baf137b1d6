"""Picking the model: every bundled checkpoint is in the Model menu, a bundled sample opens with the
model made for it, and the gallery's highlight follows the image shown (issue 34, item 2)."""
from __future__ import annotations

import numpy as np
from PIL import Image

from app import resources
from test_app_fakes import FakePoker, make_window, settings  # noqa: F401 - fixtures


def _window(qtbot, make_window, first: str):  # noqa: F811 - the fixture
    loaded: list[str] = []

    def factory(path, device):
        loaded.append(path)
        return FakePoker()

    w = make_window(factory=factory)
    w.load_checkpoint(first)
    qtbot.waitUntil(lambda: w.poker is not None and w.checkpoints.path == first, timeout=5000)
    return w, loaded


def _selected(w) -> list[str]:
    return [item.text() for item in w.side.samples.selectedItems()]


def test_the_model_menu_lists_every_bundled_checkpoint(qtbot, make_window):  # noqa: F811
    w = make_window(FakePoker())
    texts = [a.text().replace("&", "") for a in w.acts.bundled]
    assert texts == [f"Load bundled {p.name.removesuffix('.safetensors')}" for p in resources.bundled_checkpoints()]
    assert {"Load bundled plants64", "Load bundled figures64"} <= set(texts)


def test_a_figure_sample_opens_with_the_figures_model(qtbot, make_window):  # noqa: F811
    plants = str(resources.DEFAULT_CHECKPOINT)
    w, loaded = _window(qtbot, make_window, plants)
    w.open_sample(str(resources.SAMPLES / "figure_1.png"))
    figures = str(resources.checkpoint_for_sample(resources.SAMPLES / "figure_1.png"))
    assert figures.endswith("figures64.safetensors")
    qtbot.waitUntil(lambda: w.checkpoints.path == figures and w.workspace.title == "figure_1.png", timeout=5000)
    assert loaded == [plants, figures]
    assert _selected(w) == ["figure 1"]
    w.open_sample(str(resources.SAMPLES / "figure_2.png"))  # the right model is loaded already: no reload
    qtbot.waitUntil(lambda: w.workspace.title == "figure_2.png", timeout=5000)
    assert loaded == [plants, figures] and _selected(w) == ["figure 2"]


def test_a_users_own_checkpoint_stays_and_the_highlight_follows_the_image(qtbot, make_window, tmp_path):  # noqa: F811
    w, loaded = _window(qtbot, make_window, "my_model.safetensors")
    w.open_sample(str(resources.SAMPLES / "figure_1.png"))
    qtbot.waitUntil(lambda: w.workspace.title == "figure_1.png", timeout=5000)
    assert loaded == ["my_model.safetensors"] and _selected(w) == ["figure 1"]
    own = tmp_path / "own.png"
    Image.fromarray(np.full((40, 60, 3), 128, np.uint8)).save(own)
    w.open_image(str(own))
    qtbot.waitUntil(lambda: w.workspace.title == "own.png", timeout=5000)
    assert _selected(w) == []  # not the figure any more


def test_a_broken_last_checkpoint_at_start_up_falls_back_to_the_bundled_one(qtbot, make_window, tmp_path):  # noqa: F811
    """Issue 33 item 17: the app starts, says why, and loads the bundled model instead of none."""
    from ipoke_core.errors import UserError

    broken = tmp_path / "broken.safetensors"
    broken.write_bytes(b"{" * 1000)
    good = FakePoker()

    def factory(path, device):
        if path == str(broken):
            raise UserError(f"{path}: sidecar JSON nested too deeply")
        return good

    w = make_window(None, factory=factory)
    w.settings.set("last_checkpoint", str(broken))
    w.expect_errors = True
    w.start(checkpoint=True, image=False)
    qtbot.waitUntil(lambda: w.poker is good, timeout=5000)
    assert w.checkpoint_path == str(resources.default_checkpoint())
    title, text = w.errors[0][:2]
    assert title == "Cannot load checkpoint" and "nested too deeply" in text
    assert f"Loading the bundled model {resources.default_checkpoint().stem} instead" in text
    assert w.settings.get("last_checkpoint") == str(resources.default_checkpoint())
