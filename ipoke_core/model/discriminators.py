"""Discriminators: a patch discriminator on frames and a temporal 3-D ResNet-18 on sequences (App. E.1).

Both use instance normalisation after each layer, as in the paper, and return their
intermediate features for the feature-matching loss.
"""
from __future__ import annotations

import math

import torch
from torch import nn
from torchvision.models.video import r3d_18
from torchvision.models.video.resnet import BasicBlock, Conv3DSimple, VideoResNet


class PatchDiscriminator(nn.Module):
    """PatchGAN (Isola et al. 2017): ``(B, 3, R, R)`` -> ``(logits (B, 1, h, w), features)``."""

    def __init__(self, resolution: int = 64, channels: int = 64, max_layers: int = 3):
        super().__init__()
        n_layers = max(1, min(max_layers, int(math.log2(resolution)) - 3))
        layers: list[nn.Module] = [nn.Sequential(nn.Conv2d(3, channels, 4, 2, 1), nn.LeakyReLU(0.2, True))]
        c = channels
        for i in range(1, n_layers + 1):
            c_next = min(channels * 2**i, 8 * channels)
            stride = 2 if i < n_layers else 1
            layers.append(nn.Sequential(
                nn.Conv2d(c, c_next, 4, stride, 1, bias=False),
                nn.InstanceNorm2d(c_next, affine=True),
                nn.LeakyReLU(0.2, True),
            ))
            c = c_next
        self.layers = nn.ModuleList(layers)
        self.out = nn.Conv2d(c, 1, 4, 1, 1)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        feats = []
        for layer in self.layers:
            x = layer(x)
            feats.append(x)
        return self.out(x), feats


def _instance_norm_3d(module: nn.Module) -> nn.Module:
    """Replace every BatchNorm3d in ``module`` by an affine InstanceNorm3d (in place)."""
    for name, child in module.named_children():
        if isinstance(child, nn.BatchNorm3d):
            setattr(module, name, nn.InstanceNorm3d(child.num_features, affine=True))
        else:
            _instance_norm_3d(child)
    return module


def _residual_layer(inplanes: int, planes: int, stride: int) -> nn.Sequential:
    """Two of torchvision's BasicBlocks, the first with a strided 1x1x1 shortcut where the shape changes:
    ``VideoResNet._make_layer`` with Conv3DSimple."""
    downsample = None
    if stride != 1 or inplanes != planes:
        downsample = nn.Sequential(
            nn.Conv3d(inplanes, planes, kernel_size=1, stride=Conv3DSimple.get_downsample_stride(stride), bias=False),
            nn.BatchNorm3d(planes),
        )
    return nn.Sequential(BasicBlock(inplanes, planes, Conv3DSimple, stride, downsample),
                         BasicBlock(planes, planes, Conv3DSimple))


class _NarrowR3D(nn.Module):
    """torchvision's R3D-18 layout (BasicBlock, Conv3DSimple, [2, 2, 2, 2]) with widths w, 2w, 4w, 8w, built
    from torchvision's blocks (``VideoResNet`` fixes the widths at 64..512); same layer names as R3D-18."""

    def __init__(self, width: int):
        super().__init__()
        self.stem = nn.Sequential(
            nn.Conv3d(3, width, (3, 7, 7), (1, 2, 2), (1, 3, 3), bias=False), nn.BatchNorm3d(width), nn.ReLU(True)
        )
        self.layer1 = _residual_layer(width, width, 1)
        self.layer2 = _residual_layer(width, 2 * width, 2)
        self.layer3 = _residual_layer(2 * width, 4 * width, 2)
        self.layer4 = _residual_layer(4 * width, 8 * width, 2)
        self.avgpool = nn.AdaptiveAvgPool3d((1, 1, 1))
        self.fc = nn.Linear(8 * width, 1)


class TemporalDiscriminator(nn.Module):
    """3-D ResNet-18 on videos: ``(B, T, 3, R, R)`` in [-1, 1] -> ``(logits (B,), features)``.

    ``width=64`` is exactly torchvision's ``r3d_18(weights=None)`` (BatchNorm swapped for
    InstanceNorm); smaller widths keep its layout for cheaper training.
    """

    def __init__(self, width: int = 64):
        super().__init__()
        net = r3d_18(weights=None, num_classes=1) if width == 64 else _NarrowR3D(width)
        self.net: VideoResNet | _NarrowR3D = _instance_norm_3d(net)

    def forward(self, video: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        x = video.transpose(1, 2)  # (B, 3, T, H, W)
        net = self.net
        feats = []
        for part in (net.stem, net.layer1, net.layer2, net.layer3, net.layer4):
            x = part(x)
            feats.append(x)
        logits = net.fc(torch.flatten(net.avgpool(x), 1)).squeeze(1)
        return logits, feats
