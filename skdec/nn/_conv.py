"""Convolutional autoencoder for images stored as flat rows (DCEC)."""

from __future__ import annotations

import numbers
from collections.abc import Sequence

import torch
from torch import nn

from ._autoencoder import make_activation

__all__ = ["ConvAutoencoder", "ConvDecoder", "ConvEncoder"]

_SHARED_PARAMETERS = """
    image_shape : tuple of int
        ``(height, width)`` or ``(channels, height, width)`` of one sample;
        rows hold the pixels channel first (``x.reshape(n, C, H, W)``).
    channels : sequence of int, default=(32, 64, 128)
        Output channels of the encoder's stride-2 convolutions, in order.
    kernel_sizes : int or sequence of int, default=(5, 5, 3)
        Kernel size of each convolution (one int: the same for every layer);
        as many as ``channels``.
    n_components : int, default=10
        Dimension of the embedding.
    activation : str, default='relu'
        Non-linearity after each hidden layer (see
        :func:`~skdec.nn.make_activation`)."""


def _positive_int(value, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{name} must be a positive int, got {value!r}.")
    return int(value)


def _positive_ints(values, name: str, expected: str) -> tuple[int, ...]:
    """A sequence (list, tuple, array, ``torch.Size``) of positive ints."""
    try:
        if isinstance(values, (str, bytes)):
            raise TypeError
        values = tuple(values)
    except TypeError:
        raise ValueError(f"{name} must be {expected}, got {values!r}.") from None
    return tuple(_positive_int(v, f"each entry of {name}") for v in values)


def _check_architecture(image_shape, channels, kernel_sizes, n_components, activation):
    """Validate the shared parameters; return them normalised and the map sizes.

    The sizes are the ``(height, width)`` of the input and of each
    convolution's output: every stride-2 convolution halves them, rounding up.
    """
    expected = "(height, width) or (channels, height, width)"
    shape = _positive_ints(image_shape, "image_shape", expected)
    if len(shape) not in (2, 3):
        raise ValueError(
            f"image_shape must be {expected}, got {len(shape)} numbers: {shape!r}."
        )
    given = shape
    if len(shape) == 2:
        shape = (1, *shape)
    channels = _positive_ints(channels, "channels", "a sequence of ints")
    if not channels:
        raise ValueError("channels must name at least one convolution, got ().")
    if isinstance(kernel_sizes, numbers.Integral) and not isinstance(
        kernel_sizes, bool
    ):
        kernel_sizes = (kernel_sizes,) * len(channels)
    kernel_sizes = _positive_ints(
        kernel_sizes, "kernel_sizes", "an int or a sequence of ints"
    )
    if len(kernel_sizes) != len(channels):
        raise ValueError(
            f"kernel_sizes has {len(kernel_sizes)} entries but channels has "
            f"{len(channels)}; give one kernel size per convolution."
        )
    n_components = _positive_int(n_components, "n_components")
    make_activation(activation)  # an unknown name fails here, not at forward
    sizes = [shape[1:]]
    for i in range(len(channels)):
        h, w = sizes[-1]
        if h == 1 and w == 1:
            maps = " -> ".join(f"{a}x{b}" for a, b in sizes)
            raise ValueError(
                f"image_shape {given!r} is too small for "
                f"{len(channels)} stride-2 convolutions: the feature maps shrink "
                f"{maps} after {i} convolution(s), and a stride-2 convolution needs "
                f"a map larger than 1x1; use at most {i} convolution(s) or a "
                "larger image."
                if i
                else f"image_shape {given!r} is a single pixel; a "
                "stride-2 convolution needs a map larger than 1x1."
            )
        sizes.append(((h + 1) // 2, (w + 1) // 2))
    return shape, channels, kernel_sizes, n_components, sizes


def _down(c_in: int, c_out: int, k: int) -> list[nn.Module]:
    """Stride-2 convolution mapping size ``n`` to ``ceil(n / 2)`` for any ``n``.

    It pads ``(k - 1) // 2`` pixels before and ``k // 2`` after (symmetric for
    odd ``k``, in the convolution itself; one more after for even ``k``).
    """
    if k % 2:
        return [nn.Conv2d(c_in, c_out, k, stride=2, padding=k // 2)]
    before, after = k // 2 - 1, k // 2
    return [
        nn.ZeroPad2d((before, after, before, after)),
        nn.Conv2d(c_in, c_out, k, stride=2),
    ]


class _Up(nn.Module):
    """Transposed convolution, the exact mirror of :func:`_down` for one size.

    It maps ``ceil(n / 2)`` back to ``n``: an odd kernel gets the missing
    pixel from ``output_padding``, an even kernel's extra pixel is cropped.
    """

    def __init__(self, c_in: int, c_out: int, k: int, size_in, size_out):
        super().__init__()
        # without output_padding the output is 2 * n_in - 1 (odd k), 2 * n_in (even)
        raw = [2 * n - 1 + (k % 2 == 0) for n in size_in]
        pad = tuple(max(0, n - r) for n, r in zip(size_out, raw))
        self.conv = nn.ConvTranspose2d(
            c_in, c_out, k, stride=2, padding=(k - 1) // 2, output_padding=pad
        )
        self.height, self.width = size_out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x)[:, :, : self.height, : self.width]


class ConvEncoder(nn.Module):
    __doc__ = f"""Convolutional encoder: flat image rows to a linear embedding.

    The rows are reshaped to ``(n, C, H, W)`` and go through stride-2
    convolutions, each followed by ``activation``, then are flattened and
    mapped to the embedding by a ``Linear`` without activation.

    Every convolution halves the height and width, rounding up, for any
    image size: a kernel of size ``k`` pads ``(k - 1) // 2`` pixels before and
    ``k // 2`` after. For odd ``k`` this is the usual symmetric ``'same'``
    padding; DCEC (Guo et al., 2017) pads its last convolution ``'valid'``
    instead (28 -> 14 -> 7 -> 3 rather than 7 -> 4 here).

    Parameters
    ----------{_SHARED_PARAMETERS}

    Attributes
    ----------
    image_shape : tuple of int
        ``(channels, height, width)``.
    feature_shapes : list of tuple of int
        ``(channels, height, width)`` of the input and of each convolution's
        output.
    convolutions : torch.nn.Sequential
        The convolutions and their activations, on ``(n, C, H, W)``.
    embedding : torch.nn.Linear
        From the flattened last feature map to ``n_components``.

    See Also
    --------
    ConvDecoder : The mirrored decoder.
    ConvAutoencoder : Both together.

    Examples
    --------
    >>> import torch
    >>> from skdec.nn import ConvEncoder
    >>> encoder = ConvEncoder((1, 28, 28), n_components=10)
    >>> encoder.feature_shapes
    [(1, 28, 28), (32, 14, 14), (64, 7, 7), (128, 4, 4)]
    >>> encoder(torch.zeros(5, 784)).shape
    torch.Size([5, 10])
    """

    def __init__(
        self,
        image_shape: Sequence[int],
        channels: Sequence[int] = (32, 64, 128),
        kernel_sizes: int | Sequence[int] = (5, 5, 3),
        n_components: int = 10,
        activation: str = "relu",
    ):
        super().__init__()
        shape, channels, kernel_sizes, n_components, sizes = _check_architecture(
            image_shape, channels, kernel_sizes, n_components, activation
        )
        self.image_shape = shape
        self.n_features = shape[0] * shape[1] * shape[2]
        depths = (shape[0], *channels)
        self.feature_shapes = [(c, *s) for c, s in zip(depths, sizes)]
        layers: list[nn.Module] = []
        for c_in, c_out, k in zip(depths[:-1], depths[1:], kernel_sizes):
            layers += [*_down(c_in, c_out, k), make_activation(activation)]
        self.convolutions = nn.Sequential(*layers)
        c, h, w = self.feature_shapes[-1]
        self.embedding = nn.Linear(c * h * w, n_components)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 2 or x.shape[1] != self.n_features:
            raise ValueError(
                f"ConvEncoder expects rows of {self.n_features} features "
                f"(image_shape {self.image_shape}), got input of shape "
                f"{list(x.shape)}."
            )
        c, h, w = self.image_shape
        h = self.convolutions(x.reshape(x.shape[0], c, h, w))
        return self.embedding(h.flatten(1))


class ConvDecoder(nn.Module):
    __doc__ = f"""Convolutional decoder: embeddings back to flat image rows.

    The mirror of :class:`ConvEncoder` built from the same parameters: a
    ``Linear`` and ``activation`` to the encoder's last feature map, then
    stride-2 transposed convolutions back through the encoder's feature map
    sizes to exactly ``(C, H, W)``, for any image size, and a flattening to
    ``(n, C * H * W)``. The transposed convolutions are followed by
    ``activation`` except the last: the reconstruction is linear, as in
    :class:`~skdec.nn.MLPAutoencoder`. The parameters are those of the
    encoder it mirrors.

    Parameters
    ----------{_SHARED_PARAMETERS}

    Attributes
    ----------
    image_shape : tuple of int
        ``(channels, height, width)``.
    feature_shapes : list of tuple of int
        ``(channels, height, width)`` of the maps the decoder goes through, from
        the smallest to the image.
    projection : torch.nn.Sequential
        ``Linear`` and activation from the embedding to the smallest map.
    deconvolutions : torch.nn.Sequential
        The transposed convolutions and their activations.

    Examples
    --------
    >>> import torch
    >>> from skdec.nn import ConvDecoder
    >>> decoder = ConvDecoder((3, 13, 17), channels=(8, 16), n_components=4,
    ...                       kernel_sizes=3)
    >>> decoder.feature_shapes
    [(16, 4, 5), (8, 7, 9), (3, 13, 17)]
    >>> decoder(torch.zeros(5, 4)).shape
    torch.Size([5, 663])
    """

    def __init__(
        self,
        image_shape: Sequence[int],
        channels: Sequence[int] = (32, 64, 128),
        kernel_sizes: int | Sequence[int] = (5, 5, 3),
        n_components: int = 10,
        activation: str = "relu",
    ):
        super().__init__()
        shape, channels, kernel_sizes, n_components, sizes = _check_architecture(
            image_shape, channels, kernel_sizes, n_components, activation
        )
        self.image_shape = shape
        self.n_components = n_components
        depths = (shape[0], *channels)
        self.feature_shapes = [(c, *s) for c, s in zip(depths, sizes)][::-1]
        c, h, w = self.feature_shapes[0]
        self.projection = nn.Sequential(
            nn.Linear(n_components, c * h * w), make_activation(activation)
        )
        layers: list[nn.Module] = []
        steps = list(zip(self.feature_shapes[:-1], self.feature_shapes[1:]))
        for i, ((c_in, *s_in), (c_out, *s_out)) in enumerate(steps):
            layers.append(_Up(c_in, c_out, kernel_sizes[-1 - i], s_in, s_out))
            if i < len(steps) - 1:
                layers.append(make_activation(activation))
        self.deconvolutions = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        if z.dim() != 2 or z.shape[1] != self.n_components:
            raise ValueError(
                f"ConvDecoder expects embeddings of {self.n_components} components, "
                f"got input of shape {list(z.shape)}."
            )
        c, h, w = self.feature_shapes[0]
        x = self.projection(z).reshape(z.shape[0], c, h, w)
        return self.deconvolutions(x).flatten(1)


class ConvAutoencoder(nn.Module):
    __doc__ = f"""Convolutional autoencoder for images stored as flat rows (DCEC).

    The architecture of DCEC (Guo et al., 2017): stride-2 convolutions, a
    linear embedding, and the mirrored stride-2 transposed convolutions, with
    a linear reconstruction. It takes and returns flat rows
    ``(n, C * H * W)``, so it fits wherever :class:`~skdec.nn.MLPAutoencoder`
    does: ``forward`` returns ``(z, x_hat)``, and :attr:`encoder` and
    :attr:`decoder` work on their own. See :class:`ConvEncoder` for the
    padding, which halves the image size (rounding up) at every layer for any
    height and width.

    Parameters
    ----------{_SHARED_PARAMETERS}

    Attributes
    ----------
    encoder : ConvEncoder
        Flat rows to embeddings.
    decoder : ConvDecoder
        Embeddings to flat rows.
    image_shape : tuple of int
        ``(channels, height, width)``.

    Notes
    -----
    On CPU, training can be faster with the convolution weights in
    ``channels_last`` memory format,
    ``ae.to(memory_format=torch.channels_last)``; the results are the same.

    References
    ----------
    X. Guo, X. Liu, E. Zhu and J. Yin, "Deep Clustering with Convolutional
    Autoencoders", ICONIP 2017.

    Examples
    --------
    >>> import torch
    >>> from skdec.nn import ConvAutoencoder
    >>> _ = torch.manual_seed(0)
    >>> ae = ConvAutoencoder((28, 28), n_components=10)
    >>> z, x_hat = ae(torch.rand(5, 784))
    >>> tuple(z.shape), tuple(x_hat.shape)
    ((5, 10), (5, 784))
    """

    def __init__(
        self,
        image_shape: Sequence[int],
        channels: Sequence[int] = (32, 64, 128),
        kernel_sizes: int | Sequence[int] = (5, 5, 3),
        n_components: int = 10,
        activation: str = "relu",
    ):
        super().__init__()
        self.encoder = ConvEncoder(
            image_shape, channels, kernel_sizes, n_components, activation
        )
        self.decoder = ConvDecoder(
            image_shape, channels, kernel_sizes, n_components, activation
        )
        self.image_shape = self.encoder.image_shape

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        z = self.encoder(x)
        return z, self.decoder(z)
