"""A user's session, headless (no Qt): the workspace owns the state and the requests, and announces
every change as a plain-Python event. The desktop app binds its widgets to it; the CLI verbs and
the tests drive it directly.

- ``events``    the change names, ``Change`` and the ``Events`` base (subscribe / emit)
- ``controls``  how the user works: mode, model slot, heatmap settings, playback speed
- ``requests``  snapshots of model work, run in any thread (load, poke, heatmap, parts, export)
- ``analyses``  heatmaps and parts of the image (a base of ``Workspace``)
- ``files``     the heatmap and parts files
- ``workspace`` ``Workspace``: what the user works on, and its rules
"""
from ipoke_core.session.controls import MODES, Controls, HeatmapSettings, ModelSlot
from ipoke_core.session.events import (
    FRAMING, HEATMAP_SETTINGS, HEATMAPS, IMAGE, MODE, MODEL, PARTS, PLAYBACK, POKES, SLOT, VIDEO, VIDEO_INPUTS,
    Change, Events, Listener,
)
from ipoke_core.session.files import (
    HEATMAP_SET_FILE, heatmap_set_output, heatmap_stack, write_heatmap_figure, write_heatmap_set,
    write_heatmap_stack, write_parts_labels, write_parts_png,
)
from ipoke_core.session.requests import (
    HeatmapRequest, ImageInput, ModelLoad, PartsRequest, PokeRequest, PokerFactory, VideoExport, load_poker,
)
from ipoke_core.session.workspace import DEFAULT_RESOLUTION, Workspace

__all__ = [
    "MODES", "Controls", "HeatmapSettings", "ModelSlot",
    "FRAMING", "HEATMAP_SETTINGS", "HEATMAPS", "IMAGE", "MODE", "MODEL", "PARTS", "PLAYBACK", "POKES", "SLOT",
    "VIDEO", "VIDEO_INPUTS", "Change", "Events", "Listener",
    "HEATMAP_SET_FILE", "heatmap_set_output", "heatmap_stack", "write_heatmap_figure", "write_heatmap_set",
    "write_heatmap_stack", "write_parts_labels", "write_parts_png",
    "HeatmapRequest", "ImageInput", "ModelLoad", "PartsRequest", "PokeRequest", "PokerFactory", "VideoExport",
    "load_poker", "DEFAULT_RESOLUTION", "Workspace",
]
