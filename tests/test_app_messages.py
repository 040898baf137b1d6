"""The window's texts (app/messages.py) decided without Qt."""
from types import SimpleNamespace

from app.messages import HINTS, banner, disabled_message, hint, status_fields


def _poker(trained=True, meta=None, predicts_motion=True):
    return SimpleNamespace(trained=trained, meta=meta, resolution=64, device="cpu", predicts_motion=predicts_motion)


def test_banner_by_model_state():
    assert banner(None, loading=True).text == "Loading the model…"
    assert "No model loaded" in banner(None, loading=False).text
    untrained = banner(_poker(trained=False), loading=False).text
    # what the user will see (issue 34 item 7): not noise, an image shifted with no regard for the object
    assert "Untrained checkpoint" in untrained and "noise" not in untrained and "shifts the image" in untrained
    assert "grey blur" in banner(_poker(trained=False, predicts_motion=False), loading=False).text
    weak = {"evaluation": {"poke_accuracy_px": 5.0, "static_poke_accuracy_px": 5.1}}
    b = banner(_poker(meta=weak), loading=True)  # a new model loading: the current one's banner stays
    assert b.text.startswith("<b>Weak model:</b>") and "barely responds" in b.text
    good = {"evaluation": {"poke_accuracy_px": 2.0, "static_poke_accuracy_px": 5.0}}
    assert banner(_poker(meta=good), loading=False) is None
    assert banner(_poker(meta=None), loading=False) is None


def test_about_names_the_version_and_the_libraries():
    from importlib.metadata import version

    from app.help_text import about_html

    text = about_html()
    assert f"iPoke desktop</b> {version('ipoke')}" in text and "PyTorch" in text and "Qt " in text


def test_hint_by_state():
    assert hint(False, loading=True, has_model=True, mode="poke") == HINTS["no image"]
    assert hint(True, loading=True, has_model=False, mode="poke") == HINTS["loading"]
    assert hint(True, loading=True, has_model=True, mode="heatmap") == HINTS["heatmap"]
    assert hint(True, loading=False, has_model=False, mode="poke") == HINTS["no model"]
    assert hint(True, loading=False, has_model=True, mode="poke") == HINTS["poke"]
    assert "still loading" in disabled_message(True) and "Load a checkpoint" in disabled_message(False)


def test_status_fields():
    none = status_fields(None, "", None)
    assert (none.model, none.resolution, none.device, none.time) == ("Model: none", "", "", "")
    f = status_fields(_poker(), "/runs/plants64.safetensors", 123.4)
    assert (f.model, f.resolution, f.device, f.time) == ("Model: plants64", "64×64 px", "Device: cpu",
                                                         "Last inference: 123 ms")
