"""Finding the videos of an input folder and their train/test split, for each supported layout.

Layouts (``--layout``; ``auto`` picks the first that matches):

- ``taichi``  (TaiChi-HD, first-order-model layout): ``train/`` and ``test/`` subfolders holding video
  files or frame folders; the split is the subfolder.
- ``h36m``    (Human3.6m): subject folders ``S1 .. S11`` with videos (e.g. ``S1/Videos/Walking.54138969.mp4``,
  ``*_ALL*`` files skipped) or frame folders below them; subjects S9 and S11 are the test split.
- ``pokingplants`` (PokingPlants): files ``VID_<plant>_<take>.<ext>``; split by plant (a plant never
  appears in both splits), every tenth plant id (by hash) is a test plant.
- ``iper``    (iPER): videos or frame folders named ``<actor>_<outfit>_<action>`` (e.g. ``001_1_1.mp4``);
  the data set's ``train.txt`` / ``val.txt`` are used when present (lines like ``001/1/1``),
  otherwise split by actor.
- ``folder``  any folder of video files and/or frame folders (searched recursively); ``train.txt``
  and ``test.txt`` in it (one id per line, ids as below) are used when present, otherwise every
  tenth video by hash of its id is a test video.

A video's id is its path relative to the input folder without extension, with ``/`` replaced by
``__`` (``S1/Videos/Walking.54138969.mp4`` -> ``S1__Videos__Walking.54138969``).
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from ipoke_core.data.video import IMAGE_EXTENSIONS, VIDEO_EXTENSIONS, natural_key
from ipoke_core.errors import UserError

LAYOUTS = ("auto", "folder", "pokingplants", "iper", "taichi", "h36m")
H36M_TEST_SUBJECTS = {"S9", "S11"}


class SourceError(UserError, ValueError):
    """The input folder cannot be used (missing, empty, wrong layout)."""


@dataclass(frozen=True)
class VideoSource:
    id: str
    path: Path
    is_folder: bool  # a folder of frame images rather than a video file
    split: str  # "train" | "test"


def _safe_id(rel: Path) -> str:
    text = "__".join(rel.with_suffix("").parts) if rel.suffix.lower() in VIDEO_EXTENSIONS else "__".join(rel.parts)
    return re.sub(r"[^A-Za-z0-9._-]", "_", text)


def _hash_split(key: str, fraction: int = 10) -> str:
    return "test" if int(hashlib.sha1(key.encode()).hexdigest(), 16) % fraction == 0 else "train"


def _has_images(folder: Path) -> bool:
    try:
        return any(p.suffix.lower() in IMAGE_EXTENSIONS for p in folder.iterdir() if p.is_file())
    except OSError:
        return False


def scan(folder: Path) -> tuple[list[Path], list[Path], list[Path]]:
    """``(video files, frame folders, other files)`` below ``folder`` (recursive, natural order).

    A folder that directly holds images is a frame folder (its subfolders are not searched).
    """
    videos, frame_dirs, others = [], [], []
    stack = [folder]
    while stack:
        d = stack.pop()
        try:
            entries = sorted(d.iterdir(), key=lambda p: natural_key(p.name))
        except OSError as e:
            raise SourceError(f"cannot list {d}: {e.strerror or e}") from None
        if d != folder and _has_images(d):
            frame_dirs.append(d)
            continue
        for p in entries:
            if p.name.startswith("."):
                continue
            if p.is_dir():
                stack.append(p)
            elif p.suffix.lower() in VIDEO_EXTENSIONS:
                videos.append(p)
            elif p.suffix.lower() in IMAGE_EXTENSIONS and d == folder:
                others.append(p)  # loose images in the top folder are not a video
            elif p.suffix.lower() not in (".txt", ".csv", ".json", ".md"):
                others.append(p)
    key = lambda p: natural_key(str(p))  # noqa: E731
    return sorted(videos, key=key), sorted(frame_dirs, key=key), sorted(others, key=key)


def detect_layout(folder: Path) -> str:
    names = {p.name for p in folder.iterdir()} if folder.is_dir() else set()
    if {"train", "test"} <= names and (folder / "train").is_dir():
        return "taichi"
    if any(re.fullmatch(r"S\d+", n) and (folder / n).is_dir() for n in names):
        return "h36m"
    stems = [Path(n).stem for n in names]
    if stems and any(re.fullmatch(r"VID_\d+_\d+", s) for s in stems):
        return "pokingplants"
    if stems and any(re.fullmatch(r"\d{3}_\d+_\d+", s) for s in stems):
        return "iper"
    return "folder"


def _group(layout: str, src: VideoSource) -> str:
    """What must stay within one split: the plant (PokingPlants), the actor (iPER), else the video."""
    stem = src.path.name if src.is_folder else src.path.stem
    if layout == "pokingplants" and (m := re.fullmatch(r"VID_(\d+)_(\d+)", stem)):
        return m.group(1)
    if layout == "iper" and (m := re.fullmatch(r"(\d{3})_(\d+)_(\d+)", stem)):
        return m.group(1)
    return src.id


def _read_id_list(path: Path) -> set[str]:
    return {re.sub(r"[/\\]", "_", line.strip().rstrip("/")) for line in path.read_text().splitlines() if line.strip()}


def discover(folder: str | Path, layout: str = "auto") -> tuple[list[VideoSource], list[str], str]:
    """The videos of ``folder`` with their split; returns ``(sources, warnings, layout used)``."""
    folder = Path(folder)
    if layout not in LAYOUTS:
        raise SourceError(f"unknown layout {layout!r}; choose from {', '.join(LAYOUTS)}")
    if not folder.exists():
        raise SourceError(f"input folder {folder} does not exist")
    if not folder.is_dir():
        raise SourceError(f"input {folder} is not a folder (give the folder that holds the videos)")
    if layout == "auto":
        layout = detect_layout(folder)
    videos, frame_dirs, others = scan(folder)
    items = [(p, False) for p in videos] + [(p, True) for p in frame_dirs]
    if not items and _has_images(folder):  # the input is itself one frame folder
        items, others = [(folder, True)], [p for p in others if p.suffix.lower() not in IMAGE_EXTENSIONS]
    warnings = []
    if others:
        shown = ", ".join(p.name for p in others[:3]) + (", ..." if len(others) > 3 else "")
        warnings.append(f"skipping {len(others)} file(s) that are neither videos nor frame folders ({shown})")
    if not items:
        raise SourceError(
            f"no videos ({', '.join(VIDEO_EXTENSIONS)}) or frame folders found in {folder}"
            + (f" ({len(others)} other file(s) ignored)" if others else " (the folder is empty)")
        )
    sources = []
    split_files = {}
    for name in ("train.txt", "test.txt", "val.txt"):
        if (folder / name).is_file():
            split_files[name] = _read_id_list(folder / name)
    for path, is_folder in items:
        rel = path.relative_to(folder) if path != folder else Path(folder.name)
        vid = _safe_id(rel)
        stem = path.stem if not is_folder else path.name
        split = None
        if layout == "taichi":
            top = rel.parts[0]
            if top not in ("train", "test"):
                warnings.append(f"{rel}: outside train/ and test/; skipped")
                continue
            split = top
        elif layout == "h36m":
            subject = next((p for p in rel.parts if re.fullmatch(r"S\d+", p)), None)
            if subject is None:
                warnings.append(f"{rel}: not inside a subject folder S<k>; skipped")
                continue
            if "_ALL" in path.name:
                continue
            split = "test" if subject in H36M_TEST_SUBJECTS else "train"
        elif layout == "pokingplants":
            m = re.fullmatch(r"VID_(\d+)_(\d+)", stem)
            split = _hash_split("plant" + m.group(1)) if m else _hash_split(vid)
        elif layout == "iper":
            m = re.fullmatch(r"(\d{3})_(\d+)_(\d+)", stem)
            if split_files and m:
                test_ids = split_files.get("val.txt", set()) | split_files.get("test.txt", set())
                split = "test" if stem in test_ids else "train"
            else:
                split = _hash_split("actor" + m.group(1)) if m else _hash_split(vid)
        else:
            if "test.txt" in split_files or "train.txt" in split_files:
                test_ids = split_files.get("test.txt", set()) | split_files.get("val.txt", set())
                split = "test" if (vid in test_ids or stem in test_ids) else "train"
            else:
                split = _hash_split(vid)
        sources.append(VideoSource(vid, path, is_folder, split))
    if not sources:
        raise SourceError(f"no usable videos in {folder} for layout {layout!r}")
    # small folders: the hash may leave a split empty; then the first group (plant, actor or video)
    # trains and the last one tests, whole groups at a time so that no plant or actor is in both
    if layout in ("folder", "pokingplants", "iper") and not split_files:
        groups = [_group(layout, s) for s in sources]
        if all(s.split == "test" for s in sources):
            sources = [VideoSource(s.id, s.path, s.is_folder, "train" if g == groups[0] else s.split)
                       for s, g in zip(sources, groups)]
        if len(set(groups)) >= 2 and all(s.split == "train" for s in sources):
            sources = [VideoSource(s.id, s.path, s.is_folder, "test" if g == groups[-1] else s.split)
                       for s, g in zip(sources, groups)]
    ids = [s.id for s in sources]
    if len(set(ids)) != len(ids):
        raise SourceError(f"two inputs in {folder} map to the same id; rename them apart")
    return sources, warnings, layout
