"""A small convolutional encoder trained by contrasting augmented views."""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["ContrastiveModule", "ConvFeatureEncoder", "nt_xent_loss"]


def _block(c_in: int, c_out: int) -> list[nn.Module]:
    return [
        nn.Conv2d(c_in, c_out, 3, padding=1, bias=False),
        nn.BatchNorm2d(c_out),
        nn.ReLU(inplace=True),
    ]


def dihedral_views(images: torch.Tensor) -> list[torch.Tensor]:
    """The 8 rotations by quarter turns and their mirror images of square
    ``images`` (n, C, H, W); the 4 of a rectangle's symmetries otherwise
    (itself, mirrored left-right, mirrored top-bottom, turned half way)."""
    if images.shape[-1] != images.shape[-2]:
        flipped = images.flip(-1)
        return [images, flipped, images.flip(-2), flipped.flip(-2)]
    turns = [torch.rot90(images, k, (-2, -1)) for k in range(4)]
    return turns + [t.flip(-1) for t in turns]


class ConvFeatureEncoder(nn.Module):
    """Rows of images to features: 3x3 convolutions, global average pooling.

    Each entry of ``channels`` is a 3x3 convolution, batch normalisation and
    ReLU; a 2x2 max pooling follows every block but the last, whose feature
    maps are averaged over the image. ``invariance='dihedral'`` averages the
    features of the 8 quarter turns and mirror images of each image at
    prediction (in ``eval()`` mode; training sees one view): the embedding
    of an image and of its rotations by 90 degrees and mirror images are
    then the same. ``normalize`` scales each embedding to unit length.

    Parameters
    ----------
    image_shape : tuple of int
        ``(channels, height, width)`` of one row.
    channels : sequence of int, default=(32, 64, 128, 128)
    invariance : {'none', 'dihedral'}, default='dihedral'
    normalize : bool, default=True

    Examples
    --------
    >>> import torch
    >>> from skdec.nn import ConvFeatureEncoder
    >>> enc = ConvFeatureEncoder((1, 8, 8), channels=(4, 6)).eval()
    >>> x = torch.rand(2, 1, 8, 8)
    >>> z = enc(x.reshape(2, -1))
    >>> z.shape
    torch.Size([2, 6])
    >>> bool(torch.allclose(z, enc(torch.rot90(x, 1, (2, 3)).reshape(2, -1)),
    ...                     atol=1e-5))
    True
    """

    def __init__(
        self,
        image_shape: Sequence[int],
        channels: Sequence[int] = (32, 64, 128, 128),
        invariance: str = "dihedral",
        normalize: bool = True,
    ):
        super().__init__()
        shape = tuple(int(s) for s in image_shape)
        if len(shape) != 3 or min(shape) < 1:
            raise ValueError(
                f"image_shape must be (channels, height, width), got {image_shape!r}."
            )
        channels = tuple(int(c) for c in channels)
        if not channels or min(channels) < 1:
            raise ValueError(f"channels must be positive ints, got {channels!r}.")
        smallest = min(shape[1:]) // 2 ** (len(channels) - 1)
        if smallest < 1:
            raise ValueError(
                f"{len(channels)} blocks halve the {shape[1]}x{shape[2]} images "
                f"{len(channels) - 1} times, below one pixel: use fewer channels "
                "entries or larger images."
            )
        if invariance not in ("none", "dihedral"):
            raise ValueError(
                f"invariance must be 'none' or 'dihedral', got {invariance!r}."
            )
        self.image_shape = shape
        self.invariance = invariance
        self.normalize = bool(normalize)
        layers: list[nn.Module] = []
        c_in = shape[0]
        for i, c_out in enumerate(channels):
            layers += _block(c_in, c_out)
            if i < len(channels) - 1:
                layers.append(nn.MaxPool2d(2))
            c_in = c_out
        layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten()]
        self.features = nn.Sequential(*layers)
        self.n_components = channels[-1]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        images = x.reshape(x.shape[0], *self.image_shape)
        if self.training or self.invariance == "none":
            z = self.features(images)
        else:
            # one view at a time: the activations of a batch's eight views at
            # once took gigabytes (1,024 rows of 32x32 pixels: 1 GB a layer)
            z = torch.stack([self.features(v) for v in dihedral_views(images)])
            z = z.mean(0)
        return F.normalize(z, dim=1) if self.normalize else z


class ContrastiveModule(nn.Module):
    """An encoder and the projection head its contrastive loss is taken on.

    ``forward`` returns the projections (SimCLR's ``z``); the encoder's own
    output (``h``) is the embedding used downstream. ``decoder`` is None:
    nothing is reconstructed.
    """

    decoder = None

    def __init__(self, encoder: nn.Module, n_features: int, projection_dim: int = 64):
        super().__init__()
        self.encoder = encoder
        self.projection = nn.Sequential(
            nn.Linear(n_features, n_features),
            nn.ReLU(inplace=True),
            nn.Linear(n_features, projection_dim),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.projection(self.encoder(x))


def nt_xent_loss(z: torch.Tensor, temperature: float = 0.2) -> torch.Tensor:
    """SimCLR's normalised temperature-scaled cross entropy (Chen et al. 2020).

    ``z`` holds two views of the same ``n`` samples, ``z[:n]`` and ``z[n:]``;
    each projection must pick out its other view among the ``2n - 1`` others.

    Examples
    --------
    >>> import torch
    >>> from skdec.nn import nt_xent_loss
    >>> z = torch.eye(4).repeat(2, 1)  # two identical views of 4 samples
    >>> bool(nt_xent_loss(z, 0.1) < nt_xent_loss(torch.rand(8, 4), 0.1))
    True
    """
    if z.shape[0] % 2 or z.shape[0] < 4:
        raise ValueError(
            "nt_xent_loss needs two views of at least 2 samples, got "
            f"{z.shape[0]} rows."
        )
    n = z.shape[0] // 2
    z = F.normalize(z.float(), dim=1)
    logits = z @ z.T / temperature
    itself = torch.eye(2 * n, dtype=torch.bool, device=z.device)
    logits = logits.masked_fill(itself, -1e9)
    target = torch.cat([torch.arange(n, 2 * n), torch.arange(n)]).to(z.device)
    return F.cross_entropy(logits, target)
