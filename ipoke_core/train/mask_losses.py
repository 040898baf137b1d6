"""The mask nets' own training losses: the part masks' grouping (from the true flow) and part labels
(from the true part map), the object mask's labels (from the true part map), and their weighted sum
(``train.w_grouping``, ``train.w_part_labels``, ``train.w_object``).

Both stage-2 steps use them: ``Engine.parts_step`` trains the masks on these alone (the first
``parts_steps`` of stage 2), ``Engine.stage2_step`` adds them to the video loss (Eq. 8 + masks).
"""
from __future__ import annotations

import torch

from ipoke_core.config import TrainConfig
from ipoke_core.model.object_mask import object_mask_loss
from ipoke_core.model.parts import grouping_loss, part_label_loss


def mask_losses(masks: torch.Tensor | None, true_flow: torch.Tensor | None, true_parts: torch.Tensor | None,
                decode: list[int] | None, tc: TrainConfig, still: bool,
                movable: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
    """The mask losses that are on (weight > 0): ``grouping``, ``part_labels`` and ``object``; none
    without masks.

    Args:
        masks: ``(B, K, R, R)`` the part masks of the sources, or None (a model without part masks).
        true_flow: ``(B, T, 2, R, R)`` the batch's backward flow targets (needed by grouping).
        true_parts: ``(B, R, R)`` int64 true part maps, -1 = background (needed by part labels).
        decode: the frame indices the step decodes (``loss_frame_indices``), None for all T: the
            grouping loss sees the flow of those frames only, as the flow loss does.
        still: ``model.still_part``: mask 0 is the still part.
        movable: ``(B, 1, R, R)`` the object masks of the sources, or None (no ``model.object_mask``).
    """
    losses = {}
    if movable is not None and tc.w_object > 0:
        if true_parts is None:
            raise ValueError("model.object_mask needs the true part maps: synthetic data (ipoke synth) whose "
                             "windows start at frame 0")
        losses["object"] = object_mask_loss(movable, true_parts, balanced=tc.object_balance)
    if masks is None:
        return losses
    if tc.w_grouping > 0:
        if true_flow is None:
            raise ValueError("model.part_masks needs flow targets in the batch (the warp decoder's data)")
        losses["grouping"] = grouping_loss(masks, true_flow if decode is None else true_flow[:, decode],
                                           still=still, still_bias=tc.still_bias)
    if tc.w_part_labels > 0:
        if true_parts is None:
            raise ValueError("train.w_part_labels needs the true part maps: synthetic data (ipoke synth) "
                             "whose windows start at frame 0")
        losses["part_labels"] = part_label_loss(masks, true_parts, still=still)
    return losses


def mask_total(losses: dict[str, torch.Tensor], tc: TrainConfig) -> torch.Tensor | float:
    """``w_grouping * grouping + w_part_labels * part_labels + w_object * object`` (scalar); a term that
    is off counts 0."""
    return (tc.w_grouping * losses.get("grouping", 0.0) + tc.w_part_labels * losses.get("part_labels", 0.0)
            + tc.w_object * losses.get("object", 0.0))
