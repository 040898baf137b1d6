"""The dynamics model F: how the object state evolves after a poke (paper Eq. 3-5, App. C).

``HierarchicalDynamics`` is the paper's model: one ConvGRU per level of the object-state
hierarchy. The coarsest level is driven by the latent poke phi; each finer level n is driven by
the (learned-upsampled) new state of level n-1, so level n approximates the n-th order time
derivative of the coarse dynamics (App. C):

    h^1_t = GRU_1(h^1_{t-1}, phi)
    h^n_t = GRU_n(h^n_{t-1}, up_n(h^{n-1}_t)),   n = 2..K,    h^n_0 = sigma_n

``SingleGRUDynamics`` is the "Ours RNN" ablation: K stacked ConvGRU cells at the bottleneck only.

With ``cfg.poke_every_level`` (motion-first presets) every cell also reads the rasterised poke map,
area-resized to its level: ``h^n_t = GRU_n(h^n_{t-1}, [up_n(h^{n-1}_t), poke_n])``. Through phi alone
the poke reached the state as a few bottleneck pixels, and the gates learned to ignore it.
"""
from __future__ import annotations

import torch
from torch import nn

import torch.nn.functional as F

from ipoke_core.config import ModelConfig
from ipoke_core.model.blocks import ConvGRUCell, upsampler


def poke_at(poke_map: torch.Tensor | None, like: torch.Tensor) -> torch.Tensor | None:
    """The poke map ``(B, 2, R, R)`` area-resized to the size of ``like`` (None passes through)."""
    if poke_map is None:
        return None
    return F.adaptive_avg_pool2d(poke_map, like.shape[-2:]).to(like.dtype)


def _with_poke(x: torch.Tensor, poke: torch.Tensor | None) -> torch.Tensor:
    return x if poke is None else torch.cat([x, poke], 1)


class HierarchicalDynamics(nn.Module):
    """K ConvGRU cells on the K coarsest encoder levels.

    ``levels``: encoder level indices, coarsest first (``[L-1, L-2, ..., L-K]``).
    ``forward(sigma, phi, steps, poke_map=None)``: ``sigma`` is the list of initial states for
    ``levels`` (``(B, C_k, S_k, S_k)``), ``phi`` the latent poke ``(B, C_{L-1}, S, S)``, ``poke_map``
    ``(B, 2, R, R)`` (read when ``cfg.poke_every_level``); returns ``steps`` lists of K states, the
    predicted hierarchy for frames 1..steps.
    """

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        n = len(cfg.channels)
        self.levels = [n - 1 - k for k in range(cfg.depth)]
        ch = [cfg.channels[i] for i in self.levels]
        size = [cfg.level_sizes()[i] for i in self.levels]
        self.poke_every_level = cfg.poke_every_level
        extra = 2 if cfg.poke_every_level else 0
        self.cells = nn.ModuleList(
            [ConvGRUCell(cfg.channels[-1] + extra, ch[0])]
            + [ConvGRUCell(ch[k] + extra, ch[k]) for k in range(1, len(ch))]
        )
        self.ups = nn.ModuleList([upsampler(ch[k - 1], ch[k], size[k] // size[k - 1]) for k in range(1, len(ch))])

    def forward(self, sigma: list[torch.Tensor], phi: torch.Tensor, steps: int,
                poke_map: torch.Tensor | None = None) -> list[list[torch.Tensor]]:
        h = list(sigma)
        use = poke_map if self.poke_every_level else None
        pokes = [poke_at(use, s) for s in sigma]
        out = []
        for _ in range(steps):
            h[0] = self.cells[0](_with_poke(phi, pokes[0]), h[0])
            for k in range(1, len(h)):
                h[k] = self.cells[k](_with_poke(self.ups[k - 1](h[k - 1]), pokes[k]), h[k])
            out.append(list(h))
        return out


class SingleGRUDynamics(nn.Module):
    """Ablation "Ours RNN": ``cfg.depth`` stacked ConvGRU cells, all at the bottleneck.

    Same interface as ``HierarchicalDynamics`` with ``levels = [L-1]``; every cell starts from
    sigma at the bottleneck, the first is driven by phi, each next one by the new state below it.
    """

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        c = cfg.channels[-1]
        self.levels = [len(cfg.channels) - 1]
        self.poke_every_level = cfg.poke_every_level
        extra = 2 if cfg.poke_every_level else 0
        self.cells = nn.ModuleList([ConvGRUCell(c + extra, c) for _ in range(cfg.depth)])

    def forward(self, sigma: list[torch.Tensor], phi: torch.Tensor, steps: int,
                poke_map: torch.Tensor | None = None) -> list[list[torch.Tensor]]:
        h = [sigma[0]] * len(self.cells)
        poke = poke_at(poke_map if self.poke_every_level else None, sigma[0])
        out = []
        for _ in range(steps):
            x = phi
            for j, cell in enumerate(self.cells):
                h[j] = cell(_with_poke(x, poke), h[j])
                x = h[j]
            out.append([h[-1]])
        return out


def build_dynamics(cfg: ModelConfig) -> HierarchicalDynamics | SingleGRUDynamics:
    return HierarchicalDynamics(cfg) if cfg.dynamics == "hierarchy" else SingleGRUDynamics(cfg)
