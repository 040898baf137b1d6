"""Preparing real videos (``ipoke prepare``): decode, crop, resize, cache DIS flow, write the layout.

For every video of the input folder (see ``ipoke_core.data.sources`` for the layouts) this writes
``clips/<id>/`` with the frames at R x R (every ``frame_step``-th source frame), the first -> last
flow of every window of each requested span (``flow_w<W>.npy``, float16, computed once), the
per-frame-pair motion of Eq. 10 (``step_motion.npy``) and ``info.json``. A clip folder appears
only when complete (and a flow cache added to a prepared clip only when complete), so an interrupted
run resumes where it stopped: run the same command again. A full disk is the one-line ``no space left``
error, never a crash: flow caches are claimed on disk before they are computed and written with plain
writes, not through a memory map (which dies with SIGBUS when the disk fills up). A failed run leaves an
earlier data set as it was and removes a new one that got no clip.

Bad inputs never stop the whole run when the rest can go on: a file that is not a video, a video
that cannot be decoded, one that decodes only part way (the decoded part is kept), a one-frame
video, a video shorter than one window, a frame folder with frames of different sizes: each is
skipped or cut with a warning naming it, and listed in ``dataset.json`` under ``skipped``.
"""
from __future__ import annotations

import contextlib
import errno
import io
import json
import os
import shutil
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from ipoke_core.data.layout import (
    FRAMES, INFO, STEP_MOTION, DatasetError, clip_dir, flow_name, foreground_magnitudes, poke_stats,
    read_dataset_meta, read_split, write_dataset_meta, write_split,
)
from ipoke_core.data.sources import discover
from ipoke_core.data.video import VideoError, read_frame_folder, read_video_file
from ipoke_core.errors import UserError
from ipoke_core.flow import make_dis
from ipoke_core.io_utils import atomic_write_text, ensure_writable_dir, is_no_space, no_space_error, output_error
from ipoke_core.progress import CancelToken, ProgressFn, check, report

WarnFn = Callable[[str], None]


class PrepareError(UserError, ValueError):
    """The preparation cannot run as asked; the message says why."""


def _gray(frames: np.ndarray) -> list[np.ndarray]:
    return [cv2.cvtColor(np.asarray(f), cv2.COLOR_RGB2GRAY) for f in frames]


def _reserve(f, size: int) -> None:
    """Claim ``size`` bytes on disk for the open file ``f`` now, so that a full disk shows before any flow
    is computed, as ``OSError(ENOSPC)``. Where the file system cannot (no ``posix_fallocate``, or it refuses
    with EOPNOTSUPP / EINVAL) nothing is claimed: the plain writes that follow report a full disk too."""
    fallocate = getattr(os, "posix_fallocate", None)
    if fallocate is None:
        return
    try:
        fallocate(f.fileno(), 0, size)
    except OSError as e:
        if e.errno in (errno.ENOSPC, errno.EDQUOT):
            raise


def write_window_flows(path: Path, frames: np.ndarray, span: int, starts: list[int]) -> np.ndarray:
    """DIS flow from frame s to s + span for every s in ``starts``, written to ``path`` as
    ``(len(starts), R, R, 2) float16`` ``.npy``, one window at a time (long videos never sit in memory).
    Returns a few of the flows (float32) for statistics.

    The file is written under a temporary name next to ``path`` and renamed when complete, so an
    interrupted or failed write never leaves a cache that looks valid. Its full size is claimed on disk
    first and it is written with plain file writes, never through a memory map: a full disk is an
    ``OSError(ENOSPC)`` (early, from the claim, or from a write or the final fsync), not a SIGBUS that
    kills the process. On any error the temporary file is removed and ``path`` is left as it was."""
    path = Path(path)
    r = frames.shape[1]
    dtype = np.dtype("<f2")
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": np.lib.format.dtype_to_descr(dtype),
                                                  "fortran_order": False, "shape": (len(starts), r, r, 2)})
    size = header.tell() + len(starts) * r * r * 2 * dtype.itemsize
    dis = make_dis("medium", small=r <= 160)
    keep_every = max(1, len(starts) // 8)
    kept = []
    gray_cache: dict[int, np.ndarray] = {}

    def g(i: int) -> np.ndarray:
        if i not in gray_cache:
            if len(gray_cache) > 4 * span + 8:
                gray_cache.pop(next(iter(gray_cache)))
            gray_cache[i] = cv2.cvtColor(np.asarray(frames[i]), cv2.COLOR_RGB2GRAY)
        return gray_cache[i]

    # one fixed temporary name per cache: a run killed mid-write leaves it, the next run writes over it
    tmp = path.with_name(f".{path.stem}.tmp.npy")
    try:
        with open(tmp, "wb") as f:
            _reserve(f, size)
            f.write(header.getvalue())
            for k, s in enumerate(starts):
                flow = dis.calc(g(s), g(s + span), None)
                f.write(np.ascontiguousarray(flow, dtype).data)
                if k % keep_every == 0:
                    kept.append(flow)
            f.flush()
            os.fsync(f.fileno())  # a full disk can show only here (delayed allocation)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    return np.stack(kept) if kept else np.zeros((0, r, r, 2), np.float32)


def _write_flow_cache(path: Path, frames: np.ndarray, span: int, starts: list[int]) -> None:
    """``write_window_flows`` into a prepared clip folder; a full disk is the one-line ``no space left``
    error naming ``path`` (which keeps its earlier contents, if any)."""
    try:
        write_window_flows(path, frames, span, starts)
    except OSError as e:
        if isinstance(e, UserError):
            raise
        raise output_error(path, e) from None


def _failed_writing(error: BaseException, folder: Path) -> bool:
    """Whether ``error`` is the OS refusing a write into ``folder`` (not a bad input file, which the
    readers report with its own name)."""
    if not isinstance(error, OSError) or isinstance(error, UserError):
        return False
    name = getattr(error, "filename", None)
    return name is None or str(name).startswith(str(folder))


def step_motion_dis(frames: np.ndarray) -> np.ndarray:
    """Spatial mean of |DIS flow(t -> t+1)| for every frame pair: ``(N - 1,) float32`` (App. B, Eq. 10)."""
    dis = make_dis("medium", small=frames.shape[1] <= 160)
    gray = _gray(frames)
    out = np.empty(len(frames) - 1, np.float32)
    for t in range(len(frames) - 1):
        f = dis.calc(gray[t], gray[t + 1], None)
        out[t] = float(np.hypot(f[..., 0], f[..., 1]).mean())
    return out


def window_starts(n_frames: int, span: int, mode: str) -> list[int]:
    return [0] if mode == "first" else list(range(0, n_frames - span))


def _flow_ok(path: Path, n_windows: int, r: int) -> bool:
    try:
        a = np.load(path, mmap_mode="r")
    except (FileNotFoundError, ValueError, OSError):
        return False
    return a.shape == (n_windows, r, r, 2)


def prepare_videos(
    input_dir: str | Path,
    out: str | Path,
    size: int = 64,
    layout: str = "auto",
    frame_step: int = 1,
    spans: tuple[int, ...] = (10,),
    progress: ProgressFn | None = None,
    cancel: CancelToken | None = None,
    warn: WarnFn | None = None,
    seed: int = 0,
) -> dict[str, Any]:
    """Prepare (or resume preparing) the videos of ``input_dir`` into the data set folder ``out``."""
    warn = warn or (lambda msg: None)
    if size < 16 or size > 1024:
        raise PrepareError(f"--size must be in [16, 1024], got {size}")
    if frame_step < 1:
        raise PrepareError(f"--frame-step must be >= 1, got {frame_step}")
    spans = tuple(sorted({int(s) for s in spans}))
    if not spans or spans[0] < 1:
        raise PrepareError(f"--span values must be >= 1, got {list(spans)}")
    sources, warnings, used_layout = discover(input_dir, layout)
    for w in warnings:
        warn(w)
    root = Path(out)
    if root.resolve() == Path(input_dir).resolve():
        raise PrepareError("--out must differ from --input")
    root_is_new = not root.exists()
    ensure_writable_dir(root)
    meta: dict[str, Any] = {
        "kind": "video", "resolution": size, "n_frames": None, "fps": None, "seed": seed, "has_ground_truth": False,
        "source": str(Path(input_dir).resolve()), "layout": used_layout, "frame_step": frame_step,
        "window_starts": "all", "flow_spans": list(spans), "flow_method": "OpenCV DIS (medium preset)",
        "step_motion_source": "DIS flow", "complete": False,
    }
    existing = root / "dataset.json"
    had_dataset = existing.exists()
    old_text = None
    if had_dataset:
        try:
            old_text = existing.read_text()
            old = json.loads(old_text)
        except (OSError, json.JSONDecodeError):
            raise PrepareError(f"{existing} is unreadable; choose an empty output folder") from None
        diff = [k for k in ("kind", "resolution", "frame_step", "layout") if old.get(k) != meta[k]]
        if diff:
            raise PrepareError(f"{root} already holds a data set prepared with "
                               f"{', '.join(f'{k}={old.get(k)!r}' for k in diff)}; use another --out or the same settings")
        meta["flow_spans"] = sorted(set(spans) | set(old.get("flow_spans", [])))
    elif any(root.iterdir()):
        raise PrepareError(f"output folder {root} is not empty and holds no data set; choose an empty folder")
    try:
        write_dataset_meta(root, meta)
        (root / "clips").mkdir(exist_ok=True)
        all_spans = tuple(meta["flow_spans"])
        need = max(all_spans) + 1
        done: dict[str, str] = {}
        skipped: list[dict[str, str]] = []
        samples: list[float] = []
        fps_values: list[float] = []
        report(progress, 0, len(sources), "videos")
        for k, src in enumerate(sources):
            check(cancel)
            final = clip_dir(root, src.id)
            _remove_stale_temporaries(final)
            try:
                if (final / INFO).is_file():  # prepared by an earlier run: only fill in missing flow spans
                    info = json.loads((final / INFO).read_text())
                    frames = np.load(final / FRAMES, mmap_mode="r")
                    for span in all_spans:
                        starts = window_starts(len(frames), span, "all")
                        if not _flow_ok(final / flow_name(span), len(starts), size):
                            _write_flow_cache(final / flow_name(span), frames, span, starts)
                else:
                    info = _prepare_one(src, final, size, frame_step, all_spans, need, seed, warn)
            except VideoError as e:
                warn(f"{e}; skipped")
                skipped.append({"id": src.id, "reason": str(e)})
                report(progress, k + 1, len(sources), "videos")
                continue
            done[src.id] = src.split
            samples += info.get("fg_magnitudes", [])
            if info.get("fps"):
                fps_values.append(float(info["fps"]))
            report(progress, k + 1, len(sources), "videos")
    except BaseException:
        # stopped (a full disk, an interrupt): clip folders finished so far stay for a rerun to pick up; a
        # new data set without any clip is removed again, an earlier one keeps its dataset.json (it stays
        # usable as it was instead of "incomplete" until the disk has room again)
        if old_text is None:
            _remove_empty_dataset(root, root_is_new)
        else:
            with contextlib.suppress(OSError):
                atomic_write_text(existing, old_text)
        raise
    if not done:
        if not had_dataset:  # the folder was new or empty: leave it as it was, not as an empty data set
            _remove_empty_dataset(root, root_is_new)
        reasons = "; ".join(s["reason"] for s in skipped[:3])
        raise PrepareError(f"none of the {len(sources)} inputs in {input_dir} could be used ({reasons})")
    ids = list(done)
    write_split(root, "train", [i for i in ids if done[i] == "train"])
    write_split(root, "test", [i for i in ids if done[i] == "test"])
    if not any(done[i] == "test" for i in ids):
        warn("the test split is empty (too few videos); evaluation will need another data set")
    meta.update({
        "fps": round(float(np.median(fps_values)) / frame_step, 3) if fps_values else None,
        "n_clips": len(ids), "skipped": skipped, "poke_stats": poke_stats(samples, all_spans[0]), "complete": True,
    })
    write_dataset_meta(root, meta)
    return {"format": "ipoke-dataset", "version": 1, **meta}


def _remove_empty_dataset(root: Path, root_is_new: bool) -> None:
    """Undo a preparation that kept no video: its ``dataset.json`` and empty ``clips/`` (and ``root``
    itself when this run created it) would otherwise look like a data set. Nothing else is touched."""
    clips = root / "clips"
    if clips.is_dir() and not any(clips.iterdir()):
        clips.rmdir()
    if not clips.exists():
        (root / "dataset.json").unlink(missing_ok=True)
    if root_is_new and not any(root.iterdir()):
        root.rmdir()


def _remove_stale_temporaries(final: Path) -> None:
    """Remove the half-written ``.<id>.tmp<PID>`` folders of ``final`` that earlier runs left when they were
    killed (another live run's folder is kept: two runs into one folder must not break each other)."""
    prefix = f".{final.name}.tmp"
    try:
        entries = list(final.parent.iterdir())
    except OSError:
        return
    for entry in entries:
        pid = entry.name[len(prefix):]
        if not (entry.name.startswith(prefix) and pid.isdigit() and entry.is_dir()):
            continue
        if int(pid) != os.getpid():
            try:
                os.kill(int(pid), 0)
                continue  # that run is still going
            except ProcessLookupError:
                pass
            except OSError:  # e.g. another user's process: leave it
                continue
        shutil.rmtree(entry, ignore_errors=True)


def _prepare_one(src, final: Path, size: int, frame_step: int, spans: tuple[int, ...], need: int, seed: int,
                 warn: WarnFn) -> dict[str, Any]:
    """Decode one video and write its clip folder atomically; raises VideoError to skip it."""
    if src.is_folder:
        video = read_frame_folder(src.path, size, frame_step)
    else:
        video = read_video_file(src.path, size, frame_step)
    for w in video.warnings:
        warn(w)
    n = len(video.frames)
    # why the frames ended early (a frame of another size, an unreadable one), or nothing if they simply ran out
    why = f" (it ends early: {video.warnings[-1]})" if video.warnings else ""
    if n < 2:
        raise VideoError(f"{src.path}: only one frame; a video needs at least {need} frames"
                         f"{f' at --frame-step {frame_step}' if frame_step > 1 else ''}{why}")
    if n < need:
        raise VideoError(f"{src.path}: {n} frames{f' (at --frame-step {frame_step})' if frame_step > 1 else ''}, "
                         f"shorter than one window of {need} frames{why}")
    tmp = final.parent / f".{final.name}.tmp{os.getpid()}"
    try:
        tmp.mkdir(parents=True)
        np.save(tmp / FRAMES, video.frames)
        samples: list[float] = []
        rng = np.random.default_rng([seed, zlib.crc32(src.id.encode())])
        for i, span in enumerate(spans):
            kept = write_window_flows(tmp / flow_name(span), video.frames, span, window_starts(n, span, "all"))
            if i == 0:
                for f in kept:
                    samples += foreground_magnitudes(f, rng, n=8)
        np.save(tmp / STEP_MOTION, step_motion_dis(video.frames))
        info = {"n_frames": n, "source": str(src.path), "fps": video.fps, "source_size": video.source_size,
                "frame_step": frame_step, "warnings": video.warnings, "fg_magnitudes": samples}
        (tmp / INFO).write_text(json.dumps(info) + "\n")
        if final.exists():
            shutil.rmtree(final)
        os.replace(tmp, final)
    except BaseException as e:
        full = is_no_space(e, tmp.parent)  # asked before the half-written folder frees the space again
        shutil.rmtree(tmp, ignore_errors=True)
        if full:
            raise no_space_error(final) from None
        if _failed_writing(e, tmp):  # EIO, EACCES, EROFS, ... on our own output: one line too
            raise output_error(final, e) from None
        raise
    return info


def ensure_flow(root: str | Path, span: int, progress: ProgressFn | None = None,
                cancel: CancelToken | None = None) -> int:
    """Compute the flow cache of ``span`` for every clip of a prepared or synthetic data set that
    lacks it (or holds one of the wrong shape, e.g. from another resolution); returns how many
    clips were computed. Adds ``span`` to ``dataset.json``'s ``flow_spans``."""
    meta = read_dataset_meta(root)
    if span < 1:
        raise PrepareError(f"--span must be >= 1, got {span}")
    r, mode = int(meta["resolution"]), meta["window_starts"]
    ids = read_split(root, "train") + read_split(root, "test")
    computed = 0
    report(progress, 0, len(ids), "clips")
    for k, cid in enumerate(ids):
        check(cancel)
        d = clip_dir(root, cid)
        frames = np.load(d / FRAMES, mmap_mode="r")
        if len(frames) <= span:
            report(progress, k + 1, len(ids), "clips")
            continue  # too short for this span; the dataset skips it with a warning
        starts = window_starts(len(frames), span, mode)
        path = d / flow_name(span)
        if not _flow_ok(path, len(starts), r):
            _write_flow_cache(path, frames, span, starts)
            computed += 1
        report(progress, k + 1, len(ids), "clips")
    if span not in meta["flow_spans"]:
        meta["flow_spans"] = sorted(set(meta["flow_spans"]) | {span})
        meta.pop("format", None)
        meta.pop("version", None)
        write_dataset_meta(root, meta)
    return computed


__all__ = ["DatasetError", "PrepareError", "ensure_flow", "prepare_videos", "step_motion_dis", "write_window_flows"]
