"""Fully connected autoencoders used as the DEC feature extractor."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

__all__ = ["DenoisingLayerPair", "EncoderDecoder", "MLPAutoencoder", "make_activation"]

_ACTIVATIONS = {
    "relu": nn.ReLU,
    "leaky_relu": nn.LeakyReLU,
    "elu": nn.ELU,
    "gelu": nn.GELU,
    "tanh": nn.Tanh,
    "sigmoid": nn.Sigmoid,
}


def make_activation(name: str) -> nn.Module:
    """Return a fresh activation module from its lower-case name.

    Parameters
    ----------
    name : str
        One of ``'relu'``, ``'leaky_relu'``, ``'elu'``, ``'gelu'``, ``'tanh'``,
        ``'sigmoid'``.

    Returns
    -------
    module : torch.nn.Module
    """
    try:
        return _ACTIVATIONS[name]()
    except KeyError:
        raise ValueError(
            f"Unknown activation {name!r}; expected one of {sorted(_ACTIVATIONS)}."
        ) from None


def _mlp(dims: Sequence[int], activation: str, last_activation: bool) -> nn.Sequential:
    layers: list[nn.Module] = []
    for i, (d_in, d_out) in enumerate(zip(dims[:-1], dims[1:])):
        layers.append(nn.Linear(d_in, d_out))
        if i < len(dims) - 2 or last_activation:
            layers.append(make_activation(activation))
    return nn.Sequential(*layers)


class MLPAutoencoder(nn.Module):
    """Symmetric fully connected autoencoder ``d-h1-...-hk-e-hk-...-h1-d``.

    The embedding layer and the reconstruction layer are linear, every hidden
    layer is followed by ``activation`` (Xie et al., 2016).

    Parameters
    ----------
    n_features : int
        Input dimension ``d``.
    hidden_dims : sequence of int, default=(500, 500, 2000)
        Widths of the encoder's hidden layers; the decoder mirrors them.
    n_components : int, default=10
        Dimension of the embedding.
    activation : str, default='relu'
        Non-linearity after each hidden layer.

    Attributes
    ----------
    encoder : torch.nn.Sequential
        Maps inputs to the embedding.
    decoder : torch.nn.Sequential
        Maps embeddings back to the input space.

    Examples
    --------
    >>> import torch
    >>> from skdec.nn import MLPAutoencoder
    >>> ae = MLPAutoencoder(64, hidden_dims=(32,), n_components=2)
    >>> z, x_hat = ae(torch.zeros(5, 64))
    >>> tuple(z.shape), tuple(x_hat.shape)
    ((5, 2), (5, 64))
    """

    def __init__(
        self,
        n_features: int,
        hidden_dims: Sequence[int] = (500, 500, 2000),
        n_components: int = 10,
        activation: str = "relu",
    ):
        super().__init__()
        dims = [int(n_features), *map(int, hidden_dims), int(n_components)]
        self.dims = tuple(dims)
        self.encoder = _mlp(dims, activation, last_activation=False)
        self.decoder = _mlp(dims[::-1], activation, last_activation=False)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        z = self.encoder(x)
        return z, self.decoder(z)


class DenoisingLayerPair(nn.Module):
    """One encoder/decoder layer pair trained as a denoising autoencoder.

    Used by greedy layer-wise pretraining: the input is corrupted with dropout,
    encoded by one ``Linear`` (followed by the activation unless it is the
    embedding layer), and decoded by one ``Linear`` (followed by the activation
    unless it reconstructs the data itself). The hidden code is also dropped out
    during training, as in the DEC paper.

    Parameters
    ----------
    d_in, d_out : int
        Input and code widths.
    activation : str, default='relu'
        Non-linearity.
    encoder_activation, decoder_activation : bool
        Whether the encoding / decoding ``Linear`` is followed by ``activation``.
    corruption : float, default=0.2
        Dropout rate on the input and on the code.

    Examples
    --------
    >>> import torch
    >>> from skdec.nn import DenoisingLayerPair
    >>> pair = DenoisingLayerPair(8, 4, encoder_activation=True,
    ...                           decoder_activation=False)
    >>> h, x_hat = pair(torch.ones(3, 8))
    >>> tuple(h.shape), tuple(x_hat.shape)
    ((3, 4), (3, 8))
    """

    def __init__(
        self,
        d_in: int,
        d_out: int,
        *,
        activation: str = "relu",
        encoder_activation: bool = True,
        decoder_activation: bool = True,
        corruption: float = 0.2,
    ):
        super().__init__()
        enc: list[nn.Module] = [nn.Linear(d_in, d_out)]
        if encoder_activation:
            enc.append(make_activation(activation))
        dec: list[nn.Module] = [nn.Linear(d_out, d_in)]
        if decoder_activation:
            dec.append(make_activation(activation))
        self.encoder = nn.Sequential(*enc)
        self.decoder = nn.Sequential(*dec)
        self.dropout = nn.Dropout(corruption)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.encoder(self.dropout(x))
        return h, self.decoder(self.dropout(h))


class EncoderDecoder(nn.Module):
    """Pair an encoder and a decoder into one module returning ``(z, x_hat)``.

    Parameters
    ----------
    encoder, decoder : torch.nn.Module
    corruption : float, default=0.0
        Dropout rate applied to the input in training mode (a denoising
        autoencoder); evaluation mode never corrupts.

    Examples
    --------
    >>> import torch
    >>> from skdec.nn import EncoderDecoder
    >>> ae = EncoderDecoder(torch.nn.Linear(4, 2), torch.nn.Linear(2, 4))
    >>> [tuple(t.shape) for t in ae(torch.ones(3, 4))]
    [(3, 2), (3, 4)]
    """

    def __init__(self, encoder: nn.Module, decoder: nn.Module, corruption: float = 0.0):
        super().__init__()
        self.encoder = encoder
        self.decoder = decoder
        self.corruption = float(corruption)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if self.training and self.corruption > 0:
            x = nn.functional.dropout(x, self.corruption)
        z = self.encoder(x)
        return z, self.decoder(z)
