"""Mini-batches sliced from in-memory tensors, without per-sample Python calls."""

from __future__ import annotations

import math

import numpy as np
import torch

__all__ = ["TensorBatchIterator", "as_float_tensor", "epochs_for_iterations"]


def as_float_tensor(X) -> torch.Tensor:
    """Return ``X`` as a float32 tensor, sharing memory with numpy when possible."""
    if isinstance(X, torch.Tensor):
        return X if X.dtype == torch.float32 else X.float()
    return torch.from_numpy(np.ascontiguousarray(X, dtype=np.float32))


class TensorBatchIterator:
    """Iterate over a skorch ``Dataset`` in mini-batches by fancy indexing.

    skorch's default ``DataLoader`` calls ``Dataset.__getitem__`` once per sample
    and collates the results; for data that already sits in memory, slicing
    whole batches out of one tensor is several times faster. Shuffling draws from
    torch's global generator, so it is reproducible under ``torch.manual_seed``.

    Parameters
    ----------
    dataset : skorch.dataset.Dataset
        Holds ``X`` (array or tensor) and optionally ``y``.
    batch_size : int
    shuffle : bool, default=False
    drop_last : bool, default=False
        Drop a last incomplete batch, but never the only batch.

    Examples
    --------
    >>> import numpy as np
    >>> from skorch.dataset import Dataset
    >>> from skdec.net import TensorBatchIterator
    >>> it = TensorBatchIterator(Dataset(np.zeros((5, 2)), np.arange(5)), 2)
    >>> [tuple(xb.shape) for xb, _ in it]
    [(2, 2), (2, 2), (1, 2)]
    """

    def __init__(self, dataset, batch_size, shuffle=False, drop_last=False):
        self.X = as_float_tensor(dataset.X)
        y = getattr(dataset, "y", None)
        self.y = None if y is None else torch.as_tensor(np.asarray(y))
        self.batch_size = int(batch_size)
        self.shuffle = shuffle
        self.drop_last = drop_last

    def __len__(self) -> int:
        n = len(self.X)
        if self.drop_last and n >= self.batch_size:
            return n // self.batch_size
        return math.ceil(n / self.batch_size)

    def __iter__(self):
        order = self._order()
        for b in range(len(self)):
            if order is None:
                index = slice(b * self.batch_size, (b + 1) * self.batch_size)
            else:
                index = order[b * self.batch_size : (b + 1) * self.batch_size]
            yield self.X[index], (None if self.y is None else self.y[index])

    def _order(self):
        """Row order of one pass: a permutation drawn from torch's global
        generator when shuffling, None (the rows in order) otherwise."""
        return torch.randperm(len(self.X)) if self.shuffle else None


def epochs_for_iterations(n_samples: int, batch_size: int, n_iter: int) -> int:
    """Epochs enough for ``n_iter`` training batches (last partial batch dropped).

    Examples
    --------
    >>> from skdec.net import epochs_for_iterations
    >>> epochs_for_iterations(300, 64, 25)  # 4 batches an epoch
    8
    """
    per_epoch = max(1, n_samples // batch_size)
    return math.ceil(n_iter / per_epoch) + 1
