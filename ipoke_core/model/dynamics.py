"""The dynamics model F: how the object state evolves after a poke (paper Eq. 3-5, App. C).

``HierarchicalDynamics`` is the paper's model: one ConvGRU per level of the object-state
hierarchy. The coarsest level is driven by the latent poke phi; each finer level n is driven by
the (learned-upsampled) new state of level n-1, so level n approximates the n-th order time
derivative of the coarse dynamics (App. C):

    h^1_t = GRU_1(h^1_{t-1}, phi)
    h^n_t = GRU_n(h^n_{t-1}, up_n(h^{n-1}_t)),   n = 2..K,    h^n_0 = sigma_n

``SingleGRUDynamics`` is the "Ours RNN" ablation: K stacked ConvGRU cells at the bottleneck only.
"""
from __future__ import annotations

import torch
from torch import nn

from ipoke_core.config import ModelConfig
from ipoke_core.model.blocks import ConvGRUCell, upsampler


class HierarchicalDynamics(nn.Module):
    """K ConvGRU cells on the K coarsest encoder levels.

    ``levels``: encoder level indices, coarsest first (``[L-1, L-2, ..., L-K]``).
    ``forward(sigma, phi, steps)``: ``sigma`` is the list of initial states for ``levels``
    (``(B, C_k, S_k, S_k)``), ``phi`` the latent poke ``(B, C_{L-1}, S, S)``; returns
    ``steps`` lists of K states, the predicted hierarchy for frames 1..steps.
    """

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        n = len(cfg.channels)
        self.levels = [n - 1 - k for k in range(cfg.depth)]
        ch = [cfg.channels[i] for i in self.levels]
        size = [cfg.level_sizes()[i] for i in self.levels]
        self.cells = nn.ModuleList(
            [ConvGRUCell(cfg.channels[-1], ch[0])] + [ConvGRUCell(ch[k], ch[k]) for k in range(1, len(ch))]
        )
        self.ups = nn.ModuleList([upsampler(ch[k - 1], ch[k], size[k] // size[k - 1]) for k in range(1, len(ch))])

    def forward(self, sigma: list[torch.Tensor], phi: torch.Tensor, steps: int) -> list[list[torch.Tensor]]:
        h = list(sigma)
        out = []
        for _ in range(steps):
            h[0] = self.cells[0](phi, h[0])
            for k in range(1, len(h)):
                h[k] = self.cells[k](self.ups[k - 1](h[k - 1]), h[k])
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
        self.cells = nn.ModuleList([ConvGRUCell(c, c) for _ in range(cfg.depth)])

    def forward(self, sigma: list[torch.Tensor], phi: torch.Tensor, steps: int) -> list[list[torch.Tensor]]:
        h = [sigma[0]] * len(self.cells)
        out = []
        for _ in range(steps):
            x = phi
            for j, cell in enumerate(self.cells):
                h[j] = cell(x, h[j])
                x = h[j]
            out.append([h[-1]])
        return out


def build_dynamics(cfg: ModelConfig) -> HierarchicalDynamics | SingleGRUDynamics:
    return HierarchicalDynamics(cfg) if cfg.dynamics == "hierarchy" else SingleGRUDynamics(cfg)
