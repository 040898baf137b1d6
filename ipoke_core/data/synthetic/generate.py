"""Writing a synthetic data set (``ipoke synth``) in the shared on-disk layout.

``generate_dataset(out, kind, n, size, frames, seed, workers)`` makes clips 0..n-1 in a process
pool; each worker writes its clips itself (frames, DIS flow cache, step motion, ground truth,
info) into a temporary folder that is renamed when complete. Running it again on the same folder
with the same parameters resumes: finished clips are kept (they would come out identical, since
clip i depends only on (kind, seed, i, pushes, props)). The split is by object: every tenth object
(9, 19, ...) is a test object, with all its ``pushes`` clips (``clip.py``), so that no object is
seen in training and tested on.
"""
from __future__ import annotations

import errno
import json
import math
import multiprocessing as mp
import os
import shutil
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from ipoke_core.data.ground_truth import save_ground_truth
from ipoke_core.data.layout import (
    FRAMES, GT, INFO, STEP_MOTION, DatasetError, clip_dir, flow_name, foreground_magnitudes, poke_stats,
    write_dataset_meta, write_split,
)
from ipoke_core.data.synthetic.clip import DEFAULT_FPS, KINDS, PUSH_DIRECTIONS, make_clip, object_motion
from ipoke_core.errors import UserError
from ipoke_core.flow import make_dis
from ipoke_core.io_utils import ensure_writable_dir, is_no_space, no_space_error
from ipoke_core.progress import CancelToken, ProgressFn, check, report

# dataset.json fields that must match for a run to resume into an existing folder
_IDENTITY = ("kind", "resolution", "n_frames", "seed", "fps", "wind", "generator_version", "pushes", "props",
             "push_directions")
# what a data set written before these fields existed holds
_IDENTITY_DEFAULTS = {"pushes": 1, "props": 0, "push_directions": "across"}
MAX_PROPS = 8  # more would cover most of a 64 px backdrop
GENERATOR_VERSION = 2  # 2: pokes held 0.6-1.2 s (was 0.25-0.9 s), pushing 8-20 % of the size with at most 0.5 rad of summed joint bend (was 6-20 %, 0.6 rad per joint)


class SynthError(UserError, ValueError):
    """Bad arguments to the synthetic generator."""


def clip_id(index: int) -> str:
    return f"{index:06d}"


def split_of(index: int, n: int) -> str:
    """Every tenth clip is a test clip; with fewer than ten clips the last one is (if n >= 2)."""
    if n >= 10:
        return "test" if index % 10 == 9 else "train"
    return "test" if (n >= 2 and index == n - 1) else "train"


def step_motion_from_gt(clip) -> np.ndarray:
    """Spatial mean of the true per-frame motion magnitude, ``(T - 1,)`` (App. B, Eq. 10)."""
    ys, xs = np.nonzero(clip.parts >= 0)
    t = clip.frames.shape[0]
    if len(xs) == 0:
        return np.zeros(t - 1, np.float32)
    m = object_motion(clip.parts[ys, xs].astype(int), xs, ys, clip.starts.astype(np.float64), clip.angles.astype(np.float64))
    step = np.hypot(*(m[1:] - m[:-1]).transpose(2, 0, 1)).sum(1) / clip.parts.size
    return step.astype(np.float32)


def _write_clip(root: Path, index: int, kind: str, seed: int, size: int, n_frames: int, fps: float,
                wind: float, spans: tuple[int, ...], pushes: int = 1, props: int = 0,
                directions: str = "across") -> list[float]:
    """Make clip ``index`` and write its folder atomically; returns its foreground magnitude sample."""
    final = clip_dir(root, clip_id(index))
    if (final / INFO).is_file():
        return json.loads((final / INFO).read_text()).get("fg_magnitudes", [])
    clip = make_clip(kind, seed, index, size, n_frames, fps, wind, pushes, props, directions)
    tmp = final.parent / f".{final.name}.tmp{os.getpid()}"
    if tmp.exists():
        shutil.rmtree(tmp)
    try:
        return _write_clip_files(tmp, final, clip, seed, index, size, n_frames, spans)
    except BaseException as e:
        full = is_no_space(e, tmp.parent)  # asked before the half-written folder frees the space again
        shutil.rmtree(tmp, ignore_errors=True)
        if full:  # the clips written so far stay: a later run with the same settings resumes
            raise no_space_error(final) from None
        raise


def _write_clip_files(tmp: Path, final: Path, clip: Any, seed: int, index: int, size: int, n_frames: int,
                      spans: tuple[int, ...]) -> list[float]:
    """Write clip ``index`` into the folder ``tmp``, then rename it to ``final``."""
    tmp.mkdir(parents=True)
    np.save(tmp / FRAMES, clip.frames)
    # the tuned small-image DIS costs 4x more at 128 px for a median end-point error of 0.23 instead of
    # 0.38 px on object pixels (measured against the ground truth); above 64 px the plain preset is used
    dis = make_dis("medium", small=size <= 64)
    gray = [cv2.cvtColor(f, cv2.COLOR_RGB2GRAY) for f in clip.frames]
    samples: list[float] = []
    for k, span in enumerate(spans):
        flow = dis.calc(gray[0], gray[span], None)
        np.save(tmp / flow_name(span), flow[None].astype(np.float16))
        if k == 0:
            samples = foreground_magnitudes(flow, np.random.default_rng([seed, index, 77]))
    np.save(tmp / STEP_MOTION, step_motion_from_gt(clip))
    save_ground_truth(tmp / GT, clip)
    info = {"n_frames": n_frames, "fg_magnitudes": samples, "poke_part": int(clip.poke["part"]),
            "n_parts": int(len(clip.parents))}
    (tmp / INFO).write_text(json.dumps(info) + "\n")
    _publish(tmp, final)
    return samples


def _publish(tmp: Path, final: Path) -> None:
    """Rename the finished clip folder ``tmp`` to ``final``.

    A complete ``final`` (it has its info file, written last) was written by another ``ipoke synth`` on
    the same ``--out``, running at the same time: it is the same clip (clip i depends only on kind,
    seed, i, pushes and props), so it is kept and ``tmp`` dropped. Two runs on one folder used to
    crash one of them with "Directory not empty" when both finished a clip at once.
    """
    if (final / INFO).is_file():
        shutil.rmtree(tmp, ignore_errors=True)
        return
    if final.exists():  # a stale incomplete folder from an older crash
        shutil.rmtree(final, ignore_errors=True)
    try:
        os.replace(tmp, final)
    except OSError as e:
        if e.errno not in (errno.ENOTEMPTY, errno.EEXIST) or not (final / INFO).is_file():
            raise
        shutil.rmtree(tmp, ignore_errors=True)  # the other run renamed its copy in between


_JOB: dict[str, Any] = {}


def _init_worker(job: dict[str, Any]) -> None:
    cv2.setNumThreads(1)
    _JOB.update(job)


def _work(index: int) -> tuple[int, list[float]]:
    j = _JOB
    return index, _write_clip(j["root"], index, j["kind"], j["seed"], j["size"], j["frames"], j["fps"], j["wind"],
                              j["spans"], j["pushes"], j["props"], j["push_directions"])


def generate_dataset(
    out: str | Path,
    kind: str,
    n: int,
    size: int = 128,
    frames: int = 30,
    seed: int = 0,
    workers: int = 2,
    progress: ProgressFn | None = None,
    cancel: CancelToken | None = None,
    fps: float = DEFAULT_FPS,
    flow_spans: tuple[int, ...] = (10,),
    wind: float = 0.0,
    pushes: int = 1,
    props: int = 0,
    push_directions: str = "across",
) -> dict[str, Any]:
    """Generate (or finish) a synthetic data set of ``n`` clips in ``out``; returns its ``dataset.json``.

    ``pushes``: clips per object, each pushed at its own point; ``props``: up to this many static
    props behind each object; ``push_directions``: ``across`` the poked part or ``any`` way (see ``clip.py``).

    ``progress(done, total, message)`` is called after every clip.
    """
    if kind not in KINDS:
        raise SynthError(f"unknown kind {kind!r}; choose from {', '.join(KINDS)}")
    if n < 1:
        raise SynthError(f"--n must be >= 1, got {n}")
    if size < 32 or size > 1024:
        raise SynthError(f"--size must be in [32, 1024], got {size}")
    if frames < 2:
        raise SynthError(f"--frames must be >= 2, got {frames}")
    spans = tuple(sorted({int(s) for s in flow_spans}))
    if not spans or spans[0] < 1 or spans[-1] >= frames:
        raise SynthError(f"flow spans {list(flow_spans)} must lie in [1, frames - 1 = {frames - 1}]")
    if workers < 1:
        raise SynthError(f"--workers must be >= 1, got {workers}")
    if not (math.isfinite(fps) and fps > 0):
        raise SynthError(f"--fps must be a finite number > 0, got {fps}")
    if seed < 0:  # numpy seeds are unsigned
        raise SynthError(f"--seed must be >= 0, got {seed}")
    if pushes < 1 or pushes > n:
        raise SynthError(f"--pushes must be in [1, --n = {n}], got {pushes}")
    if props < 0 or props > MAX_PROPS:
        raise SynthError(f"--props must be in [0, {MAX_PROPS}], got {props}")
    if push_directions not in PUSH_DIRECTIONS:
        raise SynthError(f"--push-directions must be one of {', '.join(PUSH_DIRECTIONS)}, got {push_directions!r}")
    if not math.isfinite(wind):  # NaN wind would write NaN ground truth without a word
        raise SynthError(f"--wind must be a finite number, got {wind}")
    root = Path(out)
    ensure_writable_dir(root)
    meta = {
        "kind": kind, "resolution": size, "n_frames": frames, "fps": fps, "seed": seed, "wind": wind,
        "generator_version": GENERATOR_VERSION, "has_ground_truth": True,
        "source": f"ipoke synth --kind {kind} --n {n} --size {size} --frames {frames} --seed {seed}"
                  + (f" --pushes {pushes}" if pushes > 1 else "") + (f" --props {props}" if props else "")
                  + (f" --push-directions {push_directions}" if push_directions != "across" else ""),
        "pushes": pushes, "props": props, "push_directions": push_directions,
        "window_starts": "first", "flow_spans": list(spans), "flow_method": "OpenCV DIS (medium preset" + (", tuned for small images)" if size <= 64 else ")"),
        "step_motion_source": "ground truth", "n_clips": n, "complete": False,
    }
    existing = root / "dataset.json"
    if existing.exists():
        try:
            old = json.loads(existing.read_text())
        except (OSError, json.JSONDecodeError):
            raise DatasetError(f"{existing} is unreadable; choose an empty output folder") from None
        diff = [k for k in _IDENTITY if old.get(k, _IDENTITY_DEFAULTS.get(k)) != meta.get(k)]
        if diff:
            raise SynthError(
                f"{root} already holds a different data set ({', '.join(f'{k}={old.get(k)!r}' for k in diff)}); "
                "choose another --out folder or delete it"
            )
        if set(old.get("flow_spans", [])) != set(spans):
            raise SynthError(f"{root} was made with flow spans {old.get('flow_spans')}, not {list(spans)}")
    elif any(root.iterdir()):
        raise SynthError(f"output folder {root} is not empty and holds no data set; choose an empty folder")
    write_dataset_meta(root, meta)
    (root / "clips").mkdir(exist_ok=True)

    job = {"root": root, "kind": kind, "seed": seed, "size": size, "frames": frames, "fps": fps, "wind": wind,
           "spans": spans, "pushes": pushes, "props": props, "push_directions": push_directions}
    samples: dict[int, list[float]] = {}
    report(progress, 0, n, "clips")
    if workers == 1 or n < 4:
        _init_worker(job)
        for i in range(n):
            check(cancel)
            samples[i] = _work(i)[1]
            report(progress, len(samples), n, "clips")
    else:
        # never plain fork: a process that already ran OpenCV or torch on other threads (the app,
        # a test session) hands its children locked thread pools, and cv2.setNumThreads hangs there
        ctx = mp.get_context("forkserver" if "forkserver" in mp.get_all_start_methods() else "spawn")
        with ctx.Pool(workers, initializer=_init_worker, initargs=(job,)) as pool:
            try:
                for i, s in pool.imap_unordered(_work, range(n), chunksize=4):
                    samples[i] = s
                    report(progress, len(samples), n, "clips")
                    check(cancel)
            except BaseException:
                pool.terminate()
                raise
    ids = [clip_id(i) for i in range(n)]
    objects = -(-n // pushes)
    write_split(root, "train", [c for i, c in enumerate(ids) if split_of(i // pushes, objects) == "train"])
    write_split(root, "test", [c for i, c in enumerate(ids) if split_of(i // pushes, objects) == "test"])
    pooled = [v for i in range(n) for v in samples[i]]
    meta.update({"poke_stats": poke_stats(pooled, spans[0]), "complete": True})
    write_dataset_meta(root, meta)
    return {"format": "ipoke-dataset", "version": 1, **meta}
