"""Which parameters each optimiser of ``Engine`` trains, the optimisers and their grad scalers.

- ``ae``: object encoder + decoder (stage 1, the frame autoencoder);
- ``dyn``: poke encoder + dynamics + decoder (+ part masks), stage 2; with
  ``schedule = "single_stage"`` also the object encoder (no pretraining, all end to end);
- ``disc``: both discriminators;
- ``parts`` (only with part masks): the masks alone, for the first ``parts_steps`` of stage 2.
"""
from __future__ import annotations

import torch
from torch import nn

from ipoke_core.config import TrainConfig
from ipoke_core.model import IPoke


def build_optimizers(model: IPoke, discs: nn.Module, tc: TrainConfig, fused: bool, fp16: bool) -> tuple[
        dict[str, list[nn.Parameter]], dict[str, torch.optim.Adam], dict[str, torch.amp.GradScaler]]:
    """``(params, optimisers, scalers)``, each keyed by optimiser name (module docstring).

    Adam with ``train.lr``, ``train.betas``, ``train.weight_decay`` (``fused`` on CUDA); ``parts`` at
    ``train.parts_lr``: the masks start from scratch, after the rest is trained. The grad scalers
    are on only with ``fp16`` (bf16 and fp32 need no loss scaling).
    """
    m = model
    enc_dec = list(m.object_encoder.parameters()) + list(m.decoder.parameters())
    dyn = list(m.poke_encoder.parameters()) + list(m.dynamics.parameters()) + list(m.decoder.parameters())
    masks = [p for net in (m.part_masks, m.object_mask) if net is not None for p in net.parameters()]
    dyn += masks
    if tc.schedule == "single_stage":
        dyn += list(m.object_encoder.parameters())
    adam = dict(lr=tc.lr, betas=tuple(tc.betas), weight_decay=tc.weight_decay)
    if fused:
        adam["fused"] = True
    params = {"ae": enc_dec, "dyn": dyn, "disc": list(discs.parameters())}
    opt = {name: torch.optim.Adam(p, **adam) for name, p in params.items()}
    if masks:  # the parts stage: the masks alone, from scratch, at their own rate
        params["parts"] = masks
        opt["parts"] = torch.optim.Adam(params["parts"], **{**adam, "lr": tc.parts_lr})
    scaler = {name: torch.amp.GradScaler("cuda", enabled=fp16) for name in opt}
    return params, opt, scaler
