"""What can move: a mask of the object, read off the source image, that gates the motion.

The motion head answers a poke with a smooth field, and off the object that field shrinks only by a
factor of ~0.7 (docs/experiments/2026-12-07-drag.md): the background beside a poke is dragged along.
Every loss tried against the drag made the model move less everywhere, because one smooth field
cannot be 1 on the poked part and 0 a pixel away. A product of two fields can: the head keeps its
smooth answer to the poke, and an image-only mask of what can move at all (the object, not the
background, the table or a rooted pot) is 1 on the object and 0 beside it, with an edge as sharp as
the image's. Deciding what is object is segmentation, which a small U-Net learns well; deciding how
the object moves stays with the head.

The flow is backward (``frame(p) = source(p + flow(p))``), so the gate is read where the flow points:
a pixel keeps its flow in proportion to how movable the source pixel it shows is. The background
beside a part that moves onto it still shows the part (its flow points into the object), while
background the flow only drags shows itself, still.

The poke is gated too: a poke pushes only what can move, so a poke on the background or on a rooted
pot is no poke at all, and nothing moves. The decision is hard and made once per poke, at its point
(within ``POKE_REACH``; ``poke_where_movable``): with the poke map times the soft mask, a poke on
plant_2's pot whose square held mask values up to 0.16 (mean 0.02) still swayed the crown 1.3 px.

The mask learns the true object from synthetic data (``object_mask_loss``: every pixel of the source
labelled by the simulator's part map). Real video has no such labels, and a mask that starts at
"everything moves" gets no gradient through the gate's saturated ramp, so training one there is
refused (a mask learnt from the video's own motion is not built yet).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ipoke_core.model.mask_net import MaskUNet
from ipoke_core.model.warp import warp

# the mask starts at sigmoid(6) = 0.9975 everywhere: a checkpoint fine-tuned with a new mask starts
# from its own motion, and the label loss's gradient (p - y per logit) does not saturate there
START_LOGIT = 6.0


class ObjectMask(MaskUNet):
    """Source image -> how movable each pixel is.

    ``forward(image (B, 3, R, R) in [-1, 1]) -> (B, 1, R, R)`` in (0, 1): ~1 on the object, ~0 on what
    no poke moves.
    """

    def __init__(self, width: int = 16):
        super().__init__(1, width)
        nn.init.zeros_(self.to_logits.weight)
        nn.init.constant_(self.to_logits.bias, START_LOGIT)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.logits(image).float())


def movable_where(movable: torch.Tensor, threshold: float = 0.5) -> torch.Tensor:
    """The mask's decision, ``movable > threshold`` as 0 / 1 (float; ``model.movable_threshold``): what
    the motion the scores and heatmaps read treats as able to move."""
    return (movable.float() > threshold).float()


# a poke acts when the mask calls a pixel within this many pixels of its point movable: a user cannot
# hit a thin limb's one or two pixels exactly, and a tight mask (train.object_balance = false) calls
# the anti-aliased edge of a hand background, where a poke on it did nothing at all
POKE_REACH = 1


def poke_where_movable(poke_map: torch.Tensor, movable: torch.Tensor, radius: int,
                       reach: int = POKE_REACH, threshold: float = 0.5) -> torch.Tensor:
    """``poke_map (N, 2, H, W)`` with each poke kept whole where the mask calls a pixel within ``reach``
    of its centre movable (``movable_where`` at ``threshold``), and dropped whole where it does not:
    ``(N, 2, H, W)``.

    One decision per poke, at its point: gating the poke square pixel by pixel left a poke on a stem
    one or two pixels wide with a few of its 25 pixels, and the plant barely moved. A poke is the
    ``(2 radius + 1)``-wide square of ``ipoke_core.poke.rasterize``; its centre is the pixel whose whole
    neighbourhood of that size (inside the image) is poked.
    """
    k = 2 * radius + 1
    poked = (poke_map.detach().abs().sum(1, keepdim=True) > 0).float()
    full = F.avg_pool2d(poked, k, stride=1, padding=radius, count_include_pad=False) > 1 - 1e-4
    near_movable = F.max_pool2d(movable_where(movable.detach(), threshold), 2 * reach + 1, stride=1, padding=reach)
    centre_movable = full.float() * near_movable
    keep = F.max_pool2d(centre_movable, k, stride=1, padding=radius)
    return poke_map * keep.to(poke_map.dtype)


def movable_ramp(movable: torch.Tensor) -> torch.Tensor:
    """The mask as the flow gate uses it: exactly 1 where ``movable >= 0.75``, 0 where ``<= 0.25``,
    linear between. ``(N, 1, H, W)``.

    Not the mask itself: its value is below 1 on most of a thin leaf or limb (anti-aliased edges at
    64 px), which shrank the motion across such parts (the rigidity residual of the fine-tunes
    doubled). Not its hard decision either: gated by a step (straight-through gradient), the
    fine-tunes' motion got worse everywhere (flow loss +10 %, truth corr. 0.81 -> 0.65 on figures'
    seed 7; docs/experiments/2026-12-07-object-mask.md), as if the step made the flow's gradients at
    the edge noisy. The ramp is 1 over the object and keeps a smooth edge.
    """
    return ((movable.float() - 0.25) / 0.5).clamp(0, 1)


def gate_flow(flow: torch.Tensor, movable: torch.Tensor, reach: int = 0) -> torch.Tensor:
    """``flow (N, 2, H, W)`` backward, in pixels, kept where the pixel can move or the source pixel it
    draws can (``movable (N, 1, H, W)`` of the source, as ``movable_ramp``, read at ``p`` and at
    ``p + flow(p)``, the larger of the two), scaled down elsewhere: ``(N, 2, H, W)``. ``reach``: the
    mask is first replaced by its largest value within that many pixels (``model.gate_reach``).

    The reach: with a tight mask (``train.object_balance = false``) the anti-aliased edge of a leaf
    or limb sits on the ramp, so the edge moved less than the part and the part's motion bent
    (rigidity residual +30-40 % on plants); read one pixel out, the edge moves with its part.

    Where the flow points decides for the background a part moves over (it shows the part). Where
    the pixel is decides for the place a part uncovers: read only where the flow points, the gate cut
    the flow that smears the background into the hole, and a poked stem left a pale copy of itself
    where it stood (the RGB residual had not learnt to paint the hole).
    """
    if reach > 0:
        movable = F.max_pool2d(movable.float(), 2 * reach + 1, stride=1, padding=reach)
    ramp = movable_ramp(movable)
    return flow * torch.maximum(ramp, warp(ramp, flow.float()))


def object_mask_loss(movable: torch.Tensor, parts: torch.Tensor, balanced: bool = True) -> torch.Tensor:
    """Binary cross-entropy of the mask against the true object. ``balanced``: the mean over object
    pixels and the mean over background pixels averaged, so that a thin plant counts as much as the
    wall behind it; else the mean over all pixels.

    ``movable (B, 1, R, R)`` in (0, 1); ``parts (B, R, R)`` int true part map, -1 = background.
    Returns a scalar; balanced, an image with no object (or no background) counts its one class.

    Balanced, an object pixel weighs (background / object) times a background pixel, ~15x on plants
    (6 % of the pixels), ~7x on figures (13 %): the anti-aliased pixel beside the object, part object
    colour and always labelled background, comes out above 0.5 (75 % of them on plants), a rim that
    moves with the object and drags its neighbours.
    """
    target = (parts >= 0).float()[:, None]
    bce = F.binary_cross_entropy(movable.float().clamp(1e-6, 1 - 1e-6), target, reduction="none")
    if not balanced:
        return bce.mean()
    per_class = []
    for weight in (target, 1 - target):
        count = weight.sum((1, 2, 3))
        per_class.append(((bce * weight).sum((1, 2, 3)) / count.clamp_min(1), count > 0))
    (obj, has_obj), (bg, has_bg) = per_class
    total = obj * has_obj + bg * has_bg
    return (total / (has_obj.float() + has_bg.float()).clamp_min(1)).mean()
