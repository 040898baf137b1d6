"""One optimisation step of each training stage (paper Sec. 3.2, Eq. 6-8, App. E.2).

``Engine`` owns the generator (``IPoke``), the two discriminators, their optimisers and grad
scalers, the perceptual loss and the AMP / channels-last / compile / DDP settings. The loop in
``trainer.py`` feeds it batches; ``benchmark.py`` feeds it random tensors.

Optimisers (Adam, ``train.lr``, ``train.betas``; built in ``optimizers.py``):

- ``ae``: object encoder + decoder, stage 1 (frame autoencoder: perceptual + L1);
- ``dyn``: poke encoder + dynamics + decoder (fine-tuned), stage 2; with
  ``schedule = "single_stage"`` also the object encoder (no pretraining, all end to end);
- ``disc``: patch + temporal discriminators.

Stage 2 loss (Eq. 8): ``perceptual(video, frames) + w_latent * L_latent``
``+ w_gan_spatial * L_hinge(D_s) + w_gan_temporal * L_hinge(D_t) + w_feature_matching * FM(D_t)``,
the adversarial terms after ``gan_warmup_steps`` stage-2 steps. With the motion-first decoder,
``+ w_flow * L_flow`` (``losses.flow_loss``: predicted against true backward flow) ``+ w_rigid * L_rigid``
(``losses.rigidity_loss``: the predicted flow off its affine fit over each true part); with part masks
``+ w_grouping * L_grouping`` (``model.parts.grouping_loss``) ``+ w_part_labels * L_part_labels``
(``model.parts.part_label_loss``, on data that knows its parts); with an object mask ``+ w_object *
L_object`` (``model.object_mask.object_mask_loss``, likewise; all via ``mask_losses.py``), and the
first ``parts_steps`` stage-2 steps train the masks alone on these (``parts_step``). The discriminators take the hinge
loss, the temporal one an R1 gradient penalty ``gp_weight / 2 * E||grad D_t(real)||^2``.
"""
from __future__ import annotations

import contextlib
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.parallel import DistributedDataParallel as DDP

from ipoke_core.config import Config, ModelConfig
from ipoke_core.device import resolve_amp
from ipoke_core.model import IPoke, PatchDiscriminator, TemporalDiscriminator
from ipoke_core.train import losses as L
from ipoke_core.train.distributed import DistInfo, any_rank
from ipoke_core.train.mask_losses import mask_losses, mask_total
from ipoke_core.train.optimizers import build_optimizers
from ipoke_core.train.schedule import ema_model, lr_factor, set_lr


class NonFiniteLoss(RuntimeError):
    """A loss became NaN or inf; raised before any parameter was updated with it."""

    def __init__(self, names: list[str]):
        super().__init__(", ".join(names))
        self.names = names


@dataclass
class Batch:
    """A training batch on the device.

    source ``(B, 3, R, R)``, frames ``(B, T, 3, R, R)`` in [-1, 1] (frames 1..T; the repeated
    source for background pokes), poke_map ``(B, 2, R, R)``, poke ``(B, 4)`` in model pixels,
    background ``(B,)`` bool, flow ``(B, T, 2, R, R)`` backward flow targets and parts ``(B, R, R)`` the
    sources' true part maps, -1 = background (when the data set serves them).
    """

    source: torch.Tensor
    frames: torch.Tensor
    poke_map: torch.Tensor
    poke: torch.Tensor
    background: torch.Tensor
    flow: torch.Tensor | None = None
    parts: torch.Tensor | None = None

    @classmethod
    def from_items(cls, items: dict, device: torch.device, channels_last: bool = False) -> Batch:
        def move(t: torch.Tensor) -> torch.Tensor:
            return t.to(device, non_blocking=True)

        source = move(items["source"])
        poke_map = move(items["poke_map"])
        if channels_last:
            source = source.contiguous(memory_format=torch.channels_last)
            poke_map = poke_map.contiguous(memory_format=torch.channels_last)
        flow = move(items["flow"]) if "flow" in items else None
        parts = move(items["parts"]) if "parts" in items else None
        return cls(source, move(items["frames"]), poke_map, move(items["poke"]), move(items["is_background"]), flow,
                   parts)


class Discriminators(nn.Module):
    """Patch (frames) and temporal (sequences) discriminators in one module, so one DDP wrapper,
    one forward and one backward serve both.

    ``forward(frames (N, 3, R, R), videos (B, T', 3, R, R)) -> (spatial logits (N, 1, h, w), temporal logits (B,))``
    """

    def __init__(self, mcfg: ModelConfig):
        super().__init__()
        width = disc_width(mcfg)
        self.spatial = PatchDiscriminator(mcfg.resolution, width)
        self.temporal = TemporalDiscriminator(width)

    def forward(self, frames: torch.Tensor, videos: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.spatial(frames)[0], self.temporal(videos)[0]


def disc_width(mcfg: ModelConfig) -> int:
    """Base width of both discriminators: twice the generator's first width, at most 64.

    64 gives exactly torchvision's r3d_18 for the temporal discriminator (the paper's model).
    """
    return min(64, 2 * mcfg.channels[0])


class _GeneratorStep(nn.Module):
    """Routes both stages through one ``forward`` so DistributedDataParallel sees every call."""

    def __init__(self, model: IPoke):
        super().__init__()
        self.model = model

    def forward(self, mode: str, image: torch.Tensor, poke_map: torch.Tensor | None = None,
                decode: list[int] | None = None):
        if mode == "autoencode":
            return self.model.autoencode(image)
        out = self.model.animate(image, poke_map, decode=decode)
        return out.video, out.states, out.flow, out.parts, out.movable


def loss_frame_indices(t: int, k: int, gen: torch.Generator) -> list[int] | None:
    """``k`` of ``t`` frame indices for the stage-2 losses: the last one and ``k - 1`` random others,
    sorted; None (all frames) when ``k`` is 0 or at least ``t``."""
    if k <= 0 or k >= t:
        return None
    others = torch.randperm(t - 1, generator=gen)[: k - 1].tolist()
    return sorted(others + [t - 1])


def step_generator(seed: int, step: int, rank: int) -> torch.Generator:
    """The random stream of one step (frames for stage 1, frames for D_s): a pure function of
    (seed, step, rank), so a resumed run draws exactly what the uninterrupted one drew."""
    return torch.Generator().manual_seed((seed * 1_000_003 + step * 7_919 + rank * 104_729) % (2**63))


class Engine:
    """Models, optimisers and the step functions of both stages."""

    def __init__(self, cfg: Config, dist: DistInfo, perceptual: nn.Module, optimized: bool = True):
        tc = cfg.train
        self.cfg = cfg
        self.dist = dist
        self.device = dist.device
        self.schedule = tc.schedule
        self.model = IPoke(cfg.model).to(self.device)
        self.discs = Discriminators(cfg.model).to(self.device)
        self.perceptual = perceptual.to(self.device)
        cuda = self.device.type == "cuda"
        self.amp_dtype = resolve_amp(tc.amp, self.device, cpu_auto=False) if optimized else None
        self.channels_last = cuda and tc.channels_last and optimized
        if self.channels_last:
            self.model.to(memory_format=torch.channels_last)
            self.discs.spatial.to(memory_format=torch.channels_last)
        self.params, self.opt, self.scaler = build_optimizers(
            self.model, self.discs, tc, fused=cuda and optimized, fp16=self.amp_dtype == torch.float16)
        # the weights that validation, samples and checkpoints use: the EMA copy when train.ema_decay > 0
        self.ema = ema_model(self.model, tc.ema_decay) if tc.ema_decay > 0 else None

        self.gen_step: nn.Module = _GeneratorStep(self.model)
        self.disc_step: nn.Module = self.discs
        if dist.enabled:
            import warnings

            # (1, C) weights (the temporal discriminator's head) get (1, 1)-strided grads: DDP notes it, harmless
            warnings.filterwarnings("ignore", message="Grad strides do not match bucket view strides")
            ids = [self.device.index] if cuda else None
            # stages use different parts of the generator (and freeze the encoder): unused parameters
            self.gen_step = DDP(self.gen_step, device_ids=ids, find_unused_parameters=True)
            self.disc_step = DDP(self.discs, device_ids=ids)
        if tc.compile and optimized:
            self.gen_step = torch.compile(self.gen_step)
            self.disc_step = torch.compile(self.disc_step)

    # ------------------------------------------------------------------ helpers
    def autocast(self):
        if self.amp_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=self.amp_dtype)

    @property
    def eval_model(self) -> IPoke:
        """The generator to validate and save: the weight average when there is one."""
        return self.model if self.ema is None else self.ema.module

    def load_weights(self, state: dict[str, torch.Tensor]) -> None:
        """Start from given generator weights (``ipoke train --init-from``); the average restarts from them.
        A module the weights lack entirely (part masks or an object mask added to a checkpoint without them)
        keeps its fresh start."""
        missing, unexpected = self.model.load_state_dict(state, strict=False)
        added = [name for name in ("part_masks.", "object_mask.") if not any(k.startswith(name) for k in state)]
        wrong = unexpected + [k for k in missing if not k.startswith(tuple(added))]
        if wrong:
            raise RuntimeError(f"weights do not fit the model: {', '.join(wrong[:5])}")
        if self.ema is not None:
            self.ema = ema_model(self.model, self.cfg.train.ema_decay)

    def _schedule_lr(self, names: tuple[str, ...], step: int, total: int) -> None:
        tc = self.cfg.train
        lr = tc.lr * lr_factor(tc.lr_schedule, step, total, tc.lr_final_ratio)
        for name in names:
            set_lr(self.opt[name], lr)

    def _average(self) -> None:
        if self.ema is not None:
            self.ema.update_parameters(self.model)

    def set_encoder_trainable(self, flag: bool) -> None:
        """Stage 2 keeps the object state space of stage 1 fixed (Sec. 3.2): freeze E_sigma."""
        self.model.object_encoder.requires_grad_(flag)

    def _update(self, name: str, loss: torch.Tensor) -> torch.Tensor:
        """Backward, unscale, clip, step one optimiser. Returns the gradient norm (before clipping)."""
        opt, scaler = self.opt[name], self.scaler[name]
        for p in self.params[name]:
            p.grad = None
        scaler.scale(loss).backward()
        scaler.unscale_(opt)
        params = [p for p in self.params[name] if p.grad is not None]
        clip = self.cfg.train.grad_clip
        norm = torch.nn.utils.clip_grad_norm_(params, clip if clip > 0 else float("inf"))
        scaler.step(opt)
        scaler.update()
        return norm.detach()

    def _check_finite(self, losses: dict[str, torch.Tensor]) -> None:
        total = torch.stack([v.detach().float() for v in losses.values()]).sum()
        bad = not bool(torch.isfinite(total))
        if any_rank(bad, self.dist):
            raise NonFiniteLoss([k for k, v in losses.items() if not torch.isfinite(v).all()] or ["(other rank)"])

    # ------------------------------------------------------------------ stage 1
    def stage1_step(self, batch: Batch, gen: torch.Generator, step: int = 0, total: int = 1) -> dict[str, torch.Tensor]:
        """Autoencode one random frame of each clip (source or frame 1..T): perceptual + w_l1 * L1.

        ``step`` of ``total`` places the step on the learning-rate schedule.
        """
        self._schedule_lr(("ae",), step, total)
        b, t = batch.frames.shape[:2]
        pick = torch.randint(0, t + 1, (b,), generator=gen).to(self.device)
        clip = torch.cat([batch.source[:, None], batch.frames], 1)
        images = clip[torch.arange(b, device=self.device), pick]
        if self.channels_last:
            images = images.contiguous(memory_format=torch.channels_last)
        self.set_encoder_trainable(True)
        with self.autocast():
            recon = self.gen_step("autoencode", images).float()
        losses = {"ae_perc": self.perceptual(recon, images), "ae_l1": F.l1_loss(recon, images)}
        self._check_finite(losses)
        total = losses["ae_perc"] + self.cfg.train.w_l1 * losses["ae_l1"]
        losses["ae_grad_norm"] = self._update("ae", total)
        self._average()
        return losses

    # ------------------------------------------------------------------ stage 2
    def parts_step(self, batch: Batch, gen: torch.Generator) -> dict[str, torch.Tensor]:
        """The mask nets alone (part masks, object mask) learn from the true flow and parts (the first
        ``parts_steps`` of stage 2): nothing else runs, so a step costs a small U-Net, not a video."""
        decode = loss_frame_indices(batch.frames.shape[1], self.cfg.train.loss_frames, gen)
        m = self.model
        with self.autocast():
            parts = None if m.part_masks is None else m.part_masks(batch.source)
            movable = None if m.object_mask is None else m.object_mask(batch.source)
        losses = mask_losses(parts, batch.flow, batch.parts, decode, self.cfg.train, self.cfg.model.still_part,
                             movable)
        if not losses:
            raise ValueError("train.parts_steps trains the masks on train.w_grouping, train.w_part_labels or "
                             "train.w_object; all are 0")
        self._check_finite(losses)
        total = mask_total(losses, self.cfg.train)
        losses["loss"] = total.detach()
        losses["grad_norm"] = self._update("parts", total)
        self._average()
        return losses

    def stage2_step(self, batch: Batch, stage2_step: int, gen: torch.Generator) -> dict[str, torch.Tensor]:
        """Generator step (Eq. 8), then, after the GAN warm-up, one discriminator step."""
        tc = self.cfg.train
        self._schedule_lr(("dyn", "disc"), stage2_step, tc.stage2_steps)
        if "parts" in self.opt and stage2_step < tc.parts_steps:
            return self.parts_step(batch, gen)  # at its own constant rate, train.parts_lr
        b, t = batch.frames.shape[:2]
        gan = stage2_step >= tc.gan_warmup_steps and (tc.w_gan_spatial > 0 or tc.w_gan_temporal > 0)
        self.set_encoder_trainable(self.schedule == "single_stage")
        self.discs.requires_grad_(False)
        decode = loss_frame_indices(t, tc.loss_frames, gen) if not gan else None
        frames = batch.frames if decode is None else batch.frames[:, decode]
        target = frames.reshape(-1, *frames.shape[2:])
        losses: dict[str, torch.Tensor] = {}
        with self.autocast():
            video, states, flow, parts, movable = self.gen_step("animate", batch.source, batch.poke_map, decode)
            flat = video.reshape(-1, *video.shape[2:])
            losses["perc"] = self.perceptual(flat.float(), target)
            # the true flow of the frames drawn this step
            true_flow = batch.flow if batch.flow is None or decode is None else batch.flow[:, decode]
            if tc.w_flow > 0:
                if flow is None or true_flow is None:
                    raise ValueError("train.w_flow > 0 needs the warp decoder and flow targets in the batch")
                losses["flow"] = L.flow_loss(flow, true_flow, still_weight=tc.flow_still_weight,
                                             border_px=tc.flow_border_px, border_weight=tc.flow_border_weight)
            if tc.w_rigid > 0:
                if flow is None or true_flow is None or batch.parts is None:
                    raise ValueError("train.w_rigid > 0 needs the warp decoder, flow targets and part maps "
                                     "in the batch")
                losses["rigid"] = L.rigidity_loss(flow, true_flow, batch.parts, background=tc.rigid_background)
            losses.update(mask_losses(parts, batch.flow, batch.parts, decode, tc, self.cfg.model.still_part, movable))
            if tc.use_latent_loss:
                with torch.no_grad():
                    enc = self.model.encode(batch.frames.reshape(b * t, *batch.frames.shape[2:]))
                targets = [enc[i].reshape(b, t, *enc[i].shape[1:]) for i in self.model.dynamic_levels]
                losses["latent"] = L.latent_loss(states, targets)
            if gan:
                idx = torch.randperm(b * t, generator=gen)[: tc.disc_frames].to(self.device)
                fake_frames, real_frames = flat[idx], target[idx]
                fake_video = torch.cat([batch.source[:, None].to(video.dtype), video], 1)
                real_video = torch.cat([batch.source[:, None], batch.frames], 1)
                logits_s, _ = self.discs.spatial(fake_frames)
                logits_t, feats_fake = self.discs.temporal(fake_video)
                with torch.no_grad():
                    _, feats_real = self.discs.temporal(real_video)
                losses["g_spatial"] = L.hinge_g_loss(logits_s)
                losses["g_temporal"] = L.hinge_g_loss(logits_t)
                losses["fm"] = L.feature_matching(feats_fake, feats_real)
        self._check_finite(losses)
        total = losses["perc"]
        if "flow" in losses:
            total = total + tc.w_flow * losses["flow"]
        if "rigid" in losses:
            total = total + tc.w_rigid * losses["rigid"]
        total = total + mask_total(losses, tc)
        if "latent" in losses:
            total = total + tc.w_latent * losses["latent"]
        if gan:
            total = (total + tc.w_gan_spatial * losses["g_spatial"] + tc.w_gan_temporal * losses["g_temporal"]
                     + tc.w_feature_matching * losses["fm"])
        losses["loss"] = total.detach()
        losses["grad_norm"] = self._update("dyn", total)
        self._average()
        if gan:
            losses.update(self._disc_step(real_frames, fake_frames.detach(), real_video, fake_video.detach()))
        return losses

    def _disc_step(self, real_frames, fake_frames, real_video, fake_video) -> dict[str, torch.Tensor]:
        """Hinge loss for both discriminators, R1 penalty on the temporal one."""
        tc = self.cfg.train
        self.discs.requires_grad_(True)
        n, b = real_frames.shape[0], real_video.shape[0]
        real_video = real_video.detach().float().requires_grad_(True)
        frames = torch.cat([real_frames, fake_frames.to(real_frames.dtype)], 0)
        if self.channels_last:
            frames = frames.contiguous(memory_format=torch.channels_last)
        videos = torch.cat([real_video, fake_video.float()], 0)
        with self.autocast():
            logits_s, logits_t = self.disc_step(frames, videos)
        d_s = L.hinge_d_loss(logits_s[:n], logits_s[n:])
        d_t = L.hinge_d_loss(logits_t[:b], logits_t[b:])
        scaler = self.scaler["disc"]
        scale = float(scaler.get_scale()) if scaler.is_enabled() else 1.0
        gp = L.r1_penalty(logits_t[:b], real_video, scale)
        out = {"d_spatial": d_s, "d_temporal": d_t, "gp": gp}
        self._check_finite(out)
        total = d_s + d_t + tc.gp_weight / 2 * gp
        out["d_grad_norm"] = self._update("disc", total)
        self.discs.requires_grad_(False)
        return {k: v.detach() for k, v in out.items()}

    # ------------------------------------------------------------------ validation
    @torch.inference_mode()
    def generate(self, batch: Batch) -> tuple[torch.Tensor, torch.Tensor | None]:
        """``(video (B, T, 3, R, R), flow (B, T, 2, R, R) or None)`` for a batch, eval mode, fp32."""
        model = self.eval_model
        model.eval()
        try:
            with self.autocast():
                out = model.animate(batch.source, batch.poke_map)
            flow = None if out.flow is None else out.flow.float()
            return out.video.float().clamp(-1, 1), flow
        finally:
            model.train()

    @torch.inference_mode()
    def reconstruct(self, images: torch.Tensor) -> torch.Tensor:
        model = self.eval_model
        model.eval()
        try:
            with self.autocast():
                return model.autoencode(images).float().clamp(-1, 1)
        finally:
            model.train()

    # ------------------------------------------------------------------ state
    def state_dict(self) -> dict:
        return {
            "model": self.model.state_dict(),
            "discriminators": self.discs.state_dict(),
            "optimizers": {k: o.state_dict() for k, o in self.opt.items()},
            "scalers": {k: s.state_dict() for k, s in self.scaler.items()},
            "ema": None if self.ema is None else self.ema.state_dict(),
        }

    def load_state_dict(self, state: dict) -> None:
        self.model.load_state_dict(state["model"])
        self.discs.load_state_dict(state["discriminators"])
        for k, o in self.opt.items():
            o.load_state_dict(state["optimizers"][k])
        for k, s in self.scaler.items():
            if state["scalers"].get(k):
                s.load_state_dict(state["scalers"][k])
        if self.ema is not None:
            if state.get("ema"):
                self.ema.load_state_dict(state["ema"])
            else:  # averaging switched on at a resume: start the average from the current weights
                self.ema = ema_model(self.model, self.cfg.train.ema_decay)
