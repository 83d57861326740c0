"""Random image augmentation applied to flat rows inside a training step."""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["RandomShiftRotate"]


class RandomShiftRotate(nn.Module):
    """Randomly shift and rotate images stored as flat rows.

    Each sample gets its own translation (up to ``max_shift`` pixels in each
    direction) and rotation (up to ``max_rotation`` degrees), applied with
    bilinear resampling and zero padding. Draws come from torch's global
    generator, so they follow ``torch.manual_seed``.

    Parameters
    ----------
    image_shape : tuple of int
        ``(height, width)`` or ``(channels, height, width)`` of one sample.
    max_shift : float, default=1.0
        Largest translation in pixels.
    max_rotation : float, default=10.0
        Largest rotation in degrees.
    flip : bool, default=False
        Mirror half the images (left to right, before the rotation, so that
        with ``max_rotation=180`` every orientation and mirror side is drawn).
    max_scale : float, default=0.0
        Largest relative change of size: each image is zoomed by a factor
        drawn uniformly in ``[1 - max_scale, 1 + max_scale]``.
    brightness : float, default=0.0
        Each channel of each image is multiplied by a factor drawn uniformly
        in ``[1 - brightness, 1 + brightness]``.

    Examples
    --------
    >>> import torch
    >>> from skdec.nn import RandomShiftRotate
    >>> aug = RandomShiftRotate((8, 8), max_shift=1, max_rotation=0)
    >>> _ = torch.manual_seed(0)
    >>> aug(torch.rand(4, 64)).shape
    torch.Size([4, 64])
    """

    def __init__(
        self,
        image_shape: Sequence[int],
        max_shift: float = 1.0,
        max_rotation: float = 10.0,
        *,
        flip: bool = False,
        max_scale: float = 0.0,
        brightness: float = 0.0,
    ):
        super().__init__()
        shape = tuple(int(s) for s in image_shape)
        if len(shape) == 2:
            shape = (1, *shape)
        if len(shape) != 3 or min(shape) < 1:
            raise ValueError(
                "image_shape must be (height, width) or (channels, height, width) "
                f"of positive ints, got {tuple(image_shape)!r}."
            )
        self.image_shape = shape
        self.max_shift = float(max_shift)
        self.max_rotation = float(max_rotation)
        self.flip = bool(flip)
        self.max_scale = float(max_scale)
        self.brightness = float(brightness)
        if not 0 <= self.max_scale < 1 or self.brightness < 0:
            raise ValueError(
                "max_scale must be in [0, 1) and brightness non-negative, got "
                f"{max_scale!r} and {brightness!r}."
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n = x.shape[0]
        c, h, w = self.image_shape
        if x.shape[1] != c * h * w:
            raise ValueError(
                f"Rows have {x.shape[1]} features but image_shape {self.image_shape} "
                f"holds {c * h * w}."
            )
        angle = (torch.rand(n) * 2 - 1) * math.radians(self.max_rotation)
        # affine_grid works in [-1, 1] coordinates: one pixel is 2 / size
        shift = (torch.rand(n, 2) * 2 - 1) * self.max_shift
        # the sampling grid is scaled by 1 / zoom: zoom > 1 enlarges the image
        # (draws only for what is on: the default's stream of draws is unchanged)
        zoom = torch.ones(n)
        if self.max_scale:
            zoom = 1 + (torch.rand(n) * 2 - 1) * self.max_scale
        cos, sin = torch.cos(angle) / zoom, torch.sin(angle) / zoom
        # a mirror image: the output's x reads the input's -x
        mirror = torch.ones(n)
        if self.flip:
            mirror = torch.where(torch.rand(n) < 0.5, -1.0, 1.0)
        theta = torch.zeros(n, 2, 3)
        theta[:, 0, 0], theta[:, 0, 1] = cos * mirror, -sin * h / w
        theta[:, 1, 0], theta[:, 1, 1] = sin * w / h * mirror, cos
        theta[:, 0, 2] = shift[:, 0] * 2 / w
        theta[:, 1, 2] = shift[:, 1] * 2 / h
        theta = theta.to(device=x.device, dtype=x.dtype)
        images = x.reshape(n, c, h, w)
        grid = F.affine_grid(theta, images.shape, align_corners=False)
        out = F.grid_sample(images, grid, padding_mode="zeros", align_corners=False)
        if self.brightness:  # each channel of each image scaled on its own
            gain = 1 + (torch.rand(n, c, 1, 1) * 2 - 1) * self.brightness
            out = out * gain.to(device=out.device, dtype=out.dtype)
        return out.reshape(n, -1)
