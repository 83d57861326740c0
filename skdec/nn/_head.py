"""A label layer on top of DEC's soft assignment: clusters mapped to classes."""

from __future__ import annotations

import torch
from torch import nn

from ._clustering import ClusteringLayer

__all__ = ["ClusterLabelLayer", "LabelHeadModule"]


class ClusterLabelLayer(nn.Module):
    r"""Map cluster soft assignments to class log-probabilities.

    The layer holds a row-stochastic matrix ``M = softmax(W, dim=1)`` of shape
    ``(n_clusters, n_classes)``, the probability of each class given each
    cluster, and a sharpness :math:`\beta > 0`, and returns

    .. math:: \log p(c \mid x) = \log \sum_k \tilde q_{k}(x)\, M_{kc},
              \qquad \tilde q_k = \frac{q_k^\beta}{\sum_{k'} q_{k'}^\beta}

    which are normalised log-probabilities, hence valid logits for
    :class:`torch.nn.CrossEntropyLoss`. With ``sharpness=1`` and initialised
    from a cluster-to-label mapping, the layer reproduces the mapping's
    probabilistic predictions (up to ``smoothing``) before any training; a
    large sharpness moves it towards the label of the most likely cluster
    (a hard mapping). ``W`` and :math:`\log\beta` are trainable.

    Parameters
    ----------
    mapping : Tensor of shape (n_clusters, n_classes)
        Non-negative initial mapping; each row is normalised to sum to one.
    smoothing : float, default=1e-3
        Added to every entry of ``mapping`` before normalising, so that no
        class starts with probability zero (and an infinite log).
    sharpness : float, default=1.0
        Initial exponent :math:`\beta` applied to the soft assignment.

    Attributes
    ----------
    weight : Parameter of shape (n_clusters, n_classes)
        Unnormalised log of ``M``.
    log_sharpness : Parameter of shape ()
        :math:`\log\beta`.

    Examples
    --------
    >>> import torch
    >>> from skdec.nn import ClusterLabelLayer
    >>> layer = ClusterLabelLayer(torch.tensor([[1.0, 0.0], [0.0, 1.0]]),
    ...                           smoothing=0.0)
    >>> layer(torch.tensor([[0.75, 0.25]])).exp()
    tensor([[0.7500, 0.2500]], grad_fn=<ExpBackward0>)
    """

    def __init__(
        self,
        mapping: torch.Tensor,
        smoothing: float = 1e-3,
        sharpness: float = 1.0,
    ):
        super().__init__()
        mapping = torch.as_tensor(mapping, dtype=torch.float32)
        if mapping.ndim != 2:
            raise ValueError(
                "mapping must be a 2-D (n_clusters, n_classes) tensor, got "
                f"shape {tuple(mapping.shape)}."
            )
        if not torch.isfinite(mapping).all() or (mapping < 0).any():
            raise ValueError("mapping must be finite and non-negative.")
        if smoothing < 0:
            raise ValueError(f"smoothing must be >= 0, got {smoothing}.")
        if not sharpness > 0:
            raise ValueError(f"sharpness must be > 0, got {sharpness}.")
        mapping = mapping + smoothing
        row_sums = mapping.sum(dim=1, keepdim=True)
        if (row_sums <= 0).any():
            raise ValueError(
                "Every row of mapping needs a positive entry (or use smoothing > 0)."
            )
        probs = mapping / row_sums
        tiny = torch.finfo(probs.dtype).tiny
        self.weight = nn.Parameter(probs.clamp_min(tiny).log())
        self.log_sharpness = nn.Parameter(torch.tensor(float(sharpness)).log())

    @property
    def n_clusters(self) -> int:
        return self.weight.shape[0]

    @property
    def n_classes(self) -> int:
        return self.weight.shape[1]

    def mapping(self) -> torch.Tensor:
        """The current row-stochastic mapping ``M`` (n_clusters, n_classes)."""
        return torch.softmax(self.weight, dim=1)

    def forward(self, q: torch.Tensor) -> torch.Tensor:
        tiny = torch.finfo(q.dtype).tiny
        sharpened = torch.softmax(self.log_sharpness.exp() * q.clamp_min(tiny).log(), 1)
        proba = sharpened @ self.mapping()
        return proba.clamp_min(tiny).log()


class LabelHeadModule(nn.Module):
    """Encoder, clustering layer and label layer: inputs to class logits.

    ``forward(x)`` returns the class log-probabilities of
    :class:`ClusterLabelLayer` applied to the clustering layer's soft
    assignment of ``encoder(x)``; :meth:`soft_assignment` returns ``q``.

    Parameters
    ----------
    encoder : torch.nn.Module
        Maps inputs to embeddings of width ``n_components``.
    clustering_layer : ClusteringLayer
    label_layer : ClusterLabelLayer
        Its ``n_clusters`` must match the clustering layer's.

    Examples
    --------
    >>> import torch
    >>> from skdec.nn import ClusteringLayer, ClusterLabelLayer, LabelHeadModule
    >>> head = LabelHeadModule(torch.nn.Linear(4, 2), ClusteringLayer(3, 2),
    ...                        ClusterLabelLayer(torch.ones(3, 5)))
    >>> tuple(head(torch.ones(6, 4)).shape)
    (6, 5)
    """

    def __init__(
        self,
        encoder: nn.Module,
        clustering_layer: ClusteringLayer,
        label_layer: ClusterLabelLayer,
    ):
        super().__init__()
        n_clusters = clustering_layer.centers.shape[0]
        if label_layer.n_clusters != n_clusters:
            raise ValueError(
                f"label_layer maps {label_layer.n_clusters} clusters but the "
                f"clustering layer has {n_clusters}."
            )
        self.encoder = encoder
        self.clustering_layer = clustering_layer
        self.label_layer = label_layer

    def soft_assignment(self, x: torch.Tensor) -> torch.Tensor:
        """Cluster soft assignment ``q`` of ``x`` (n_samples, n_clusters)."""
        return self.clustering_layer(self.encoder(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.label_layer(self.soft_assignment(x))
