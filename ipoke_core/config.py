"""Configuration dataclasses for the model, the data and training, read and written as TOML.

A config is plain data: every field has a default, unknown keys are an error (a typo in a
config file must not silently train the wrong model).
"""
from __future__ import annotations

from ipoke_core.errors import UserError

import dataclasses
import itertools
import math
import tomllib
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Literal

import tomli_w

CONFIG_DIR = Path(__file__).resolve().parent / "configs"

# bounds on a model's sizes, checked before anything is built (issue 33: a sidecar's channels
# [16, 32, 100000] asked for 360 GB, a seq_len of 1e6 for 11 GiB, a resolution of 65536 for 13 GB)
MAX_RESOLUTION = 1024
MAX_CHANNELS = 4096
MAX_LAYERS = 12
MAX_SEQ_LEN = 256
# the weights plus one video's activations (float32): the paper's 128 px model needs about 0.35 GiB, the
# shipped model at 1024 px 2.3 GiB
MAX_MODEL_BYTES = 4 << 30


class ConfigError(UserError, ValueError):
    """A config file or value is invalid; the message says which field and why."""


@dataclass
class ModelConfig:
    """Sizes of the iPOKE network (paper Sec. 3.1, App. E.1).

    The object encoder is a stack of 3x3 conv layers; ``channels[i]`` is the width of layer i.
    Layers halve the resolution (stride 2) until ``bottleneck`` is reached, later layers keep it
    (stride 1), as in the paper's 64x64 model: 128@32, 256@16, 512@16.
    The dynamics hierarchy runs on the ``depth`` coarsest encoder levels (K in the paper).
    """

    resolution: int = 64
    channels: list[int] = field(default_factory=lambda: [16, 32, 64])
    bottleneck: int = 8
    depth: int = 3
    seq_len: int = 10
    dynamics: Literal["hierarchy", "single_gru"] = "hierarchy"
    poke_mode: Literal["shift", "impulse"] = "shift"
    # half-size in model pixels of the square the poke displacement is written into
    poke_radius: int = 2
    # shift mode: displacements are divided by this many model pixels before entering the network;
    # impulse mode: the magnitude that maps to 1.0 (the training set's largest poke)
    poke_scale: float = 16.0
    # "pixel": the paper's decoder, G draws every frame; "warp": motion first, G draws a backward
    # displacement field, a blend mask and an RGB residual, frame = m * warp(source, flow) + (1 - m) * rgb
    decoder: Literal["pixel", "warp"] = "pixel"
    # the rasterised poke, resized to each level, also drives every ConvGRU level (not only phi at the
    # coarsest): the poke reaches the whole hierarchy instead of a few bottleneck pixels
    poke_every_level: bool = False
    # the poke map is multiplied by this before it enters the network (order-1 values after the
    # squeeze to the bottleneck; at gain 1 the update gates learned to ignore a 5x5 square of 0.25s)
    poke_gain: float = 1.0
    # warp decoder: backward flows shorter than this many model pixels are drawn as still (a
    # non-negative garrote, see model.warp.shrink_flow). On textured photos the network's residual
    # flow of a few hundredths of a pixel shimmers every edge although nothing moves; the dead zone
    # makes "still" exactly still. It changes no weights: a checkpoint can be fine-tuned or rendered
    # with another value (0 = off, the checkpoints of before)
    motion_deadzone_px: float = 0.0
    # warp decoder: width (Gaussian sigma) of the motion prior, the poke spread around its point that
    # the motion head starts from, as a fraction of the resolution. R/8 is the flow-warp baseline's
    # falloff (every checkpoint before this field); a narrower prior leaves more of the motion's extent
    # to be learnt from the data
    motion_prior_sigma: float = 0.125
    # warp decoder: number of moving parts (0 = off, every checkpoint before this field). A small net
    # splits the source into this many soft part masks (model.parts) and the predicted flow is replaced
    # by one affine motion per part: parts move as pieces, motion cannot leak past a part's edge
    part_masks: int = 0
    # with part_masks: part 0 is the still part, which never moves (the background, a rooted pot): what
    # leaks onto it is dropped instead of spread over it by its affine fit
    still_part: bool = False
    # warp decoder: gate the flow by a mask of what can move, read off the source image (model.object_mask):
    # the background beside a poke stays still while the poked part moves (off: every checkpoint before
    # this field)
    object_mask: bool = False
    # with model.object_mask: the flow gate reads the most movable pixel within this many pixels (0 =
    # the pixel itself). 1 keeps the flow whole on the anti-aliased edge of a part, which a tight mask
    # (train.object_balance = false) puts below 0.75, while what the heatmaps read still follows the mask
    gate_reach: int = 0
    # with model.object_mask: the mask's decision, movable where it is above this. A poke acts where its
    # point is movable; what the heatmaps read moves only there. A tight mask (train.object_balance =
    # false) is low on a part's anti-aliased edge, where 0.5 punched holes into the parts' motion
    movable_threshold: float = 0.5

    def validate(self) -> None:
        """Raise ConfigError unless every field is of its type, finite and in range, and the network
        they describe fits in memory: a sidecar, a config file and ``--set`` all come through here
        before anything is built."""
        for name in ("resolution", "bottleneck", "depth", "seq_len", "poke_radius"):
            if not _is_int(getattr(self, name)):
                raise ConfigError(f"model.{name} must be a whole number, got {getattr(self, name)!r}")
        for name in ("poke_scale", "poke_gain", "motion_deadzone_px", "motion_prior_sigma"):
            if not (_is_number(getattr(self, name)) and math.isfinite(getattr(self, name))):
                raise ConfigError(f"model.{name} must be a finite number, got {getattr(self, name)!r}")
        if not isinstance(self.channels, list) or not self.channels:
            raise ConfigError(f"model.channels must be a list of whole numbers, got {self.channels!r}")
        r = self.resolution
        if r < 32 or r > MAX_RESOLUTION or r & (r - 1):
            raise ConfigError(f"model.resolution must be a power of two in [32, {MAX_RESOLUTION}], got {r}")
        b = self.bottleneck
        if b < 4 or b & (b - 1) or b > r // 2:
            raise ConfigError(f"model.bottleneck must be a power of two in [4, resolution/2], got {b}")
        if not all(_is_int(c) for c in self.channels):
            raise ConfigError(f"model.channels must be whole numbers, got {self.channels!r}")
        if len(self.channels) > MAX_LAYERS:
            raise ConfigError(f"model.channels has {len(self.channels)} layers; at most {MAX_LAYERS}")
        if len(self.channels) < self.n_strided:
            raise ConfigError(
                f"model.channels needs at least {self.n_strided} entries to go from {r} to {b} pixels, "
                f"got {len(self.channels)}"
            )
        if any(not 4 <= c <= MAX_CHANNELS for c in self.channels):
            raise ConfigError(f"model.channels must all be in [4, {MAX_CHANNELS}], got {self.channels!r}")
        if not 1 <= self.depth <= len(self.channels):
            raise ConfigError(f"model.depth must be in [1, {len(self.channels)}], got {self.depth}")
        if not 2 <= self.seq_len <= MAX_SEQ_LEN:
            raise ConfigError(f"model.seq_len must be in [2, {MAX_SEQ_LEN}] frames, got {self.seq_len}")
        if self.dynamics not in ("hierarchy", "single_gru"):
            raise ConfigError(f"model.dynamics must be 'hierarchy' or 'single_gru', got {self.dynamics!r}")
        if self.poke_mode not in ("shift", "impulse"):
            raise ConfigError(f"model.poke_mode must be 'shift' or 'impulse', got {self.poke_mode!r}")
        if not 0 <= self.poke_radius <= r // 2:
            raise ConfigError(f"model.poke_radius must be in [0, resolution/2 = {r // 2}] model pixels, "
                              f"got {self.poke_radius}")
        # shift: a divisor of displacements; impulse: the largest poke. Outside these the network's input
        # is 1e6 times larger or smaller than anything it was trained on (non-finite frames, issue 33)
        if not 0.1 <= self.poke_scale <= 4 * r:
            raise ConfigError(f"model.poke_scale must be in [0.1, 4 x resolution = {4 * r}] model pixels, "
                              f"got {self.poke_scale!r}")
        if self.decoder not in ("pixel", "warp"):
            raise ConfigError(f"model.decoder must be 'pixel' or 'warp', got {self.decoder!r}")
        if not 1e-3 <= self.poke_gain <= 1e3:
            raise ConfigError(f"model.poke_gain must be in [0.001, 1000], got {self.poke_gain!r}")
        if not 0.0 <= self.motion_deadzone_px <= 2.0:
            raise ConfigError(f"model.motion_deadzone_px must be in [0, 2] model pixels, got {self.motion_deadzone_px!r}")
        # below 1/100 of the resolution the prior is narrower than a model pixel (its Gaussian underflows)
        if not 0.01 <= self.motion_prior_sigma <= 0.5:
            raise ConfigError(f"model.motion_prior_sigma must be in [0.01, 0.5] (a fraction of the resolution), "
                              f"got {self.motion_prior_sigma!r}")
        if not _is_int(self.part_masks) or self.part_masks == 1 or not 0 <= self.part_masks <= 64:
            raise ConfigError(f"model.part_masks must be 0 (off) or a whole number in [2, 64], got {self.part_masks!r}")
        if self.still_part and not self.part_masks:
            raise ConfigError("model.still_part needs model.part_masks (part 0 of the masks is the still part)")
        if self.part_masks and self.decoder != "warp":
            raise ConfigError("model.part_masks moves the warp decoder's flow by parts; the pixel decoder draws no flow")
        if not isinstance(self.object_mask, bool):
            raise ConfigError(f"model.object_mask must be true or false, got {self.object_mask!r}")
        if not (_is_number(self.movable_threshold) and 0 < self.movable_threshold < 1):
            raise ConfigError(f"model.movable_threshold must be a number between 0 and 1, got {self.movable_threshold!r}")
        if not (isinstance(self.gate_reach, int) and not isinstance(self.gate_reach, bool) and 0 <= self.gate_reach <= 4):
            raise ConfigError(f"model.gate_reach must be an integer from 0 to 4 (pixels), got {self.gate_reach!r}")
        if self.object_mask and self.decoder != "warp":
            raise ConfigError("model.object_mask gates the warp decoder's flow; the pixel decoder draws no flow")
        if self.motion_deadzone_px > 0 and self.decoder != "warp":
            raise ConfigError("model.motion_deadzone_px applies to the warp decoder's flow; the pixel decoder draws no flow")
        need = self.memory_estimate()
        if need > MAX_MODEL_BYTES:
            raise ConfigError(f"this model would need about {need / 2**30:.1f} GiB for its weights and one video "
                              f"(limit {MAX_MODEL_BYTES / 2**30:.0f} GiB): channels {self.channels}, resolution {r}, "
                              f"seq_len {self.seq_len}; use smaller values")

    def memory_estimate(self) -> int:
        """Bytes (float32) of the weights plus the activations of one video, estimated from the sizes
        alone, before anything is built.

        Weights: about twice the 3x3 encoder convolutions plus the ConvGRUs (3 gates over input and
        hidden state) of the dynamics levels; within 15 % of the real count for every preset (the
        test calibrates it on a model built on the meta device). Activations: per frame, every level
        a few times over (GRU gates, the decoder's mirror) plus a dozen full-resolution planes.
        """
        widths = [3, *self.channels]
        encoder = sum(9 * a * b for a, b in itertools.pairwise(widths))
        gru = sum(9 * 3 * 2 * c * c for c in self.channels[-self.depth:])
        weights = 2 * (encoder + gru)
        per_frame = sum(8 * c * s * s for c, s in zip(self.channels, self.level_sizes())) + 16 * self.resolution ** 2
        return 4 * (weights + self.seq_len * per_frame)

    @property
    def n_strided(self) -> int:
        """Number of stride-2 encoder layers."""
        return int(math.log2(self.resolution // self.bottleneck))

    def level_sizes(self) -> list[int]:
        """Spatial size of every encoder level, finest first."""
        sizes, s = [], self.resolution
        for i in range(len(self.channels)):
            if i < self.n_strided:
                s //= 2
            sizes.append(s)
        return sizes


# ModelConfig fields that change how frames are drawn but no weight: ``ipoke derive`` sets them on
# trained weights
RENDERING_ONLY = ("motion_deadzone_px", "movable_threshold")
# ModelConfig fields no weight's shape depends on: ``--init-from`` may fine-tune a checkpoint with other
# values of these (the run inherits the checkpoint's unless ``--set`` gives them). The motion prior's
# falloff is an input of the motion head, so it changes what the weights mean and needs the fine-tune
# (``ipoke derive`` changes only the rendering-only ones); so do the object mask's gate reach and the
# size of the square a poke is drawn as in the input
FINE_TUNABLE = (*RENDERING_ONLY, "motion_prior_sigma", "gate_reach", "poke_radius")
# ModelConfig fields that add a module or a behaviour: ``--init-from`` a checkpoint without it (0 or false
# there) starts a new module from scratch and every other weight from the checkpoint
ADDED_MODULES = ("part_masks", "still_part", "object_mask")


# the clip size, clip length and poke mode of the training data are the model's; a config file's [data]
# table repeats them (files have always held them, and ``--set data.poke_mode=...`` sets them), and
# reading a file checks that they agree with [model]
DATA_FROM_MODEL = ("resolution", "seq_len", "poke_mode")


@dataclass
class DataConfig:
    """How training clips are cut and how training pokes are sampled (paper Sec. 3.2, App. E.2).

    The clips' resolution and length and the poke mode are ``model.resolution``, ``model.seq_len`` and
    ``model.poke_mode`` (see ``DATA_FROM_MODEL``).
    """

    frame_step: int = 1  # temporal subsampling inside a clip
    background_fraction: float = 0.1
    # where training pokes come from: "flow" = the cached DIS flow (the paper; real videos);
    # "ground_truth" = the true motion of synthetic clips (DIS at 64 px underestimates thin moving
    # parts 2-3x, so flow pokes understate the motion the flow targets show); "auto" = the truth
    # where the data set has it, else flow
    poke_source: Literal["flow", "ground_truth", "auto"] = "flow"
    # synthetic data only: the fraction of object pokes placed where the simulated force acted (the
    # causal poke) instead of at any moving pixel; see data.window_truth.applied_poke
    applied_fraction: float = 0.0
    # the share of background pokes drawn within near_background_px of the object (the pot, the floor
    # beside it) instead of anywhere: those pixels must stay still too; see sampling.near_background_poke
    near_background_fraction: float = 0.0
    near_background_px: int = 12

    def validate(self) -> None:
        if self.poke_source not in ("flow", "ground_truth", "auto"):
            raise ConfigError(f"data.poke_source must be flow|ground_truth|auto, got {self.poke_source!r}")
        if self.frame_step < 1:
            raise ConfigError("data.frame_step must be >= 1")
        if not 0.0 <= self.background_fraction < 1.0:
            raise ConfigError("data.background_fraction must be in [0, 1)")
        if not 0.0 <= self.applied_fraction <= 1.0:
            raise ConfigError("data.applied_fraction must be in [0, 1]")
        if not 0.0 <= self.near_background_fraction <= 1.0 or self.near_background_px < 1:
            raise ConfigError("data.near_background_fraction must be in [0, 1] and data.near_background_px >= 1")


@dataclass
class TrainConfig:
    """The training recipe (paper Eq. 6-8, App. E.2)."""

    schedule: Literal["sequential", "alternating", "single_stage"] = "sequential"
    stage1_steps: int = 2000
    stage2_steps: int = 10000
    batch_size: int = 16
    lr: float = 2e-4
    # "cosine": the generator's learning rate falls along half a cosine over stage 2, to lr * lr_final_ratio at
    # the last step (the learning curves wander at a constant rate: the last checkpoint was not the best)
    lr_schedule: Literal["constant", "cosine"] = "constant"
    lr_final_ratio: float = 0.05
    # exponential moving average of the generator's weights (0 = off): validation, samples and checkpoints use
    # the average, which smooths the step-to-step noise of small batches
    ema_decay: float = 0.0
    betas: list[float] = field(default_factory=lambda: [0.5, 0.9])
    weight_decay: float = 0.0
    grad_clip: float = 1.0
    # loss weights of Eq. 8 (latent matching, spatial GAN, temporal GAN) and feature matching
    w_latent: float = 1.0
    w_gan_spatial: float = 0.1
    w_gan_temporal: float = 0.1
    w_feature_matching: float = 1.0
    w_l1: float = 1.0
    # motion-first decoder: Charbonnier loss of the predicted backward flow against the true one
    # (exact on synthetic data, DIS on real video), averaged over moving and over still pixels apart
    w_flow: float = 0.0
    # weight of the still-pixel mean in the flow loss (1 = moving and still pixels count alike)
    flow_still_weight: float = 1.0
    # weight of the mean over still pixels within flow_border_px of a moving one (0 = off): the
    # background and still parts right beside what moves, which a model drags along (losses.flow_loss)
    flow_border_weight: float = 0.0
    flow_border_px: int = 3
    # on data that knows its parts (synthetic), with the warp decoder: weight of the rigidity loss
    # (losses.rigidity_loss), the predicted flow's distance from its best affine fit over each true part:
    # a charge for bending, shearing or leaking across a part's edge, none for how far the part moves
    w_rigid: float = 0.0
    # the still background as one more part of the rigidity loss (it then charges for drag too); off by
    # default: measured on figures64, with it the model answers by moving less everywhere
    rigid_background: bool = False
    # with model.part_masks: weight of the grouping loss (model.parts.grouping_loss), one affine motion per
    # part mask must explain each clip's true flow; and the first parts_steps stage-2 steps train the
    # masks alone on it (until they have learnt parts, moving by them would move everything as one)
    w_grouping: float = 1.0
    parts_steps: int = 0
    parts_lr: float = 1e-3
    # with model.still_part: what each pixel outside the still part costs in the grouping loss, in frames
    # where something moves (model.parts.grouping_loss): it draws what stands still into the still part
    still_bias: float = 0.0
    # with model.part_masks, on data that knows its parts (synthetic): weight of the part-label loss
    # (model.parts.part_label_loss), the masks learn the true parts at the grain the physics moves them
    w_part_labels: float = 0.0
    # with model.object_mask (synthetic data, which knows its parts): weight of the object-mask label
    # loss (model.object_mask.object_mask_loss), > 0: the mask starts at "everything moves", where the
    # flow gate passes it no gradient
    w_object: float = 1.0
    # the object-mask loss averages over object pixels and over background pixels apart (a thin plant
    # counts as much as the wall), or, false, over all pixels: the balanced mask calls the anti-aliased
    # pixel beside the object movable (a rim that moves with it), the plain one is the pixel-accuracy decision
    object_balance: bool = True
    # stage 2 decodes only this many of the T frames per step for the frame and flow losses (the last
    # frame always, the others drawn at random; 0 = all): decoding is most of a step's cost, and the
    # dynamics still run, and the latent loss still sees, every step
    loss_frames: int = 0
    gp_weight: float = 10.0
    gan_warmup_steps: int = 1000
    disc_frames: int = 16  # frames sampled per batch for the spatial discriminator
    use_latent_loss: bool = True
    perceptual: Literal["auto", "vgg", "fallback"] = "auto"
    amp: Literal["auto", "bf16", "fp16", "off"] = "auto"
    channels_last: bool = True
    compile: bool = False
    seed: int = 0
    num_workers: int = 2
    log_every: int = 25
    sample_every: int = 500
    ckpt_every: int = 500
    val_every: int = 500
    val_batches: int = 4
    keep_last: int = 3

    def validate(self) -> None:
        if self.schedule not in ("sequential", "alternating", "single_stage"):
            raise ConfigError(f"train.schedule must be sequential|alternating|single_stage, got {self.schedule!r}")
        if self.perceptual not in ("auto", "vgg", "fallback"):
            raise ConfigError(f"train.perceptual must be auto|vgg|fallback, got {self.perceptual!r}")
        if self.amp not in ("auto", "bf16", "fp16", "off"):
            raise ConfigError(f"train.amp must be auto|bf16|fp16|off, got {self.amp!r}")
        if self.batch_size < 1:
            raise ConfigError("train.batch_size must be >= 1")
        for name in ("lr", "parts_lr"):
            if not (_is_number(getattr(self, name)) and math.isfinite(getattr(self, name)) and getattr(self, name) > 0):
                raise ConfigError(f"train.{name} must be a finite number > 0, got {getattr(self, name)}")
        if self.lr_schedule not in ("constant", "cosine"):
            raise ConfigError(f"train.lr_schedule must be constant|cosine, got {self.lr_schedule!r}")
        if not (_is_number(self.lr_final_ratio) and 0 <= self.lr_final_ratio <= 1):
            raise ConfigError(f"train.lr_final_ratio must be a number in [0, 1], got {self.lr_final_ratio!r}")
        if not (_is_number(self.ema_decay) and 0 <= self.ema_decay < 1):
            raise ConfigError(f"train.ema_decay must be a number in [0, 1) (0 = off), got {self.ema_decay!r}")
        # Adam's running averages decay by beta per step: 1 or more never forgets, or grows without bound
        if len(self.betas) != 2 or not all(_is_number(b) and 0 <= b < 1 for b in self.betas):
            raise ConfigError(f"train.betas must be two numbers in [0, 1), got {self.betas!r}")
        for name in ("weight_decay", "grad_clip", "w_latent", "w_gan_spatial", "w_gan_temporal", "w_feature_matching",
                     "w_l1", "w_flow", "flow_still_weight", "flow_border_weight", "gp_weight", "w_grouping", "still_bias",
                     "w_part_labels", "w_rigid", "w_object"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0):
                hint = " (0 = no clipping)" if name == "grad_clip" else ""
                raise ConfigError(f"train.{name} must be a finite number >= 0{hint}, got {value}")
        if self.stage1_steps < 0 or self.stage2_steps < 0:
            raise ConfigError("train.stage1_steps and train.stage2_steps must be >= 0")
        if self.flow_border_px < 1:
            raise ConfigError(f"train.flow_border_px must be at least 1, got {self.flow_border_px}")
        if self.loss_frames < 0:
            raise ConfigError("train.loss_frames must be >= 0 (0 = all frames)")
        for name in ("gan_warmup_steps", "seed", "num_workers", "parts_steps"):
            if getattr(self, name) < 0:
                raise ConfigError(f"train.{name} must be >= 0, got {getattr(self, name)}")
        if self.seed > 2**32 - 1:  # NumPy's seeding stops there
            raise ConfigError(f"train.seed must be at most {2**32 - 1}, got {self.seed}")
        # intervals and counts: 0 divides by zero (ckpt_every) or silently disables a safety net (keep_last)
        for name in ("disc_frames", "log_every", "sample_every", "ckpt_every", "val_every", "val_batches", "keep_last"):
            if getattr(self, name) < 1:
                raise ConfigError(f"train.{name} must be >= 1, got {getattr(self, name)}")


@dataclass
class Config:
    """A full experiment: model, data and training sections of one TOML file."""

    name: str = "default"
    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    train: TrainConfig = field(default_factory=TrainConfig)

    def validate(self) -> None:
        self.model.validate()
        self.data.validate()
        self.train.validate()
        if self.model.object_mask and self.train.w_object <= 0:
            raise ConfigError("model.object_mask learns what can move from train.w_object (the true part maps); "
                              "with 0 it would stay at 'everything moves'")
        for name in ("w_flow", "w_rigid"):
            if getattr(self.train, name) > 0 and self.model.decoder != "warp":
                raise ConfigError(f"train.{name} > 0 needs model.decoder = 'warp' (the pixel decoder predicts no flow)")

    def to_dict(self) -> dict[str, Any]:
        """The TOML layout: [data] repeats the model's resolution, seq_len and poke_mode, in the order
        config files have always had them."""
        d = asdict(self)
        data, model = d["data"], d["model"]
        d["data"] = {"resolution": model["resolution"], "seq_len": model["seq_len"],
                     "frame_step": data.pop("frame_step"), "background_fraction": data.pop("background_fraction"),
                     "poke_mode": model["poke_mode"], **data}
        return d

    def save(self, path: str | Path) -> None:
        from ipoke_core.io_utils import atomic_write_bytes

        atomic_write_bytes(Path(path), tomli_w.dumps(self.to_dict()).encode())


def _is_number(value: Any) -> bool:
    """A real number (bool is an int in Python, but ``true`` is no learning rate)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _build(cls: type, data: dict[str, Any], where: str) -> Any:
    """Build dataclass ``cls`` from ``data``, refusing unknown keys and wrong types."""
    if not isinstance(data, dict):
        raise ConfigError(f"[{where}] must be a table")
    known = {f.name: f for f in fields(cls)}
    unknown = sorted(set(data) - set(known))
    if unknown:
        raise ConfigError(f"unknown key(s) in [{where}]: {', '.join(unknown)}; known: {', '.join(known)}")
    kwargs = {}
    defaults = cls()
    for key, value in data.items():
        default = getattr(defaults, key)
        if dataclasses.is_dataclass(default):
            value = _build(type(default), value, f"{where}.{key}" if where else key)
        elif isinstance(default, bool) and not isinstance(value, bool):
            raise ConfigError(f"{where}.{key} must be true or false, got {value!r}")
        elif _is_number(default) and isinstance(value, bool):
            raise ConfigError(f"{where}.{key} must be a number, got {value!r}")
        elif isinstance(default, float) and isinstance(value, int) and not isinstance(value, bool):
            try:
                value = float(value)
            except OverflowError:  # an integer of hundreds of digits
                raise ConfigError(f"{where}.{key} is too large ({len(str(value))} digits)") from None
        elif isinstance(default, (int, float, str, list)) and not isinstance(value, type(default)):
            raise ConfigError(f"{where}.{key} must be {type(default).__name__}, got {value!r}")
        kwargs[key] = value
    return cls(**kwargs)


def model_config_from_dict(data: dict[str, Any]) -> ModelConfig:
    cfg = _build(ModelConfig, data, "model")
    cfg.validate()
    return cfg


def _parse_value(raw: str):
    """A TOML value (``1e-4``, ``true``, ``[1, 2]``, ``"x"``); anything else is taken as a string."""
    try:
        return tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        return raw


def apply_overrides(data: dict, overrides: list[str]) -> dict:
    """Apply ``SECTION.KEY=VALUE`` strings to a config dict (in place, returned)."""
    for item in overrides:
        key, sep, raw = item.partition("=")
        parts = [k for k in key.strip().split(".") if k]
        if not sep or not parts:
            raise ConfigError(f"--set {item!r}: expected SECTION.KEY=VALUE, e.g. --set train.lr=1e-4")
        node = data
        for i, part in enumerate(parts[:-1]):
            if not isinstance(node.get(part), dict):
                known = ", ".join(k for k, v in node.items() if isinstance(v, dict))
                raise ConfigError(f"--set {key}: no section {'.'.join(parts[: i + 1])!r} (sections: {known})")
            node = node[part]
        if parts[-1] not in node:
            raise ConfigError(f"--set {key}: unknown key {parts[-1]!r}; known: {', '.join(node)}")
        node[parts[-1]] = _parse_value(raw.strip())
    return data


def config_from_dict(data: dict[str, Any]) -> Config:
    """Build and validate a Config; [data] may repeat the model's ``DATA_FROM_MODEL`` keys if they agree."""
    repeated: dict[str, Any] = {}
    if isinstance(data.get("data"), dict):
        section = dict(data["data"])
        repeated = {k: section.pop(k) for k in DATA_FROM_MODEL if k in section}
        data = {**data, "data": section}
    cfg = _build(Config, data, "")
    cfg.validate()
    for key, value in repeated.items():
        own = getattr(cfg.model, key)
        if value != own:
            raise ConfigError(f"data.{key} ({value}) differs from model.{key} ({own})")
    return cfg


def load_config(path_or_name: str | Path) -> Config:
    """Load a TOML config from a path, or a bundled preset by name (``plants64``, ``paper64``...)."""
    path = Path(path_or_name)
    if not path.exists() and not path.suffix:
        path = CONFIG_DIR / f"{path_or_name}.toml"
    if not path.exists():
        presets = ", ".join(sorted(p.stem for p in CONFIG_DIR.glob("*.toml")))
        raise ConfigError(f"config {path_or_name!s} not found (bundled presets: {presets})")
    if not path.is_file():  # a folder, or a FIFO that would block the read
        raise ConfigError(f"config {path} is {'a folder' if path.is_dir() else 'not a regular file'}; give a TOML file")
    try:
        data = tomllib.loads(path.read_text())
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise ConfigError(f"{path}: not valid TOML: {e}") from None
    except OSError as e:
        raise ConfigError(f"cannot read config {path}: {e.strerror or e}") from None
    data.setdefault("name", path.stem)
    return config_from_dict(data)


def default_model_config(resolution: int = 64) -> ModelConfig:
    """The shipped model: small enough to be interactive on a laptop CPU (see README benchmarks),
    motion first (warp decoder, the poke at every ConvGRU level, poke gain 8) like the presets."""
    motion = dict(decoder="warp", poke_every_level=True, poke_gain=8.0)
    if resolution <= 64:
        return ModelConfig(resolution=resolution, channels=[16, 32, 64], bottleneck=max(4, resolution // 8), depth=3,
                           poke_scale=4.0, **motion)
    extra = int(math.log2(resolution // 64))
    return ModelConfig(resolution=resolution, channels=[16] * extra + [16, 32, 64] if extra > 1 else [16, 32, 64, 64],
                       bottleneck=8, depth=min(4, 3 + extra), poke_scale=4.0 * resolution / 64, **motion)


def paper_model_config(resolution: int = 64) -> ModelConfig:
    """The paper's widths (App. E.1): 128@32, 256@16, 512@16 at 64x64 (3 GRU levels); 4 levels at 128x128."""
    if resolution == 64:
        return ModelConfig(resolution=64, channels=[128, 256, 512], bottleneck=16, depth=3)
    if resolution == 128:
        return ModelConfig(resolution=128, channels=[64, 128, 256, 512], bottleneck=16, depth=4)
    raise ConfigError("the paper's presets exist for 64 and 128 pixels")
