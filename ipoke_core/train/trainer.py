"""The training loop behind ``ipoke train``: data, schedule, validation, logs, checkpoints, resume.

Schedules (``train.schedule``), counted in iterations, one batch each:

- ``sequential`` (the paper's text): ``stage1_steps`` autoencoder steps, then ``stage2_steps``
  dynamics steps with the object encoder frozen;
- ``alternating`` (the official code): ``stage1_steps`` autoencoder-only warm-up steps (0 is the
  official set-up), then ``stage2_steps`` iterations that each make one stage-1 step and one
  stage-2 step on the same batch with the two optimisers;
- ``single_stage`` (ablation): ``stage2_steps`` stage-2 steps that train everything end to end.

The run folder::

    RUN_DIR/config.toml          effective config (overrides applied, perceptual loss resolved)
    RUN_DIR/run.json             command line, data set, weights files, device, loss choices
    RUN_DIR/train.log            human-readable log
    RUN_DIR/metrics.csv          losses every ``log_every`` steps, validation every ``val_every``
    RUN_DIR/samples/step_XXXXXXXX.png   source + poke / generated / ground truth
    RUN_DIR/state/step_XXXXXXXX.pt      resumable states (newest ``keep_last``)
    RUN_DIR/checkpoints/{last,best}.{safetensors,json}   inference checkpoints for ``Poker``
"""
from __future__ import annotations

import contextlib
import csv
import io
import json
import math
import random
import signal
import sys
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, NoReturn

import numpy as np
import torch
from torch.utils.data import DataLoader, DistributedSampler

from ipoke_core.config import ADDED_MODULES, RENDERING_ONLY, Config
from ipoke_core.errors import UserError
from ipoke_core.image import write_png
from ipoke_core.inference import to_uint8
from ipoke_core.io_utils import atomic_write_text, ensure_writable_dir
from ipoke_core.metrics import psnr, ssim
from ipoke_core.train import distributed
from ipoke_core.train.engine import Batch, Engine, NonFiniteLoss, step_generator
from ipoke_core.train.losses import build_perceptual, flow_loss
from ipoke_core.train.run_lock import run_lock
from ipoke_core.train.samples import sample_grid
from ipoke_core.train.state import capture_rng, list_states, load_latest_state, logged_at_or_before, restore_rng, save_state

METRIC_COLUMNS = [
    "step", "stage", "epoch", "wall_s", "samples_per_s",
    "ae_perc", "ae_l1", "ae_grad_norm",
    "loss", "perc", "latent", "g_spatial", "g_temporal", "fm", "grad_norm",
    "d_spatial", "d_temporal", "gp", "d_grad_norm",
    "val_metric", "val_l1", "val_psnr", "val_ssim", "val_ae_l1", "val_bg_motion",
    "flow", "val_flow", "grouping", "part_labels",
]


# a weight this large (or NaN) means the last update diverged; trained weights are of order 1
DIVERGED_WEIGHT = 1e6
BLOWN_UP = "weights"

class TrainingError(UserError):
    """Training cannot start or continue (bad data folder, run folder in use, diverged loss)."""


@dataclass
class TrainOptions:
    """Everything ``ipoke train`` decides before the loop starts."""

    config: Config
    data_dir: Path
    run_dir: Path
    resume: bool = False
    vgg_weights: Path | None = None
    lpips_weights: Path | None = None  # LPIPS linear heads (needs a VGG16 --vgg-weights) for validation
    device: str = "auto"
    until_step: int | None = None  # stop (saving a resumable state) after this step
    max_minutes: float | None = None  # stop (saving) after this much wall time in this session
    command: str = ""
    progress: bool = True
    init_from: Path | None = None  # a checkpoint whose generator weights a new run starts from (fine-tuning)


@dataclass
class TrainResult:
    status: str  # "finished" | "stopped" | "interrupted"
    step: int
    total_steps: int
    run_dir: Path
    last_checkpoint: Path | None = None
    best_checkpoint: Path | None = None
    validation: dict[str, float] = field(default_factory=dict)


def schedule_lengths(cfg: Config) -> tuple[int, int]:
    """``(autoencoder-only iterations at the start, total iterations)`` of the schedule."""
    tc = cfg.train
    if tc.schedule == "single_stage":
        return 0, tc.stage2_steps
    return tc.stage1_steps, tc.stage1_steps + tc.stage2_steps


# what a fine-tuning run copies from its parent's training record (``init_from`` nests the chain)
PARENT_RECORD = ("command", "resumed_with", "data_command", "wall_time_s", "device", "init_from")


def open_dataset(data_dir: Path, cfg: Config, split: str, train: bool):
    """The data package's PokeDataset for this config (poke sampling as in Sec. 3.2 / App. E.2)."""
    from ipoke_core.data import PokeDataset, read_dataset_meta

    source = cfg.data.poke_source
    if source == "auto":
        source = "ground_truth" if read_dataset_meta(data_dir).get("has_ground_truth") else "flow"
    return PokeDataset(
        data_dir, split=split, resolution=cfg.model.resolution, seq_len=cfg.model.seq_len,
        frame_step=cfg.data.frame_step, background_fraction=cfg.data.background_fraction,
        poke_mode=cfg.model.poke_mode, poke_radius=cfg.model.poke_radius, poke_scale=cfg.model.poke_scale,
        seed=cfg.train.seed, train=train, flow_targets=cfg.model.decoder == "warp", poke_source=source,
        # real videos carry no force point: the option is a no-op there, so one config trains on both
        applied_fraction=cfg.data.applied_fraction if source == "ground_truth" else 0.0,
        near_background_fraction=cfg.data.near_background_fraction, near_background_px=cfg.data.near_background_px,
    )


def dataset_info(data_dir: Path) -> dict[str, Any]:
    """The data set's ``dataset.json`` (seed, generator, poke statistics), or {} if unreadable."""
    try:
        from ipoke_core.data import read_dataset_meta

        meta = read_dataset_meta(data_dir)
        return dict(meta) if isinstance(meta, dict) else dict(vars(meta))
    except Exception:  # noqa: BLE001 - the metadata is informative only; PokeDataset validates the folder
        try:
            return json.loads((data_dir / "dataset.json").read_text())
        except (OSError, ValueError):
            return {}


class _Stream:
    """Endless batches with a resumable position: epoch e uses DistributedSampler order (seed, e),
    so iteration i always gets the same batch, before and after a resume."""

    def __init__(self, dataset, batch_size: int, dist: distributed.DistInfo, seed: int, workers: int, pin: bool):
        self.dataset = dataset
        self.batch_size = batch_size
        self.dist = dist
        self.seed = seed
        self.workers = workers
        self.pin = pin
        per_rank = math.ceil(len(dataset) / dist.world_size)
        self.batches_per_epoch = per_rank // batch_size
        if self.batches_per_epoch < 1:
            raise TrainingError(
                f"the training split has {len(dataset)} clips, fewer than batch_size {batch_size} x "
                f"{dist.world_size} process(es); lower train.batch_size or add data"
            )
        self._it = None
        self.epoch = 0

    def start(self, iteration: int) -> None:
        self.epoch, within = divmod(iteration, self.batches_per_epoch)
        self._open(within)

    def _open(self, skip_batches: int) -> None:
        sampler = DistributedSampler(
            self.dataset, num_replicas=self.dist.world_size, rank=self.dist.rank, shuffle=True, seed=self.seed
        )
        sampler.set_epoch(self.epoch)
        indices = list(sampler)[skip_batches * self.batch_size :]
        if hasattr(self.dataset, "set_epoch"):
            self.dataset.set_epoch(self.epoch)
        loader = DataLoader(
            self.dataset, batch_size=self.batch_size, sampler=indices, num_workers=self.workers,
            pin_memory=self.pin, drop_last=True, persistent_workers=False,
        )
        self._it = iter(loader)

    def next(self) -> dict:
        try:
            return next(self._it)
        except StopIteration:
            self.epoch += 1
            self._open(0)
            return next(self._it)


class _LossMeter:
    """Sums the step losses between two log rows; ``take`` returns their means (averaged over ranks)."""

    def __init__(self) -> None:
        self._reset()

    def _reset(self) -> None:
        self.sums: dict[str, torch.Tensor] = {}
        self.steps = 0
        self.t0 = time.time()

    def add(self, losses: dict[str, torch.Tensor]) -> None:
        for k, v in losses.items():
            self.sums[k] = self.sums.get(k, 0.0) + v.detach().float()
        self.steps += 1

    def take(self, dist: distributed.DistInfo) -> tuple[dict[str, float], int, float]:
        """``(mean losses, steps, seconds)`` since the last call; then starts over."""
        values: dict[str, float] = {}
        if self.sums:
            keys = sorted(self.sums)
            vec = distributed.all_reduce_mean(torch.stack([self.sums[k] / self.steps for k in keys]), dist)
            values = dict(zip(keys, vec.tolist()))
        out = (values, self.steps, time.time() - self.t0)
        self._reset()
        return out


class Trainer:
    def __init__(self, opts: TrainOptions):
        self.opts = opts
        self.cfg = opts.config
        self.run_dir = opts.run_dir
        self.dist = distributed.setup(opts.device)
        self.main = self.dist.is_main
        self.stage1_iters, self.total = schedule_lengths(self.cfg)
        # built by _build() (models, losses, data) and _prepare_run_dir() / _restore() (run folder, state)
        self.engine: Engine | None = None
        self.perceptual = None
        self.val_distance = None
        self.val_metric_name = ""
        self.val_split = ""
        self.val_batches: list[dict] = []
        self.data_meta: dict[str, Any] = {}
        self.train_set = None
        self.stream: _Stream | None = None
        self.run_info: dict[str, Any] = {}
        self.poke_range = [0.0, 0.0]
        self.best: dict[str, Any] = {}
        self.last_val: dict[str, float] = {}
        self.last_ckpt: Path | None = None
        self._resumed_from: Path | None = None
        self._init_weights: tuple[dict[str, torch.Tensor], dict[str, Any]] | None = None  # --init-from
        self._wall_before = 0.0  # training seconds of earlier sessions of this run
        self._t_session = time.time()
        self._stop_reason: str | None = None  # set by the signal handler
        self._log_file = None
        self._pbar = None

    # ------------------------------------------------------------------ set-up
    def _prepare_run_dir(self) -> dict[str, Any]:
        """Check/create the run folder; return the saved state when resuming."""
        states = list_states(self.run_dir)
        if not self.opts.resume and (states or (self.run_dir / "config.toml").exists()):
            raise TrainingError(
                f"{self.run_dir} already holds a training run; pass --resume to continue it or choose another --out"
            )
        if self.main:
            ensure_writable_dir(self.run_dir)
            for sub in ("samples", "state", "checkpoints"):
                ensure_writable_dir(self.run_dir / sub)
        distributed.barrier(self.dist)
        if self.opts.resume:
            state, path = load_latest_state(self.run_dir)
            self._resumed_from = path
            return state
        return {}

    def _build(self) -> None:
        cfg, tc = self.cfg, self.cfg.train
        vgg = self.opts.vgg_weights
        self.perceptual = build_perceptual(tc.perceptual, vgg)
        tc.perceptual = "vgg" if vgg is not None else "fallback"
        torch.manual_seed(tc.seed)  # identical initial weights on every rank
        random.seed(tc.seed)
        np.random.seed(tc.seed)
        self.engine = Engine(cfg, self.dist, self.perceptual)
        torch.manual_seed(tc.seed + self.dist.rank)
        if self.dist.device.type == "cuda":
            torch.backends.cudnn.benchmark = True
            torch.backends.cuda.matmul.allow_tf32 = True
            torch.backends.cudnn.allow_tf32 = True
        # validation distance: LPIPS when its weights are given, else the training perceptual distance
        self.val_metric_name = self.perceptual.name
        self.val_distance = self.perceptual
        if self.opts.lpips_weights is not None:
            if vgg is None:
                raise TrainingError("--lpips-weights needs --vgg-weights (the LPIPS VGG16 trunk)")
            from ipoke_core.metrics.lpips import LPIPS

            lp = LPIPS.from_files(vgg, self.opts.lpips_weights, device=str(self.dist.device))
            self.val_distance = lambda a, b: lp(a, b).mean()
            self.val_metric_name = "lpips"

        data_dir = self.opts.data_dir
        if not (data_dir / "dataset.json").is_file():
            raise TrainingError(
                f"no data set at {data_dir} (expected {data_dir}/dataset.json); "
                "make one with `ipoke synth` or `ipoke prepare`"
            )
        self.data_meta = dataset_info(data_dir)
        train_set = open_dataset(data_dir, cfg, "train", train=True)
        if len(train_set) == 0:
            raise TrainingError(f"{data_dir}: the training split is empty")
        self.train_set = train_set
        workers = tc.num_workers if sys.platform != "win32" else 0
        self.stream = _Stream(train_set, tc.batch_size, self.dist, tc.seed, workers, self.dist.device.type == "cuda")
        self.val_batches = self._load_val_batches() if self.main else []
        if self.opts.init_from is not None and not self.opts.resume:
            self._init_weights = self._load_init_checkpoint(self.opts.init_from)

    def _load_val_batches(self) -> list[dict]:
        cfg = self.cfg
        val_set = open_dataset(self.opts.data_dir, cfg, "test", train=False)
        self.val_split = "test"
        if len(val_set) == 0:
            val_set = open_dataset(self.opts.data_dir, cfg, "train", train=False)
            self.val_split = "train (the test split is empty)"
        loader = DataLoader(val_set, batch_size=min(cfg.train.batch_size, 16), shuffle=False, num_workers=0)
        out = []
        for i, items in enumerate(loader):
            if i >= max(1, cfg.train.val_batches):
                break
            out.append(items)
        return out

    def _poke_magnitude_range(self) -> list[float]:
        """Typical foreground poke lengths in model pixels: 5th-95th percentile over (up to 256) training
        clips' evaluation pokes, which the GUI and heatmaps use as their default range. (64 clips, as
        before 2026-11-26, put the 95th percentile of one plant data set anywhere from 4.2 to 9.7 px.)"""
        probe = open_dataset(self.opts.data_dir, self.cfg, "train", train=False)
        n = len(probe)
        mags = []
        for i in np.linspace(0, n - 1, min(n, 256)).round().astype(int).tolist():
            item = probe[i]
            if not bool(item["is_background"]):
                mags.append(float(torch.as_tensor(item["poke"])[2:].norm()))
        if not mags:
            return [1.0, float(self.cfg.model.poke_scale)]
        return [round(float(np.percentile(mags, 5)), 3), round(float(np.percentile(mags, 95)), 3)]

    def _load_init_checkpoint(self, path: Path) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
        """The generator weights and sidecar of ``--init-from``, checked against this run's model section
        (in ``_build``, before the run folder is written: a wrong checkpoint leaves nothing behind)."""
        from ipoke_core.checkpoint import load_checkpoint

        model, meta = load_checkpoint(path)
        mine, theirs = asdict(self.cfg.model), asdict(model.cfg)
        differ = [k for k in sorted(set(mine) | set(theirs)) if k not in RENDERING_ONLY and mine.get(k) != theirs.get(k)
                  and not (k in ADDED_MODULES and not theirs.get(k))]
        if differ:
            diff = ", ".join(f"model.{k}: {theirs.get(k)!r} there, {mine.get(k)!r} here" for k in differ)
            raise TrainingError(f"--init-from {path}: its architecture differs from the config's ({diff})")
        return model.state_dict(), meta

    def _init_from_checkpoint(self, path: Path) -> None:
        """Start from the ``--init-from`` weights loaded by ``_build``; record where the run started."""
        from ipoke_core.quality import trained_steps

        weights, meta = self._init_weights
        self.engine.load_weights(weights)
        training = meta.get("training") if isinstance(meta.get("training"), dict) else {}
        if self.main:
            total, _ = trained_steps(meta)
            # with how the parent was made, so that the sidecar alone reproduces the whole chain
            self.run_info["init_from"] = {"checkpoint": str(Path(path).resolve()), "steps": training.get("steps"),
                                          "total_steps": total, "weights_sha256": meta.get("weights_sha256"),
                                          **{k: training[k] for k in PARENT_RECORD if k in training}}
            atomic_write_text(self.run_dir / "run.json", json.dumps(self.run_info, indent=2))
        self.log(f"generator initialised from {path} ({training.get('steps', '?')} steps trained)")

    # ------------------------------------------------------------------ logging
    def log(self, msg: str) -> None:
        if not self.main:
            return
        line = f"[{time.strftime('%Y-%m-%d %H:%M:%S')}] {msg}"
        if self._log_file is not None:
            self._log_file.write(line + "\n")
            self._log_file.flush()
        if self._pbar is not None:
            self._pbar.write(msg, file=sys.stderr)
        elif self.opts.progress:
            print(msg, file=sys.stderr)

    def _metrics_csv(self, resumed_step: int | None) -> None:
        """Create metrics.csv, or cut rows logged after the resumed state (a killed run may have logged them)."""
        path = self.run_dir / "metrics.csv"
        rows = []
        if resumed_step is not None and path.exists():
            with open(path, newline="") as f:
                rows = [r for r in csv.DictReader(f) if logged_at_or_before(r, resumed_step)]
        buf = io.StringIO()
        writer = csv.DictWriter(buf, METRIC_COLUMNS, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
        atomic_write_text(path, buf.getvalue())

    def _append_metrics(self, row: dict[str, Any]) -> None:
        with open(self.run_dir / "metrics.csv", "a", newline="") as f:
            csv.DictWriter(f, METRIC_COLUMNS, extrasaction="ignore").writerow(
                {k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in row.items()}
            )

    def _write_run_info(self) -> None:
        dev = self.dist.device
        info = {
            "command": self.opts.command,
            "data_dir": str(self.opts.data_dir.resolve()),
            "data_seed": self.data_meta.get("seed"),
            "data_generator": self.data_meta.get("generator", self.data_meta.get("kind")),
            "train_clips": len(self.train_set),
            "validation_split": self.val_split,
            "vgg_weights": str(self.opts.vgg_weights.resolve()) if self.opts.vgg_weights else None,
            "lpips_weights": str(self.opts.lpips_weights.resolve()) if self.opts.lpips_weights else None,
            "perceptual_loss": self.perceptual.name,
            "validation_metric": self.val_metric_name,
            "device": _device_name(dev),
            "world_size": self.dist.world_size,
            "amp": str(self.engine.amp_dtype).replace("torch.", "") if self.engine.amp_dtype else "off",
            "channels_last": self.engine.channels_last,
            "compile": bool(self.cfg.train.compile),
            "started": time.strftime("%Y-%m-%dT%H:%M:%S"),
        }
        path = self.run_dir / "run.json"
        if path.exists():  # keep the history of sessions of a resumed run
            try:
                old = json.loads(path.read_text())
                info["sessions"] = old.get("sessions", [old.get("command", "")]) + [self.opts.command]
                info["first_started"] = old.get("first_started", old.get("started"))
                if "init_from" in old:
                    info["init_from"] = old["init_from"]
            except (OSError, ValueError):
                pass
        atomic_write_text(path, json.dumps(info, indent=2))
        self.run_info = info

    # ------------------------------------------------------------------ checkpoints
    def _meta(self, step: int, validation: dict[str, float]) -> dict[str, Any]:
        stage2_done = max(0, step - self.stage1_iters)
        return {
            "trained": stage2_done > 0,
            "training": {
                # the command that started the run, then the ones that resumed it
                "command": (self.run_info.get("sessions") or [self.opts.command])[0],
                "resumed_with": (self.run_info.get("sessions") or [])[1:],
                "init_from": self.run_info.get("init_from"),  # the checkpoint a fine-tuning run started from
                "config": self.cfg.to_dict(),
                "data_dir": str(self.opts.data_dir),
                "data_seed": self.data_meta.get("seed"),
                "data_command": self.data_meta.get("source"),  # e.g. the ipoke synth line that made it
                "steps": step,
                "total_steps": self.total,
                "stage2_steps_done": stage2_done,
                "schedule": self.cfg.train.schedule,
                "wall_time_s": round(self._wall(), 1),
                "device": self.run_info["device"],
                "world_size": self.dist.world_size,
                "perceptual_loss": self.perceptual.name,
                "validation_metric": self.val_metric_name,
                "validation": validation,
            },
            "data_stats": {"poke_magnitude_px": self.poke_range},
        }

    def _save(self, step: int, reason: str) -> None:
        """Resumable state + ``checkpoints/last`` (rank 0)."""
        if not self.main:
            return
        from ipoke_core.checkpoint import save_checkpoint

        state = self.engine.state_dict()
        state.update({
            "iteration": step,
            "epoch": step // self.stream.batches_per_epoch,
            "batch_in_epoch": step % self.stream.batches_per_epoch,
            "world_size": self.dist.world_size,
            "rng": capture_rng(),
            "best": dict(self.best),
            "wall_time_s": self._wall(),
            "last_validation": dict(self.last_val),
        })
        path = save_state(self.run_dir, step, state, self.cfg.train.keep_last)
        self.last_ckpt = save_checkpoint(self.run_dir / "checkpoints" / "last", self.engine.eval_model,
                                         self._meta(step, self.last_val))
        self.log(f"step {step}: saved {path.relative_to(self.run_dir)} and checkpoints/last ({reason})")

    # ------------------------------------------------------------------ validation + samples
    def _validate(self, step: int) -> dict[str, float]:
        eng = self.engine
        sums: dict[str, float] = {}
        n_bg = 0
        bg_motion = 0.0
        for items in self.val_batches:
            batch = Batch.from_items(items, self.dist.device, eng.channels_last)
            video, flow = eng.generate(batch)
            b, t = video.shape[:2]
            gen = video.reshape(b * t, *video.shape[2:])
            tgt = batch.frames.reshape(b * t, *batch.frames.shape[2:]).float()
            with torch.inference_mode():
                dist = float(self.val_distance(gen, tgt))
                rec = eng.reconstruct(batch.source)
                # PSNR and SSIM as `ipoke eval` computes them: the metrics package on uint8 frames
                gen8, tgt8 = to_uint8(gen), to_uint8(tgt)
                vals = {
                    "val_metric": dist,
                    "val_l1": float((gen - tgt).abs().mean()),
                    "val_psnr": float(psnr(gen8, tgt8).mean()),
                    "val_ssim": float(ssim(gen8, tgt8).mean()),
                    "val_ae_l1": float((rec - batch.source.float()).abs().mean()),
                }
                if flow is not None and batch.flow is not None:
                    vals["val_flow"] = float(flow_loss(flow, batch.flow))
                bg = batch.background.bool()
                if bg.any():
                    moved = (video[bg] - batch.source[bg].float()[:, None]).abs().mean(dim=(1, 2, 3, 4))
                    bg_motion += float(moved.sum())
                    n_bg += int(bg.sum())
            for k, v in vals.items():
                sums[k] = sums.get(k, 0.0) + v
        out = {k: v / max(1, len(self.val_batches)) for k, v in sums.items()}
        if n_bg:
            out["val_bg_motion"] = bg_motion / n_bg
        return out

    def _write_samples(self, step: int) -> None:
        if not self.val_batches:
            return
        items = {k: v[:4] for k, v in self.val_batches[0].items()}
        batch = Batch.from_items(items, self.dist.device, self.engine.channels_last)
        video, _ = self.engine.generate(batch)
        grid = sample_grid(batch.source, batch.poke, video, batch.frames, batch.background)
        write_png(grid, self.run_dir / "samples" / f"step_{step:08d}.png")

    # ------------------------------------------------------------------ signals
    @contextlib.contextmanager
    def _signals(self):
        """Ctrl-C / SIGTERM finish the step, save and exit; a second Ctrl-C leaves at once."""
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        previous = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}

        def handler(signum, frame):
            if self._stop_reason == "interrupted" and signum == signal.SIGINT:
                raise KeyboardInterrupt  # second Ctrl-C: leave at once
            self._stop_reason = "interrupted"
            self.log("interrupt received: finishing this step, saving, exiting (Ctrl-C again to quit at once)")

        for s in previous:
            signal.signal(s, handler)
        try:
            yield
        finally:
            for s, h in previous.items():
                signal.signal(s, h)

    def _wall(self) -> float:
        return self._wall_before + (time.time() - self._t_session)

    # ------------------------------------------------------------------ the loop
    def run(self) -> TrainResult:
        try:
            with contextlib.ExitStack() as self._held:  # the run folder's lock, taken in _run
                return self._run()
        finally:
            if self._log_file is not None:
                self._log_file.close()
            distributed.cleanup(self.dist)

    def _run(self) -> TrainResult:
        """The loop, top to bottom: one batch, one step, then logging, validation, stop rules, saving."""
        tc = self.cfg.train
        self._build()  # checks the data set and weights files before anything is written
        if self.main:  # before anything in the folder is read or written; other ranks share rank 0's lock
            self._held.enter_context(run_lock(self.run_dir))
        state = self._prepare_run_dir()
        self._open_run_files()
        start = self._restore(state) if state else self._start_fresh()
        self._announce()
        self.stream.start(start)
        meter = _LossMeter()
        status, step = "finished", start
        with self._signals(), self._progress(start):
            for it in range(start, self.total):
                batch = Batch.from_items(self.stream.next(), self.dist.device, self.engine.channels_last)
                stage, losses = self._train_step(it, batch)
                step = it + 1
                meter.add(losses)
                if self._pbar is not None:
                    self._pbar.update(1)
                last = step == self.total

                if step % tc.log_every == 0 or last:
                    self._log_losses(step, stage, meter)
                if self.main and (step % tc.val_every == 0 or last):
                    self._after_validation(step, self._validate(step))
                if self.main and (step % tc.sample_every == 0 or last):
                    self._write_samples(step)

                reason = self._stop_request(step)
                if distributed.any_rank(reason is not None, self.dist):  # every rank stops at the same step
                    status = "interrupted" if self._stop_reason else "stopped"
                    reason = reason or "interrupted"
                    self._save(step, reason)
                    self.log(f"stopped at step {step} of {self.total} ({reason}); continue with --resume")
                    break
                if step % tc.ckpt_every == 0 or last:
                    self._save(step, "final" if last else "periodic")
        return self._finish(status, step)

    # ------------------------------------------------------------------ the loop's pieces
    def _open_run_files(self) -> None:
        """train.log, config.toml and run.json (rank 0), and what the checkpoints record beside them:
        the data's poke range and the best validation so far."""
        if self.main:
            self._log_file = open(self.run_dir / "train.log", "a")
            self.cfg.save(self.run_dir / "config.toml")
            self._write_run_info()
        else:
            self.run_info = {"device": _device_name(self.dist.device)}
        self.poke_range = self._poke_magnitude_range() if self.main else [0.0, 0.0]
        self.best = {"value": float("inf"), "step": -1, "metric": self.val_metric_name}

    def _start_fresh(self) -> int:
        """A new run: from the --init-from weights if given. Returns the first iteration (0)."""
        if self.opts.init_from is not None:
            self._init_from_checkpoint(self.opts.init_from)
        self._t_session = time.time()
        if self.main:
            self._metrics_csv(None)
        return 0

    def _restore(self, state: dict[str, Any]) -> int:
        """Continue from a saved state: weights, optimisers, RNG, best and wall time. Returns its iteration."""
        self.engine.load_state_dict(state)
        start = int(state["iteration"])
        self._wall_before = float(state.get("wall_time_s", 0.0))
        self.best = dict(state.get("best", self.best))
        self.last_val = dict(state.get("last_validation", {}))
        if self.main:
            restore_rng(state["rng"])
        if int(state.get("world_size", 1)) != self.dist.world_size:
            self.log(f"note: the run was saved with {state.get('world_size')} process(es), now {self.dist.world_size}: "
                     "the data order after the resume differs from an uninterrupted run")
        self._t_session = time.time()
        if self.main:
            self._metrics_csv(start)
            self.log(f"resumed from {self._resumed_from.relative_to(self.run_dir)} at step {start} of {self.total}")
        return start

    def _announce(self) -> None:
        """What is about to run: schedule, batch, device, losses, validation set."""
        cfg, tc = self.cfg, self.cfg.train
        self.log(
            f"run {self.run_dir}: config {cfg.name}, schedule {tc.schedule} ({self.stage1_iters} autoencoder + "
            f"{self.total - self.stage1_iters} {'stage-2' if tc.schedule != 'alternating' else 'alternating'} "
            f"iterations), batch {tc.batch_size} x {self.dist.world_size} process(es), device {self.run_info['device']}, "
            f"amp {self.run_info.get('amp', 'off')}"
        )
        self.log(f"perceptual loss: {self.perceptual.name}"
                 + ("" if self.opts.vgg_weights else " (no --vgg-weights given: pixel-space fallback, no VGG)"))
        self.log(f"validation metric: {self.val_metric_name} on {self.val_split}, "
                 f"{sum(len(b['index']) for b in self.val_batches)} clips")

    def _train_step(self, it: int, batch: Batch) -> tuple[int, dict[str, torch.Tensor]]:
        """Iteration ``it`` (0-based) of the schedule: ``(stage, losses)``. Stops the run on a NaN/inf loss."""
        tc = self.cfg.train
        gen = step_generator(tc.seed, it, self.dist.rank)
        try:
            if it < self.stage1_iters:
                return 1, self.engine.stage1_step(batch, gen, it, self.stage1_iters)
            losses: dict[str, torch.Tensor] = {}
            if tc.schedule == "alternating":
                losses.update(self.engine.stage1_step(batch, gen, it - self.stage1_iters, tc.stage2_steps))
            losses.update(self.engine.stage2_step(batch, it - self.stage1_iters, gen))
            return 2, losses
        except NonFiniteLoss as e:
            self._diverged(it, e)
        except RuntimeError:
            # the previous update blew the weights up (a resumed run at a huge learning rate: Adam moves every
            # weight by about lr): the forward pass then fails before any loss (NaN motion indexes pixel
            # -2**63), so stop like a NaN loss. Trained weights are of order 1; 1e6 is far past any
            if all(bool(p.detach().abs().max() < DIVERGED_WEIGHT) for p in self.engine.model.parameters()):
                raise
            self._diverged(it, NonFiniteLoss([BLOWN_UP]))

    def _log_losses(self, step: int, stage: int, meter: _LossMeter) -> None:
        """Mean losses since the last row (over all ranks) and samples/s, to metrics.csv and the progress bar."""
        values, steps, seconds = meter.take(self.dist)
        sps = steps * self.cfg.train.batch_size * self.dist.world_size / max(seconds, 1e-9)
        if not self.main:
            return
        self._append_metrics({"step": step, "stage": stage, "epoch": self.stream.epoch, "wall_s": round(self._wall(), 1),
                              "samples_per_s": round(sps, 2), **values})
        if self._pbar is not None:
            shown = {k: f"{values[k]:.3g}" for k in ("ae_perc", "perc", "latent", "g_temporal", "d_temporal")
                     if k in values}
            self._pbar.set_postfix(stage=stage, **shown, sps=f"{sps:.1f}")

    def _stop_request(self, step: int) -> str | None:
        """Why this rank wants to stop after ``step`` (a signal, --until-step, --max-minutes), else None."""
        if self.opts.until_step is not None and self.opts.until_step <= step < self.total:
            return f"reached --until-step {self.opts.until_step}"
        minutes = (time.time() - self._t_session) / 60
        if self.opts.max_minutes is not None and minutes >= self.opts.max_minutes and step < self.total:
            return f"reached --max-minutes {self.opts.max_minutes:g}"
        return self._stop_reason

    @contextlib.contextmanager
    def _progress(self, start: int):
        """A tqdm bar on rank 0 (unless --quiet), closed when the loop ends."""
        if self.main and self.opts.progress:
            from tqdm import tqdm

            self._pbar = tqdm(total=self.total, initial=start, unit="step", dynamic_ncols=True, file=sys.stderr)
        try:
            yield
        finally:
            if self._pbar is not None:
                self._pbar.close()
                self._pbar = None

    def _finish(self, status: str, step: int) -> TrainResult:
        distributed.barrier(self.dist)
        if self.dist.enabled:
            self._check_ranks_in_sync()
        if status == "finished" and self.main:
            self.log(f"finished {self.total} steps in {self._wall() / 60:.1f} min; best {self.best['metric']} "
                     f"{self.best['value']:.4g} at step {self.best['step']}")
        best = self.run_dir / "checkpoints" / "best.safetensors"
        return TrainResult(status, step, self.total, self.run_dir, self.last_ckpt,
                           best if best.exists() else None, dict(self.last_val))

    def _check_ranks_in_sync(self) -> None:
        """DDP keeps every rank's weights identical; verify it with a checksum (a cheap guard)."""
        import torch.distributed as tdist

        total = torch.zeros(1, dtype=torch.float64, device=self.dist.device)
        for p in self.engine.model.parameters():
            total += p.detach().double().sum()
        sums = [torch.zeros_like(total) for _ in range(self.dist.world_size)]
        tdist.all_gather(sums, total)
        values = [float(v) for v in sums]
        if max(values) - min(values) > 1e-9 * max(1.0, abs(values[0])):
            self.log(f"WARNING: the ranks' weights differ (checksums {values}): please report this")
        else:
            self.log(f"weights identical on all {self.dist.world_size} ranks (checksum {values[0]:.6f})")

    def _after_validation(self, step: int, val: dict[str, float]) -> None:
        from ipoke_core.checkpoint import save_checkpoint

        self.last_val = val
        self._append_metrics({"step": step, "stage": 1 if step <= self.stage1_iters else 2, **val})
        msg = ", ".join(f"{k[4:]} {v:.4g}" for k, v in val.items())
        self.log(f"step {step}: validation ({self.val_metric_name} = metric): {msg}")
        # "best" only ranks videos, i.e. once the dynamics has trained
        if step > self.stage1_iters and val["val_metric"] < self.best["value"]:
            self.best = {"value": val["val_metric"], "step": step, "metric": self.val_metric_name}
            save_checkpoint(self.run_dir / "checkpoints" / "best", self.engine.eval_model, self._meta(step, val))
            self.log(f"step {step}: new best {self.val_metric_name} {val['val_metric']:.4g} -> checkpoints/best")

    def _diverged(self, it: int, err: NonFiniteLoss) -> NoReturn:
        """Stop on a NaN/inf loss. Parameters were not updated with it; save them if finite."""
        # NaN compares false too: weights blown up by the last update are never saved over a good checkpoint
        finite = all(bool(p.detach().abs().max() < DIVERGED_WEIGHT) for p in self.engine.model.parameters())
        if finite:
            self._save(it, "parameters before the non-finite loss")
            where = f"is {self.run_dir / 'checkpoints' / 'last'} (step {it})"
        elif self.last_ckpt is not None:
            where = f"is {self.last_ckpt} (an earlier step)"
        elif self._resumed_from is not None:  # nothing saved since the resume: the state it resumed from
            where = f"is the state this session resumed from, {self._resumed_from}"
        else:
            where = "from this run: none (nothing was saved before it diverged)"
        what = ("the weights diverged at the previous update" if err.names == [BLOWN_UP]
                else f"loss {', '.join(err.names)} is NaN or infinite")
        msg = (f"training stopped at step {it + 1}: {what}. The last good checkpoint {where}; "
               "resume with a smaller learning rate, e.g. --resume --set train.lr=5e-5")
        self.log(msg)
        raise TrainingError(msg)


def _device_name(dev: torch.device) -> str:
    if dev.type == "cuda":
        return f"cuda ({torch.cuda.get_device_name(dev)})"
    import platform

    return f"cpu ({platform.processor() or platform.machine()}, {torch.get_num_threads()} threads)"


def train(opts: TrainOptions) -> TrainResult:
    """Run (or resume) a training run; see the module docstring for the run folder."""
    return Trainer(opts).run()
