"""Moving parts: soft part masks from the source image, and motion that moves each part as one piece.

The simulator's parts (and, to first order, a plant's leaves or a person's limbs) are rigid: every
pixel of a part moves by the same affine map. ``PartMasks`` assigns every pixel of the source a
soft membership in K parts, from the image alone. ``project_flow`` replaces a dense flow by its
best piecewise-affine version under those masks: per frame and part, the weighted least-squares
affine fit of the flow over the part's pixels, blended by the memberships. A part then moves as a
whole or not at all; motion cannot leak across a part's edge into the background beside it.

The masks are learnt from what moves together (``grouping_loss``, after Choudhury et al. 2022,
"Guess What Moves"): on every training clip the exact flow (DIS flow on real video) must be
explained by one affine motion per mask. Nothing else tells the masks what a part is, so the same
loss works on a user's own videos. More masks never explain a flow worse, so the loss has no
collapse to one mask; pixels that never move apart may share one.

With ``model.still_part``, part 0 is the *still part*: it never moves. What no poke moves (the
background, a rooted pot) has a place to be exactly still; otherwise the background is a part like
any other, and whatever dense flow leaks onto it is spread over all of it by its affine fit.

Coordinates: fits use pixel centres scaled to [-1, 1] and centred on each part's centroid, so the
2x2 linear term and the translation separate and tiny parts stay well conditioned.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from ipoke_core.model.mask_net import MaskUNet
from ipoke_core.model.mask_net import unit_grid as _unit_grid
from ipoke_core.model.warp import warp

# ridge on a part's linear term, relative to its mass: parts narrower than ~sqrt(RIDGE) (in units of
# half the image, ~1.5 px at 64 px) fall back to a pure translation instead of an ill-posed rotation
RIDGE = 1e-3
RIDGE_FLOOR = 1e-3  # ... and at least this much (a 20 px part 0.05 wide loses 2 % of its rotation)
EPS = 1e-6


class PartMasks(MaskUNet):
    """Source image -> soft part masks (``MaskUNet``'s K logits, softmax over K).

    ``forward(image (B, 3, R, R) in [-1, 1]) -> (B, K, R, R)``, non-negative, summing to 1 over K.
    """

    def __init__(self, n_parts: int, width: int = 32):
        super().__init__(n_parts, width)
        self.n_parts = n_parts

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return torch.softmax(self.logits(image).float(), 1)


@dataclass
class PartMotion:
    """Each part's best affine motion in one frame: ``flow(p) ~ shift + lin^T (x(p) - centre)``, x in
    [-1, 1] units, flow in pixels. ``shift (N, K, 2)``, ``lin (N, K, 2, 2)`` (``lin[i, c]``: how flow
    component c changes with coordinate i), ``centre (N, K, 2)``; ``residual (N, K)``, the summed
    squared error of the fit over the part's pixels (weighted by membership)."""

    shift: torch.Tensor
    lin: torch.Tensor
    centre: torch.Tensor
    residual: torch.Tensor


def fit_parts(flow: torch.Tensor, masks: torch.Tensor, still: bool = False) -> PartMotion:
    """Mask-weighted least-squares affine fits of ``flow (N, 2, H, W)`` over ``masks (N, K, H, W)``.

    Everything comes from the weighted moments of 14 per-pixel features (one batched matrix product
    over the pixels), so no ``(N, K, 2, H, W)`` tensor is ever built. Moments in float32, the 2x2
    solves in float64. With
    ``still``, part 0 is the still part: its motion is zero whatever the flow (its residual is
    then the flow's whole energy over it).
    """
    n, k, h, w = masks.shape
    f = flow.float().reshape(n, 2, h * w)
    x = _unit_grid(h, w, flow.device).expand(n, -1, -1)  # (N, 2, P)
    xx = x[:, :, None] * x[:, None]  # (N, 2, 2, P)
    xf = x[:, :, None] * f[:, None]  # (N, 2 coords, 2 flow, P)
    feats = torch.cat([torch.ones_like(f[:, :1]), x, xx.reshape(n, 4, -1), f, xf.reshape(n, 4, -1),
                       (f**2).sum(1, keepdim=True)], 1)  # (N, 14, P)
    mom = torch.bmm(masks.float().reshape(n, k, h * w), feats.transpose(1, 2))  # (N, K, 14)
    mass = mom[..., 0] + EPS
    s_x, s_xx, s_f, s_xf, s_ff = mom[..., 1:3], mom[..., 3:7].reshape(n, k, 2, 2), mom[..., 7:9], \
        mom[..., 9:13].reshape(n, k, 2, 2), mom[..., 13]
    centre = s_x / mass[..., None]
    mean = s_f / mass[..., None]
    cov = s_xx - s_x[..., :, None] * centre[..., None, :]  # centred second moments (N, K, 2, 2)
    cross = s_xf - s_x[..., :, None] * mean[..., None, :]  # centred coords x flow
    # in float64, with an absolute floor on the ridge: a part absent from the frame has zero mass and a
    # covariance that float32 rounding can leave slightly negative, which made the 2x2 system singular
    eye = torch.eye(2, device=flow.device, dtype=torch.float64)
    reg = cov.double() + (RIDGE * mass.double() + RIDGE_FLOOR)[..., None, None] * eye
    lin = torch.linalg.solve(0.5 * (reg + reg.transpose(-1, -2)), cross.double()).float()
    s_ff_c = s_ff - (s_f * mean).sum(-1)
    residual = s_ff_c - 2 * (lin * cross).sum((-2, -1)) + (lin * (cov @ lin)).sum((-2, -1))
    if still:
        moves = torch.ones(k, device=flow.device)
        moves[0] = 0
        mean, lin = mean * moves[:, None], lin * moves[:, None, None]
        residual = torch.cat([s_ff[:, :1], residual[:, 1:]], 1)
    return PartMotion(mean, lin, centre, residual.clamp_min(0))


def affine_fits(flow: torch.Tensor, masks: torch.Tensor, still: bool = False) -> torch.Tensor:
    """Per part, the mask-weighted least-squares affine fit of the flow, evaluated at every pixel.

    ``flow (N, 2, H, W)``, ``masks (N, K, H, W)`` -> ``(N, K, 2, H, W)``: what part k's affine motion
    predicts at each pixel (for inspection and tests; the model uses ``project_flow``).
    """
    n, k, h, w = masks.shape
    fit = fit_parts(flow, masks, still)
    d = _unit_grid(h, w, flow.device)[None, None] - fit.centre[..., None]  # (N, K, 2, P)
    out = fit.shift[..., None] + torch.einsum("nkic,nkip->nkcp", fit.lin, d)
    return out.reshape(n, k, 2, h, w)


def warp_masks(masks: torch.Tensor, flow: torch.Tensor) -> torch.Tensor:
    """Masks of the source carried to a frame with backward ``flow (N, 2, H, W)``: ``(N, K, H, W)``.
    Bilinear sampling keeps them a convex combination (they still sum to 1)."""
    return warp(masks.float(), flow.float())


def project_flow(flow: torch.Tensor, masks: torch.Tensor, still: bool = False) -> torch.Tensor:
    """The piecewise-affine version of ``flow (N, 2, H, W)`` under the source's ``masks (N, K, H, W)``:
    each part's affine fit, blended by the (flow-carried) memberships. ``(N, 2, H, W)`` float32.

    The blend of K affine maps at a pixel is itself affine, so the memberships mix the K parameter
    sets (a ``(N, P, K) x (N, K, 6)`` product) and each pixel applies its own: cheap at any K.
    """
    n, k, h, w = masks.shape
    carried = warp_masks(masks, flow)  # (N, K, H, W)
    fit = fit_parts(flow, carried, still)
    # shift + lin^T (x - centre) = (shift - lin^T centre) + lin^T x
    offset = fit.shift - torch.einsum("nkic,nki->nkc", fit.lin, fit.centre)
    memberships = carried.reshape(n, k, h * w).transpose(1, 2)  # (N, P, K)
    params = torch.bmm(memberships, torch.cat([offset, fit.lin.reshape(n, k, 4)], -1))  # (N, P, 6)
    x = _unit_grid(h, w, flow.device).T  # (P, 2)
    lin = params[..., 2:].reshape(n, h * w, 2, 2)
    out = params[..., :2] + (x[None, :, :, None] * lin).sum(2)
    return out.transpose(1, 2).reshape(n, 2, h, w)


def grouping_loss(masks: torch.Tensor, flow: torch.Tensor, eps_px: float = 0.1, still: bool = False,
                  still_bias: float = 0.0) -> torch.Tensor:
    """How badly one affine motion per mask explains the true flow of each frame (Guess What Moves).

    ``masks (B, K, R, R)`` of the sources, ``flow (B, T, 2, R, R)`` the true backward flows. Per frame,
    ``sum_k sum_p m_k(p) |flow(p) - fit_k(p)|^2`` averaged over pixels, divided by the frame's mean
    squared flow (+ ``eps_px^2``) so that a leaf's 1 px sway counts as much as a figure's 8 px swing,
    then averaged over frames. Linear in the memberships: a pixel pays least for its best-fitting
    part, so the masks become hard. Frames that do not move cost nothing.

    With ``still`` (part 0 never moves), a still pixel costs nothing in part 0 and nothing in any
    part whose fit is zero: nothing would draw the background into part 0. ``still_bias`` charges
    every pixel outside part 0 that much (a share of the loss's scale) in frames where something
    moves, so that what stands still settles in the still part and what moves pays it gladly.
    """
    b, t = flow.shape[:2]
    f = flow.float().reshape(b * t, *flow.shape[2:])
    carried = warp_masks(masks.float().repeat_interleave(t, 0), f)
    pixels = f.shape[-2] * f.shape[-1]
    residual = fit_parts(f, carried, still).residual.sum(1) / pixels  # (B*T,)
    energy = (f**2).sum(1).mean((-2, -1))
    loss = residual / (energy + eps_px**2)
    if still and still_bias > 0:
        outside = 1 - carried[:, 0].mean((-2, -1))  # share of the frame outside the still part
        loss = loss + still_bias * outside * (energy > 0).float()
    return loss.mean()


def match_parts(mean: torch.Tensor, present: torch.Tensor, still: bool = False) -> torch.Tensor:
    """Which mask stands for which true part: a greedy one-to-one matching on mean membership.

    ``mean (B, K, G)``: each group's mean membership in each mask; ``present (B, G)``: the groups in
    each image. Repeatedly the (mask, group) pair with the highest mean membership is matched and both
    are taken out, so two parts never share a mask while a free one is left (a part the masks have
    merged with another is handed the best free mask, which breaks the tie the masks cannot break
    themselves). Groups left over when the masks run out take their best mask. With ``still`` group 0
    (the background) is matched to mask 0, the still part, and no other group may take it.
    Returns ``(B, G)`` long mask index per group (any value for absent groups).
    """
    b, k, g = mean.shape
    score = mean.detach().clone().float()
    score[~present[:, None, :].expand(-1, k, -1)] = -1.0
    best = mean.detach().argmax(1)  # (B, G): fallback for groups left over
    taken = torch.full((b, g), -1, dtype=torch.long, device=mean.device)
    if still:
        taken[:, 0] = 0
        score[:, 0, :] = -1.0
        score[:, :, 0] = -1.0
    for i in range(b):
        s = score[i]
        for _ in range(min(k, int(present[i].sum()))):
            flat = int(s.argmax())
            mask, group = divmod(flat, g)
            if s[mask, group] < 0:
                break
            taken[i, group] = mask
            s[mask, :] = -1.0
            s[:, group] = -1.0
    return torch.where(taken >= 0, taken, best)


def part_label_loss(masks: torch.Tensor, parts: torch.Tensor, still: bool = False, eps: float = 1e-6) -> torch.Tensor:
    """How far the masks are from the true parts, whatever part each mask stands for.

    Where the data knows its parts (the simulator's part map), the masks can learn them directly at
    the grain the physics moves them, which the grouping loss only reaches for parts that some
    training clip moved apart. No mask is tied to a part number: per image, each true part is matched
    to one mask (``match_parts``, as DETR matches objects to queries), then every pixel pays the
    cross-entropy of its part's mask, averaged over each part's pixels and then over the parts, so a
    two-pixel leaf weighs as much as the trunk. Background pixels (label -1) form one more group;
    with ``still`` they belong in part 0, the still part.

    (A matching-free loss on pairwise affinities was tried first and measured worse: it let several
    parts settle in one mask with the same soft membership, a tie its gradients cannot break.)

    Args:
        masks: ``(B, K, R, R)`` memberships, summing to 1 over K.
        parts: ``(B, R, R)`` int true part map of each source, -1 = background.
        still: part 0 is the still part (``model.still_part``).
    Returns:
        scalar, 0 for masks that hold each true part whole in a mask of its own (and, with ``still``,
        the background in part 0).
    """
    b, k, h, w = masks.shape
    m = masks.float().reshape(b, k, h * w)  # (B, K, P)
    groups = parts.reshape(b, h * w).long() + 1  # 0 = background, g >= 1 the true parts
    n_groups = int(groups.max()) + 1
    one_hot = F.one_hot(groups, n_groups).float()  # (B, P, G)
    count = one_hot.sum(1)  # (B, G)
    present = count > 0
    mean = torch.bmm(m, one_hot) / count.clamp_min(1)[:, None]  # (B, K, G): each group's mean membership
    target = torch.gather(match_parts(mean, present, still), 1, groups)  # (B, P): each pixel's mask
    pixel = -torch.gather(m, 1, target[:, None]).squeeze(1).clamp_min(eps).log()  # (B, P)
    per_group = torch.bmm(pixel[:, None], one_hot)[:, 0] / count.clamp_min(1)  # (B, G)
    return ((per_group * present).sum(1) / present.sum(1)).mean()
