"""The DEC clustering layer: Student's t soft assignment and target distribution."""

from __future__ import annotations

import torch
from torch import nn

__all__ = [
    "soft_assignment",
    "target_distribution",
    "ClusteringLayer",
    "DECModule",
]


def soft_assignment(
    z: torch.Tensor, centers: torch.Tensor, alpha: float = 1.0
) -> torch.Tensor:
    r"""Student's t soft assignment of embedded points to cluster centres.

    .. math::
        q_{ij} = \frac{(1 + \lVert z_i - \mu_j \rVert^2 / \alpha)^{-(\alpha+1)/2}}
                      {\sum_{j'} (1 + \lVert z_i - \mu_{j'} \rVert^2 / \alpha)
                       ^{-(\alpha+1)/2}}

    Computed in log space, so that far-away points do not underflow to a row
    of zeros.

    Parameters
    ----------
    z : Tensor of shape (n_samples, n_components)
    centers : Tensor of shape (n_clusters, n_components)
    alpha : float, default=1.0
        Degrees of freedom of the Student's t kernel.

    Returns
    -------
    q : Tensor of shape (n_samples, n_clusters)
        Rows sum to one.

    Examples
    --------
    >>> import torch
    >>> from skdec.nn import soft_assignment
    >>> q = soft_assignment(torch.tensor([[0.0, 0.0]]),
    ...                     torch.tensor([[0.0, 0.0], [1.0, 0.0]]))
    >>> q
    tensor([[0.6667, 0.3333]])
    """
    # distances in at least float32, also under autocast: a bfloat16 cdist
    # loses the small differences between nearby centres
    dtype = torch.promote_types(
        torch.promote_types(z.dtype, centers.dtype), torch.float32
    )
    with torch.autocast(device_type=z.device.type, enabled=False):
        sq_dist = torch.cdist(z.to(dtype), centers.to(dtype)).pow(2)
    log_kernel = -(alpha + 1.0) / 2.0 * torch.log1p(sq_dist / alpha)
    return torch.softmax(log_kernel, dim=1)


def target_distribution(q: torch.Tensor) -> torch.Tensor:
    r"""DEC's sharpened target distribution.

    .. math:: p_{ij} = \frac{q_{ij}^2 / f_j}{\sum_{j'} q_{ij'}^2 / f_{j'}},
              \quad f_j = \sum_i q_{ij}

    Parameters
    ----------
    q : Tensor of shape (n_samples, n_clusters)
        Soft assignments of the **whole** data set.

    Returns
    -------
    p : Tensor of shape (n_samples, n_clusters)

    Examples
    --------
    >>> import torch
    >>> from skdec.nn import target_distribution
    >>> target_distribution(torch.tensor([[0.6, 0.4], [0.5, 0.5]]))
    tensor([[0.6480, 0.3520],
            [0.4500, 0.5500]])
    """
    weight = q.pow(2) / q.sum(dim=0).clamp_min(torch.finfo(q.dtype).tiny)
    return weight / weight.sum(dim=1, keepdim=True)


class ClusteringLayer(nn.Module):
    """Trainable cluster centres mapped to soft assignments.

    Parameters
    ----------
    n_clusters : int
    n_components : int
    alpha : float, default=1.0
        Degrees of freedom of the Student's t kernel.
    centers : Tensor of shape (n_clusters, n_components), optional
        Initial centres (zeros when omitted).

    Examples
    --------
    >>> import torch
    >>> from skdec.nn import ClusteringLayer
    >>> layer = ClusteringLayer(3, 2, centers=torch.eye(3, 2))
    >>> layer(torch.zeros(4, 2)).shape
    torch.Size([4, 3])
    """

    def __init__(
        self,
        n_clusters: int,
        n_components: int,
        alpha: float = 1.0,
        centers: torch.Tensor | None = None,
    ):
        super().__init__()
        self.alpha = float(alpha)
        init = torch.zeros(n_clusters, n_components)
        if centers is not None:
            init = torch.as_tensor(centers, dtype=torch.float32).clone()
            if init.shape != (n_clusters, n_components):
                raise ValueError(
                    f"centers has shape {tuple(init.shape)}, expected "
                    f"{(n_clusters, n_components)}."
                )
        self.centers = nn.Parameter(init)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return soft_assignment(z, self.centers, self.alpha)


class DECModule(nn.Module):
    """Encoder plus clustering layer, with an optional decoder (IDEC).

    ``forward`` returns ``(q, z, x_hat)``; ``x_hat`` is ``None`` without decoder.

    Parameters
    ----------
    encoder : torch.nn.Module
        Maps inputs to embeddings of width ``n_components``.
    clustering_layer : ClusteringLayer
    decoder : torch.nn.Module, optional
        Kept for the reconstruction term of IDEC.

    Examples
    --------
    >>> import torch
    >>> from skdec.nn import ClusteringLayer, DECModule
    >>> module = DECModule(torch.nn.Linear(4, 2), ClusteringLayer(3, 2))
    >>> q, z, x_hat = module(torch.ones(5, 4))
    >>> tuple(q.shape), tuple(z.shape), x_hat is None
    ((5, 3), (5, 2), True)
    """

    def __init__(
        self,
        encoder: nn.Module,
        clustering_layer: ClusteringLayer,
        decoder: nn.Module | None = None,
    ):
        super().__init__()
        self.encoder = encoder
        self.clustering_layer = clustering_layer
        self.decoder = decoder

    def forward(self, x: torch.Tensor):
        z = self.encoder(x)
        q = self.clustering_layer(z)
        x_hat = self.decoder(z) if self.decoder is not None else None
        return q, z, x_hat
