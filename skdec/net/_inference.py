"""Batched inference whose result for a row does not depend on the other rows.

A matrix product's kernel, and with it the order in which each output sums its
terms, depends on the shapes multiplied: on a CPU the encoder of one sample and
the same sample's row in a batch of twenty differ in the last bits of float32
(measured: up to 5e-7 on the embedding of a trained ``hidden_dims=(32, 32)``
model). Every batch here has exactly ``batch_size`` rows, the last one padded
with copies of its last row, so each row goes through the same kernels whatever
the size and the content of the call. The padding costs at most one batch per
call.
"""

from __future__ import annotations

import torch

from ._loader import as_float_tensor, read_ahead, to_device_ahead
from ._rows import ArrayRows

__all__ = [
    "INFERENCE_BATCH_SIZE",
    "embed",
    "embed_and_assign",
    "inference_batches",
    "predict_batched",
]

#: Rows of each batch of inference (prediction, target updates, embeddings);
#: a one-row call costs as much as this many rows.
INFERENCE_BATCH_SIZE = 1024


@torch.no_grad()
def inference_batches(
    module, X, *, forward=None, batch_size=INFERENCE_BATCH_SIZE, device="cpu"
):
    """Yield ``(xb, out)`` for consecutive rows of ``X`` in evaluation mode.

    ``out`` is ``forward(module, batch)`` (``module(batch)`` by default) of a
    batch of exactly ``batch_size`` rows on ``device``, sliced back to the rows
    of ``xb``; a tuple output is sliced element by element. The module's
    training mode is restored when the iteration ends.

    Parameters
    ----------
    module : torch.nn.Module
    X : array-like, Tensor or ArrayRows of shape (n_samples, ...)
        Converted to float32 one batch at a time; rows of an
        :class:`~skdec.net.ArrayRows` (on disk) are read by a background
        thread one batch ahead (:func:`~skdec.net.read_ahead`).
    forward : callable, default=None
        ``forward(module, batch)``; returns a tensor or a tuple of tensors
        with one row per row of ``batch``.
    batch_size : int, default=INFERENCE_BATCH_SIZE
    device : str or torch.device, default='cpu'
        On CUDA the batches stay on the host until they are copied through
        pinned memory, one batch ahead (:func:`~skdec.net.to_device_ahead`).

    Yields
    ------
    xb : Tensor of shape (n_rows, ...), on ``device``
    out : Tensor or tuple of Tensor, with ``n_rows`` rows

    Examples
    --------
    >>> import torch
    >>> from skdec.net import inference_batches
    >>> layer = torch.nn.Linear(3, 2)
    >>> [tuple(out.shape) for _, out in inference_batches(
    ...     layer, torch.zeros(5, 3), batch_size=2)]
    [(2, 2), (2, 2), (1, 2)]
    """
    batch_size = int(batch_size)
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}.")
    if forward is None:
        forward = _call
    was_training = module.training
    module.eval()
    parts = _host_batches(X, batch_size)
    if isinstance(X, ArrayRows):
        parts = read_ahead(parts)
    try:
        for (xb,) in to_device_ahead(parts, device):
            n = len(xb)
            padded = xb
            if n < batch_size:
                fill = xb[-1:].expand(batch_size - n, *xb.shape[1:])
                padded = torch.cat([xb, fill])
            out = forward(module, padded)
            if isinstance(out, tuple):
                yield xb, tuple(o[:n] for o in out)
            else:
                yield xb, out[:n]
    finally:
        parts.close()
        module.train(was_training)


def _host_batches(X, batch_size):
    for start in range(0, len(X), batch_size):
        yield (as_float_tensor(X[start : start + batch_size]),)


def _call(module, batch):
    return module(batch)


def predict_batched(
    module, X, *, forward=None, batch_size=INFERENCE_BATCH_SIZE, device="cpu"
):
    """The outputs of :func:`inference_batches`, concatenated over the rows.

    Parameters
    ----------
    module : torch.nn.Module
    X : array-like or Tensor of shape (n_samples, ...)
    forward : callable, default=None
        ``forward(module, batch)``, as in :func:`inference_batches`.
    batch_size : int, default=INFERENCE_BATCH_SIZE
    device : str or torch.device, default='cpu'

    Returns
    -------
    out : Tensor or tuple of Tensor, with ``n_samples`` rows, on ``device``

    Examples
    --------
    >>> import torch
    >>> from skdec.net import predict_batched
    >>> _ = torch.manual_seed(0)
    >>> layer = torch.nn.Linear(3, 2)
    >>> X = torch.rand(5, 3)
    >>> alone = predict_batched(layer, X[2:3])
    >>> bool(torch.equal(predict_batched(layer, X)[2], alone[0]))
    True
    """
    # the result is allocated once, at the first batch, and each batch
    # copied into it: a list of small per-batch outputs kept between the
    # batches' large freed activations fragmented the heap by about the
    # largest activation per batch (8 MB a batch for the default network)
    result, start, is_tuple = None, 0, False
    for _, out in inference_batches(
        module, X, forward=forward, batch_size=batch_size, device=device
    ):
        is_tuple = isinstance(out, tuple)
        columns = out if is_tuple else (out,)
        if result is None:
            result = tuple(
                torch.empty((len(X), *c.shape[1:]), dtype=c.dtype, device=c.device)
                for c in columns
            )
        for whole, column in zip(result, columns, strict=True):
            whole[start : start + len(column)] = column
        start += len(columns[0])
    if result is None:
        raise ValueError("X has no rows.")
    return result if is_tuple else result[0]


def embed(
    encoder: torch.nn.Module, X, batch_size: int = INFERENCE_BATCH_SIZE, device="cpu"
):
    """Embed ``X`` with ``encoder`` in evaluation mode, batch by batch.

    Every batch has ``batch_size`` rows (the last one padded), so a sample's
    embedding does not depend on the other samples of ``X``.

    Parameters
    ----------
    encoder : torch.nn.Module
    X : array-like or Tensor of shape (n_samples, n_features)
    batch_size : int, default=INFERENCE_BATCH_SIZE
    device : str or torch.device, default='cpu'

    Returns
    -------
    Z : Tensor of shape (n_samples, n_components), on ``device``

    Examples
    --------
    >>> import numpy as np, torch
    >>> from skdec.net import embed
    >>> _ = torch.manual_seed(0)
    >>> encoder = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(),
    ...                               torch.nn.Linear(8, 2))
    >>> X = np.random.RandomState(0).rand(10, 4)
    >>> Z = embed(encoder, X)
    >>> Z.shape, bool(torch.equal(Z[3], embed(encoder, X[3:4])[0]))
    (torch.Size([10, 2]), True)
    """
    return predict_batched(encoder, X, batch_size=batch_size, device=device)


def embed_and_assign(module, X, batch_size: int = INFERENCE_BATCH_SIZE, device="cpu"):
    """Embedding and soft assignment of ``X`` by a :class:`skdec.nn.DECModule`.

    Computed batch by batch like :func:`embed`, the soft assignment of each
    batch right after its embedding, so that neither depends on the other
    samples of ``X``.

    Parameters
    ----------
    module : skdec.nn.DECModule
        Has ``encoder`` and ``clustering_layer``.
    X : array-like or Tensor of shape (n_samples, n_features)
    batch_size : int, default=INFERENCE_BATCH_SIZE
    device : str or torch.device, default='cpu'

    Returns
    -------
    z : Tensor of shape (n_samples, n_components), on ``device``
    q : Tensor of shape (n_samples, n_clusters), on ``device``

    Examples
    --------
    >>> import torch
    >>> from skdec.net import embed_and_assign
    >>> from skdec.nn import ClusteringLayer, DECModule
    >>> _ = torch.manual_seed(0)
    >>> module = DECModule(torch.nn.Linear(4, 2), ClusteringLayer(3, 2))
    >>> z, q = embed_and_assign(module, torch.rand(6, 4))
    >>> z.shape, q.shape, bool(torch.allclose(q.sum(dim=1), torch.ones(6)))
    (torch.Size([6, 2]), torch.Size([6, 3]), True)
    """
    return predict_batched(
        module, X, forward=_embed_and_assign, batch_size=batch_size, device=device
    )


def _embed_and_assign(module, batch):
    z = module.encoder(batch)
    return z, module.clustering_layer(z)
