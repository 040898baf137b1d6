"""Training losses: perceptual (Eq. 6), latent matching (Eq. 7), hinge GAN, R1 penalty, feature matching.

The perceptual loss of the paper compares VGG features (Johnson et al. 2016). VGG weights are
never downloaded: the user passes a torchvision-format VGG16/VGG19 state dict
(``--vgg-weights``). Without one the trainer uses ``FallbackPerceptual``, an honest
pixel-space substitute (L1 + SSIM + image-gradient L1) that needs no pretrained network; the
choice is written into the run's config and log.

All image arguments are ``(N, 3, H, W)`` in [-1, 1].
"""
from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from ipoke_core.metrics.ssim import gaussian_kernel, ssim_map
from ipoke_core.metrics.weights import WeightsError, load_state_dict_file


class VGGWeightsError(WeightsError):
    """The file given as VGG weights is missing or not a torchvision VGG16/VGG19 state dict."""


# Conv layer indices inside torchvision's ``vgg.features`` and the ReLU outputs we compare:
# relu1_2, relu2_2, relu3_3 (relu3_4), relu4_3 (relu4_4) as in Johnson et al.
_VGG_CONVS = {
    "vgg16": [0, 2, 5, 7, 10, 12, 14, 17, 19, 21, 24, 26, 28],
    "vgg19": [0, 2, 5, 7, 10, 12, 14, 16, 19, 21, 23, 25, 28, 30, 32, 34],
}
_VGG_TAPS = {"vgg16": [3, 8, 15, 22], "vgg19": [3, 8, 17, 26]}
_VGG_CFG = {"vgg16": "D", "vgg19": "E"}
_IMAGENET_MEAN = (0.485, 0.456, 0.406)
_IMAGENET_STD = (0.229, 0.224, 0.225)


def load_vgg_features(path: str | Path) -> tuple[nn.Sequential, str]:
    """Build torchvision's VGG16/19 ``features`` up to relu4_3/relu4_4 and load ``path`` into it.

    Accepts the full torchvision state dict (``features.N.weight`` ...) or one of ``features``
    alone (``N.weight``), as ``.pth`` (read with ``weights_only=True``) or ``.safetensors``.
    Returns ``(features, "vgg16" | "vgg19")``; raises VGGWeightsError naming what is wrong.
    """
    from torchvision.models.vgg import cfgs, make_layers

    path = Path(path)
    sd = load_state_dict_file(path, "VGG", VGGWeightsError,
                              " (expected a torchvision VGG16/VGG19 state dict, e.g. vgg16-397923af.pth)")
    if not any(k.startswith("features.") for k in sd):
        sd = {f"features.{k}": v for k, v in sd.items()}
    arch = "vgg19" if "features.34.weight" in sd else "vgg16"
    last = _VGG_TAPS[arch][-1]
    needed = [i for i in _VGG_CONVS[arch] if i < last]
    missing = [f"features.{i}.{p}" for i in needed for p in ("weight", "bias") if f"features.{i}.{p}" not in sd]
    if missing:
        raise VGGWeightsError(
            f"{path} is not a torchvision VGG16/VGG19 state dict: missing {', '.join(missing[:4])}"
            f"{' ...' if len(missing) > 4 else ''} (found {len(sd)} tensors, e.g. {next(iter(sd), 'none')})"
        )
    features = make_layers(cfgs[_VGG_CFG[arch]])[: last + 1]
    own = features.state_dict()
    for key, target in own.items():
        src = sd[f"features.{key}"]
        if src.shape != target.shape:
            raise VGGWeightsError(
                f"{path}: tensor features.{key} has shape {tuple(src.shape)}, {arch} needs {tuple(target.shape)}"
            )
        if not torch.isfinite(src).all():
            raise VGGWeightsError(f"{path}: tensor features.{key} contains NaN or inf")
    features.load_state_dict({k: sd[f"features.{k}"].float() for k in own})
    return features, arch


class VGGPerceptual(nn.Module):
    """Eq. 6: mean over VGG layers l of ``|phi_l(x) - phi_l(y)|_1`` (frozen VGG, ImageNet normalisation)."""

    def __init__(self, weights: str | Path):
        super().__init__()
        self.features, self.arch = load_vgg_features(weights)
        self.features.requires_grad_(False).eval()
        self.taps = set(_VGG_TAPS[self.arch])
        self.register_buffer("mean", torch.tensor(_IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(_IMAGENET_STD).view(1, 3, 1, 1), persistent=False)
        self.name = f"vgg:{self.arch}"

    def train(self, mode: bool = True) -> VGGPerceptual:
        super().train(mode)
        self.features.eval()  # frozen feature extractor, whatever the trainer does
        return self

    def _feats(self, x: torch.Tensor) -> list[torch.Tensor]:
        x = ((x + 1) / 2 - self.mean) / self.std
        out = []
        for i, layer in enumerate(self.features):
            x = layer(x)
            if i in self.taps:
                out.append(x)
        return out

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """``x``, ``y``: ``(N, 3, H, W)`` in [-1, 1] -> scalar (``y`` is the target, no gradient)."""
        with torch.no_grad():
            fy = self._feats(y)
        fx = self._feats(x)
        return sum(F.l1_loss(a, b) for a, b in zip(fx, fy)) / len(fx)


def ssim(x: torch.Tensor, y: torch.Tensor, window: int = 7, sigma: float = 1.5) -> torch.Tensor:
    """Mean SSIM (Wang et al. 2004) of ``(N, 3, H, W)`` images in [-1, 1], Gaussian window, per channel:
    the loss's SSIM (the equation is ``metrics.ssim.ssim_map``; the metric uses an 11-px valid window).

    Always fp32, also under autocast: the variances are differences of nearly equal means
    (``E[x^2] - E[x]^2``), which bf16's 8-bit mantissa turns into noise larger than the stabiliser
    ``c2`` on flat regions; bf16 SSIM made GPU training diverge within 50 steps.
    """
    with torch.autocast(x.device.type, enabled=False):
        return _ssim_fp32(x.float(), y.float(), window, sigma)


def _ssim_fp32(x: torch.Tensor, y: torch.Tensor, window: int, sigma: float) -> torch.Tensor:
    x, y = (x + 1) / 2, (y + 1) / 2
    g = gaussian_kernel(window, sigma, x.dtype, x.device)
    w = (g[:, None] * g[None, :]).expand(3, 1, window, window).contiguous()
    pad = window // 2

    def blur(t: torch.Tensor) -> torch.Tensor:
        return F.conv2d(F.pad(t, [pad] * 4, mode="reflect"), w, groups=3)

    return ssim_map(x, y, blur).mean()


def image_gradients(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Forward differences along x and y of ``(N, C, H, W)``."""
    return x[..., :, 1:] - x[..., :, :-1], x[..., 1:, :] - x[..., :-1, :]


class FallbackPerceptual(nn.Module):
    """Perceptual loss without pretrained weights: ``L1 + (1 - SSIM) + L1 of image gradients``.

    SSIM keeps local structure and contrast, the gradient term keeps edges sharp; both are what
    the VGG loss buys over plain L1 at these resolutions. Also serves as the validation distance
    when no VGG/LPIPS weights are given.
    """

    name = "fallback:l1+ssim+grad"

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """``x``, ``y``: ``(N, 3, H, W)`` in [-1, 1] -> scalar."""
        gx, gy = image_gradients(x)
        tx, ty = image_gradients(y)
        grad = F.l1_loss(gx, tx) + F.l1_loss(gy, ty)
        return F.l1_loss(x, y) + (1 - ssim(x, y)) + grad


def build_perceptual(kind: str, vgg_weights: str | Path | None) -> nn.Module:
    """The perceptual loss for ``train.perceptual`` (``auto`` | ``vgg`` | ``fallback``).

    ``auto`` is VGG when weights are given, else the fallback. The returned module has ``.name``.
    """
    if kind == "vgg" and vgg_weights is None:
        raise VGGWeightsError("train.perceptual = 'vgg' needs --vgg-weights PATH (a torchvision VGG16/VGG19 .pth)")
    if kind == "fallback" and vgg_weights is not None:
        raise VGGWeightsError("train.perceptual = 'fallback' but --vgg-weights was given; drop one of them")
    if vgg_weights is not None:
        return VGGPerceptual(vgg_weights)
    return FallbackPerceptual()


def latent_loss(states: list[list[torch.Tensor]], targets: list[torch.Tensor]) -> torch.Tensor:
    """Eq. 7: mean squared distance between predicted and encoded object states.

    ``states[t][k]``: predicted state ``(B, C_k, S_k, S_k)`` of dynamic level k for frame t+1;
    ``targets[k]``: ``(B, T, C_k, S_k, S_k)``, the frozen encoder's state of the true frames
    (detached by the caller).
    """
    total = 0.0
    for k, target in enumerate(targets):
        pred = torch.stack([s[k] for s in states], 1)
        total = total + F.mse_loss(pred.float(), target.float())
    return total / len(targets)


def flow_loss(pred: torch.Tensor, target: torch.Tensor, moving_px: float = 0.5, eps: float = 0.01,
              still_weight: float = 1.0, border_px: int = 0, border_weight: float = 0.0) -> torch.Tensor:
    """Charbonnier distance of predicted and true flow, averaged over moving and over still pixels
    apart and summed (the still mean times ``still_weight``): still pixels are most of every frame,
    so a plain mean would reward a model that never moves anything, and an unweighted balance lets
    it smear motion over still pixels (each moving pixel weighs ~20x a still one).

    ``border_weight`` > 0 adds the mean over the still pixels within ``border_px`` pixels of a
    moving one (the background and the still parts beside what moves), times ``border_weight``: they
    are a small share of the still pixels, so the still mean barely sees a model that drags them
    along with the part next to them.

    ``pred``, ``target``: ``(B, T, 2, H, W)`` displacements in model pixels; a pixel moves when its
    true displacement exceeds ``moving_px``. Returns a scalar in pixels.
    """
    err = torch.sqrt((pred.float() - target.float()).pow(2).sum(2) + eps**2)  # (B, T, H, W)
    moving = (target.float().norm(dim=2) > moving_px).float()
    still = 1.0 - moving
    on_moving = (err * moving).sum() / moving.sum().clamp_min(1.0)
    on_still = (err * still).sum() / still.sum().clamp_min(1.0)
    loss = on_moving + still_weight * on_still
    if border_weight > 0 and border_px > 0:
        size = 2 * border_px + 1
        near = F.max_pool2d(moving.flatten(0, 1)[:, None], size, stride=1, padding=border_px).view_as(moving)
        border = still * near
        loss = loss + border_weight * (err * border).sum() / border.sum().clamp_min(1.0)
    return loss


RIGID_MIN_PIXELS = 6  # parts smaller than this in a frame have no meaningful affine fit: left out
RIGID_TARGET_PX = 0.25  # pixels where the TRUE flow is farther than this from its part's fit are left out


def rigidity_loss(pred: torch.Tensor, target: torch.Tensor, parts: torch.Tensor, eps: float = 0.01,
                  background: bool = False) -> torch.Tensor:
    """How far the predicted flow is from moving each true part as one piece: per frame, the least-squares
    affine fit of the predicted flow over each part's pixels, and the Charbonnier distance of the flow
    from its fit, averaged over the counted pixels.

    The simulator's parts are rigid, and the inverse of a rigid motion is rigid, so the true backward
    flow is affine over each part of the frame it draws: what this charges for is a flow that bends,
    shears or fades inside a part or leaks across its edge, never for how far a part moves (that is the
    flow loss's). With ``background`` the still background counts as one more part, so that drag beside
    a part is charged too. Each frame's part map is the source's read where the true flow points
    (nearest pixel); where that reading is wrong (a part's rasterised edge, a pixel the part uncovers)
    the true flow itself is off its part's fit, so only the pixels where the true flow is within
    ``RIGID_TARGET_PX`` of its own fit (fitted without the others) are fitted and count, in parts of at
    least ``RIGID_MIN_PIXELS`` such pixels.

    ``pred``, ``target``: ``(B, T, 2, H, W)`` backward flow in model pixels; ``parts``: ``(B, H, W)``
    int64 true part map of the source, -1 = background. Returns a scalar in pixels.
    """
    b, t, _, h, w = pred.shape
    flat_target = target.float().flatten(0, 1)  # (BT, 2, H, W)
    ys, xs = torch.meshgrid(torch.arange(h, device=pred.device), torch.arange(w, device=pred.device), indexing="ij")
    src_x = (xs + flat_target[:, 0]).round().long().clamp(0, w - 1)
    src_y = (ys + flat_target[:, 1]).round().long().clamp(0, h - 1)
    source_parts = parts.repeat_interleave(t, 0).flatten(1)  # (BT, H*W)
    labels = source_parts.gather(1, (src_y * w + src_x).flatten(1)) + 1  # (BT, P), 0 = background
    k = int(parts.max()) + 2

    def per_part(values: torch.Tensor) -> torch.Tensor:  # (BT, P, C) -> sums over each part's pixels (BT, K, C)
        index = labels[..., None].expand(-1, -1, values.shape[-1])
        return values.new_zeros(values.shape[0], k, values.shape[-1]).scatter_add(1, index, values)

    # coordinates in [-1, 1] keep the 3x3 normal equations well conditioned
    coords = torch.stack([xs.flatten() * (2.0 / max(w - 1, 1)) - 1, ys.flatten() * (2.0 / max(h - 1, 1)) - 1,
                          torch.ones(h * w, device=pred.device)], 1).float()  # (P, 3)
    outer = (coords[:, :, None] * coords[:, None, :]).flatten(1)  # (P, 9)
    eye = torch.eye(3, device=pred.device)

    def off_fit(flow: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
        """(BT, P, 2) flow minus its least-squares affine fit over each part's pixels of ``weight`` 1 (BT, P)."""
        size = per_part(weight[..., None])[..., None]  # (BT, K, 1, 1)
        gram = per_part(outer * weight[..., None]).view(-1, k, 3, 3) + 1e-4 * size.clamp_min(1.0) * eye
        moments = per_part((coords[None, :, :, None] * flow[:, :, None, :]).flatten(2) * weight[..., None])
        affine = torch.linalg.solve(gram, moments.view(-1, k, 3, 2))  # (BT, K, 3, 2)
        at_pixel = affine.gather(1, labels[..., None, None].expand(-1, -1, 3, 2))  # (BT, P, 3, 2)
        return flow - (coords[None, :, :, None] * at_pixel).sum(2)

    with torch.no_grad():  # which pixels the true flow says are read right: fitted twice, outliers left out
        truth = flat_target.flatten(2).transpose(1, 2)  # (BT, P, 2)
        counted = torch.ones_like(labels, dtype=torch.float32)
        for _ in range(2):
            counted = (off_fit(truth, counted).norm(dim=-1) < RIGID_TARGET_PX).float()
        counted = counted * (per_part(counted[..., None])[..., 0].gather(1, labels) >= RIGID_MIN_PIXELS)
        if not background:
            counted = counted * (labels > 0)
    err = torch.sqrt(off_fit(pred.float().flatten(0, 1).flatten(2).transpose(1, 2), counted).pow(2).sum(-1) + eps**2)
    return (err * counted).sum() / counted.sum().clamp_min(1.0)


def hinge_d_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """Discriminator hinge loss (Lim & Ye 2017; Miyato et al. 2018)."""
    return F.relu(1 - real_logits.float()).mean() + F.relu(1 + fake_logits.float()).mean()


def hinge_g_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    """Generator side of the hinge GAN: ``-E[D(fake)]``."""
    return -fake_logits.float().mean()


def r1_penalty(real_logits: torch.Tensor, real_inputs: torch.Tensor, scale: float = 1.0) -> torch.Tensor:
    """R1 gradient penalty (Mescheder et al. 2018): ``E ||grad_x D(x)||^2`` on real data.

    ``real_inputs`` must require grad and ``real_logits`` be computed from it. ``scale`` is the
    loss scale of an fp16 GradScaler (gradients are taken of the scaled output, then unscaled,
    as in PyTorch's AMP gradient-penalty recipe).
    """
    (grad,) = torch.autograd.grad(real_logits.float().sum() * scale, real_inputs, create_graph=True)
    grad = grad.float() / scale
    return grad.pow(2).flatten(1).sum(1).mean()


def feature_matching(fake_feats: list[torch.Tensor], real_feats: list[torch.Tensor]) -> torch.Tensor:
    """Feature matching (Wang et al. 2018): mean L1 between discriminator features of fake and real."""
    return sum(F.l1_loss(f.float(), r.detach().float()) for f, r in zip(fake_feats, real_feats)) / len(fake_feats)
