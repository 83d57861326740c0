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
        cos, sin = torch.cos(angle), torch.sin(angle)
        theta = torch.zeros(n, 2, 3)
        theta[:, 0, 0], theta[:, 0, 1] = cos, -sin * h / w
        theta[:, 1, 0], theta[:, 1, 1] = sin * w / h, cos
        theta[:, 0, 2] = shift[:, 0] * 2 / w
        theta[:, 1, 2] = shift[:, 1] * 2 / h
        theta = theta.to(device=x.device, dtype=x.dtype)
        images = x.reshape(n, c, h, w)
        grid = F.affine_grid(theta, images.shape, align_corners=False)
        out = F.grid_sample(images, grid, padding_mode="zeros", align_corners=False)
        return out.reshape(n, -1)
