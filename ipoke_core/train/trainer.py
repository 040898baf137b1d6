"""The training loop behind ``ipoke train``; :class:`Trainer` builds a run, then runs the loop in ``_loop``.

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

Each other job has its module: ``run_folder``, ``run_record`` (run.json), ``run_log`` (train.log),
``metrics_log`` (metrics.csv), ``training_data``, ``validation``, ``samples``, ``checkpointing``,
``resume``, ``init_from``, ``stop_rules``, ``divergence``, ``run_lock``, ``distributed``.
"""
from __future__ import annotations

import contextlib
import random
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import numpy as np
import torch

from ipoke_core.config import Config
from ipoke_core.train import distributed
from ipoke_core.train.checkpointing import Checkpointer
from ipoke_core.train.divergence import BLOWN_UP, divergence_message, weights_finite
from ipoke_core.train.engine import Batch, Engine, NonFiniteLoss, step_generator
from ipoke_core.train.init_from import init_from_record, load_init_checkpoint, parent_training
from ipoke_core.train.losses import build_perceptual
from ipoke_core.train.metrics_log import LossMeter, MetricsLog
from ipoke_core.train.options import TrainingError, TrainOptions, TrainResult, schedule_lengths
from ipoke_core.train.resume import RunProgress, restore, resumable_state
from ipoke_core.train.run_folder import prepare_run_folder
from ipoke_core.train.run_lock import run_lock
from ipoke_core.train.run_log import RunLog
from ipoke_core.train.run_record import device_name, save_run_info, session_info, write_run_info
from ipoke_core.train.samples import write_sample_grid
from ipoke_core.train.stop_rules import StopSignals, stop_request
from ipoke_core.train.training_data import BatchStream, open_training_set, poke_magnitude_range
from ipoke_core.train.validation import Distance, load_val_batches, validate, validation_distance

if TYPE_CHECKING:
    from ipoke_core.data import PokeDataset

__all__ = ["TrainOptions", "TrainResult", "Trainer", "TrainingError", "schedule_lengths", "train"]


def build_engine(cfg: Config, dist: distributed.DistInfo, perceptual: torch.nn.Module) -> Engine:
    """Models and optimisers: the same initial weights on every rank, then a random stream per rank."""
    seed = cfg.train.seed
    torch.manual_seed(seed)  # identical initial weights on every rank
    random.seed(seed)
    np.random.seed(seed)
    engine = Engine(cfg, dist, perceptual)
    torch.manual_seed(seed + dist.rank)
    if dist.device.type == "cuda":
        torch.backends.cudnn.benchmark = True
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    return engine


class Trainer:
    """One session of a run: ``run()`` builds it, then trains until the schedule ends or a stop rule fires."""

    # made by _build (nothing written yet) and _open_run_files (the run's records)
    perceptual: torch.nn.Module
    engine: Engine
    val_distance: Distance
    val_metric_name: str
    data_meta: dict[str, Any]
    train_set: PokeDataset
    stream: BatchStream
    run_info: dict[str, Any]
    checkpoints: Checkpointer

    def __init__(self, opts: TrainOptions):
        self.opts = opts
        self.cfg = opts.config
        self.run_dir = opts.run_dir
        self.dist = distributed.setup(opts.device)
        self.main = self.dist.is_main
        self.stage1_iters, self.total = schedule_lengths(self.cfg)
        self.log = RunLog(self.main, opts.progress)
        self.signals = StopSignals(self.log.write)
        self.metrics = MetricsLog(self.run_dir / "metrics.csv")
        self.progress = RunProgress(best={})
        self.resumed_from: Path | None = None
        self.init_weights: tuple[dict[str, torch.Tensor], dict[str, Any]] | None = None  # --init-from
        self.val_batches: list[dict] = []
        self.val_split = ""

    # ------------------------------------------------------------------ the loop
    def run(self) -> TrainResult:
        try:
            with contextlib.ExitStack() as held:  # the run folder's lock, taken in _loop
                return self._loop(held)
        finally:
            self.log.close()
            distributed.cleanup(self.dist)

    def _loop(self, held: contextlib.ExitStack) -> TrainResult:
        """The loop, top to bottom: one batch, one step, then logging, validation, stop rules, saving."""
        tc = self.cfg.train
        self._build()  # checks the data set and weights files before anything is written
        if self.main:  # before anything in the folder is read or written; other ranks share rank 0's lock
            held.enter_context(run_lock(self.run_dir))
        state, self.resumed_from = prepare_run_folder(self.run_dir, self.opts.resume, self.dist)
        self._open_run_files()
        start = self._restore(state) if state else self._start_fresh()
        self._announce()
        self.stream.start(start)
        meter = LossMeter()
        status, step = "finished", start
        with self.signals.installed(), self.log.progress(start, self.total):
            for it in range(start, self.total):
                batch = Batch.from_items(self.stream.next(), self.dist.device, self.engine.channels_last)
                stage, losses = self._train_step(it, batch)
                step = it + 1
                meter.add(losses)
                self.log.advance()
                last = step == self.total

                if step % tc.log_every == 0 or last:
                    self._log_losses(step, stage, meter)
                if self.main and (step % tc.val_every == 0 or last):
                    self._validate(step)
                if self.main and (step % tc.sample_every == 0 or last):
                    write_sample_grid(self.engine, self.val_batches, self.dist.device,
                                      self.run_dir / "samples" / f"step_{step:08d}.png")

                reason = stop_request(step, self.total, self.opts.until_step, self.opts.max_minutes,
                                      self.progress.session_minutes(), self.signals.reason)
                if distributed.any_rank(reason is not None, self.dist):  # every rank stops at the same step
                    status = "interrupted" if self.signals.reason else "stopped"
                    reason = reason or "interrupted"
                    self._save(step, reason)
                    self.log.write(f"stopped at step {step} of {self.total} ({reason}); continue with --resume")
                    break
                if step % tc.ckpt_every == 0 or last:
                    self._save(step, "final" if last else "periodic")
        return self._finish(status, step)

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
            if weights_finite(self.engine.model):
                raise
            self._diverged(it, NonFiniteLoss([BLOWN_UP]))

    # ------------------------------------------------------------------ set-up
    def _build(self) -> None:
        """Losses, models, validation distance, data and --init-from weights; writes nothing."""
        cfg, tc, opts = self.cfg, self.cfg.train, self.opts
        self.perceptual = build_perceptual(tc.perceptual, opts.vgg_weights)
        tc.perceptual = "vgg" if opts.vgg_weights is not None else "fallback"
        self.engine = build_engine(cfg, self.dist, self.perceptual)
        self.val_distance, self.val_metric_name = validation_distance(
            self.perceptual, self.perceptual.name, opts.vgg_weights, opts.lpips_weights, self.dist.device)
        self.data_meta, self.train_set = open_training_set(opts.data_dir, cfg)
        workers = tc.num_workers if sys.platform != "win32" else 0
        self.stream = BatchStream(self.train_set, tc.batch_size, self.dist, tc.seed, workers,
                                  self.dist.device.type == "cuda")
        if self.main:
            self.val_batches, self.val_split = load_val_batches(opts.data_dir, cfg)
        if opts.init_from is not None and not opts.resume:
            self.init_weights = load_init_checkpoint(opts.init_from, cfg)

    def _open_run_files(self) -> None:
        """train.log, config.toml and run.json (rank 0), and what the checkpoints record beside them:
        the data's poke range and the best validation so far."""
        if self.main:
            self.log.open(self.run_dir / "train.log")
            self.cfg.save(self.run_dir / "config.toml")
            info = session_info(
                self.opts, data_meta=self.data_meta, train_clips=len(self.train_set), validation_split=self.val_split,
                perceptual=self.perceptual.name, validation_metric=self.val_metric_name, device=self.dist.device,
                world_size=self.dist.world_size, amp_dtype=self.engine.amp_dtype,
                channels_last=self.engine.channels_last)
            self.run_info = write_run_info(self.run_dir / "run.json", info, self.opts.command)
        else:
            self.run_info = {"device": device_name(self.dist.device)}
        poke_range = poke_magnitude_range(self.opts.data_dir, self.cfg) if self.main else [0.0, 0.0]
        self.progress.best = {"value": float("inf"), "step": -1, "metric": self.val_metric_name}
        self.checkpoints = Checkpointer(
            self.run_dir, self.cfg, self.opts.command, self.opts.data_dir, self.data_meta, self.run_info, self.total,
            self.stage1_iters, self.dist.world_size, self.perceptual.name, self.val_metric_name, poke_range)

    def _start_fresh(self) -> int:
        """A new run: from the --init-from weights if given. Returns the first iteration (0)."""
        if self.opts.init_from is not None:
            self._init_from_checkpoint(self.opts.init_from)
        self.progress.session_start = time.time()
        if self.main:
            self.metrics.start(None)
        return 0

    def _init_from_checkpoint(self, path: Path) -> None:
        """Start from the ``--init-from`` weights loaded by ``_build``; record where the run started."""
        weights, meta = self.init_weights
        self.engine.load_weights(weights)
        if self.main:
            self.run_info["init_from"] = init_from_record(path, meta)
            save_run_info(self.run_dir / "run.json", self.run_info)
        self.log.write(f"generator initialised from {path} ({parent_training(meta).get('steps', '?')} steps trained)")

    def _restore(self, state: dict[str, Any]) -> int:
        """Continue from a saved state: weights, optimisers, RNG, best and wall time. Returns its iteration."""
        start = restore(state, self.engine, self.progress, self.main)
        if int(state.get("world_size", 1)) != self.dist.world_size:
            self.log.write(f"note: the run was saved with {state.get('world_size')} process(es), now "
                           f"{self.dist.world_size}: the data order after the resume differs from an uninterrupted run")
        self.progress.session_start = time.time()
        if self.main:
            self.metrics.start(start)
            self.log.write(f"resumed from {self.resumed_from.relative_to(self.run_dir)} at step {start} of {self.total}")
        return start

    def _announce(self) -> None:
        """What is about to run: schedule, batch, device, losses, validation set."""
        cfg, tc = self.cfg, self.cfg.train
        self.log.write(
            f"run {self.run_dir}: config {cfg.name}, schedule {tc.schedule} ({self.stage1_iters} autoencoder + "
            f"{self.total - self.stage1_iters} {'stage-2' if tc.schedule != 'alternating' else 'alternating'} "
            f"iterations), batch {tc.batch_size} x {self.dist.world_size} process(es), device {self.run_info['device']}, "
            f"amp {self.run_info.get('amp', 'off')}"
        )
        self.log.write(f"perceptual loss: {self.perceptual.name}"
                       + ("" if self.opts.vgg_weights else " (no --vgg-weights given: pixel-space fallback, no VGG)"))
        self.log.write(f"validation metric: {self.val_metric_name} on {self.val_split}, "
                       f"{sum(len(b['index']) for b in self.val_batches)} clips")

    # ------------------------------------------------------------------ the loop's pieces
    def _log_losses(self, step: int, stage: int, meter: LossMeter) -> None:
        """Mean losses since the last row (over all ranks) and samples/s, to metrics.csv and the progress bar."""
        values, steps, seconds = meter.take(self.dist)  # a collective: every rank calls it
        sps = steps * self.cfg.train.batch_size * self.dist.world_size / max(seconds, 1e-9)
        if not self.main:
            return
        self.metrics.append({"step": step, "stage": stage, "epoch": self.stream.epoch,
                             "wall_s": round(self.progress.wall(), 1), "samples_per_s": round(sps, 2), **values})
        self.log.show_losses(stage, values, sps)

    def _validate(self, step: int) -> None:
        """Validate (rank 0), log it, and keep the weights as checkpoints/best when they beat the best so far."""
        val = validate(self.engine, self.val_batches, self.val_distance, self.dist.device)
        self.progress.last_validation = val
        self.metrics.append({"step": step, "stage": 1 if step <= self.stage1_iters else 2, **val})
        msg = ", ".join(f"{k[4:]} {v:.4g}" for k, v in val.items())
        self.log.write(f"step {step}: validation ({self.val_metric_name} = metric): {msg}")
        # "best" only ranks videos, i.e. once the dynamics has trained
        if step > self.stage1_iters and val["val_metric"] < self.progress.best["value"]:
            self.progress.best = {"value": val["val_metric"], "step": step, "metric": self.val_metric_name}
            self.checkpoints.save_best(self.engine, step, val, self.progress.wall())
            self.log.write(f"step {step}: new best {self.val_metric_name} {val['val_metric']:.4g} -> checkpoints/best")

    def _save(self, step: int, reason: str) -> None:
        """Resumable state + ``checkpoints/last`` (rank 0)."""
        if not self.main:
            return
        resumable = resumable_state(step, self.stream.batches_per_epoch, self.dist.world_size, self.progress)
        path = self.checkpoints.save(self.engine, step, resumable, self.progress.last_validation, self.progress.wall())
        self.log.write(f"step {step}: saved {path.relative_to(self.run_dir)} and checkpoints/last ({reason})")

    def _diverged(self, it: int, err: NonFiniteLoss) -> NoReturn:
        """Stop on a NaN/inf loss. Parameters were not updated with it; save them if finite."""
        earlier = self.checkpoints.last
        saved_now = None
        # NaN compares false too: weights blown up by the last update are never saved over a good checkpoint
        if weights_finite(self.engine.model):
            self._save(it, "parameters before the non-finite loss")
            saved_now = self.run_dir / "checkpoints" / "last"
        msg = divergence_message(it, err, saved_now, earlier, self.resumed_from)
        self.log.write(msg)
        raise TrainingError(msg)

    def _finish(self, status: str, step: int) -> TrainResult:
        distributed.barrier(self.dist)
        if self.dist.enabled:
            self.log.write(distributed.weights_in_sync_message(self.engine.model, self.dist))
        best = self.progress.best
        if status == "finished" and self.main:
            self.log.write(f"finished {self.total} steps in {self.progress.wall() / 60:.1f} min; best {best['metric']} "
                           f"{best['value']:.4g} at step {best['step']}")
        best_path = self.run_dir / "checkpoints" / "best.safetensors"
        return TrainResult(status, step, self.total, self.run_dir, self.checkpoints.last,
                           best_path if best_path.exists() else None, dict(self.progress.last_validation))


def train(opts: TrainOptions) -> TrainResult:
    """Run (or resume) a training run; see the module docstring for the run folder."""
    return Trainer(opts).run()
