"""Mini-batches for training: sliced from in-memory tensors, or read block by
block from rows that stay on disk; on CUDA, copied through pinned memory."""

from __future__ import annotations

import math
import os
import threading
from collections import deque
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import torch

from ._rows import ArrayRows, rows_per_chunk

__all__ = [
    "BLOCK_BYTES",
    "WINDOW_BLOCKS",
    "BlockShuffleIterator",
    "TensorBatchIterator",
    "as_float_tensor",
    "batch_iterator",
    "epochs_for_iterations",
    "read_ahead",
    "to_device_ahead",
]

#: Bytes of stored rows in one contiguous read of :class:`BlockShuffleIterator`.
BLOCK_BYTES = 1 << 20
#: Blocks held (and shuffled together) at once by :class:`BlockShuffleIterator`.
WINDOW_BLOCKS = 32


def as_float_tensor(X) -> torch.Tensor:
    """Return ``X`` as a float32 tensor, sharing memory with numpy when possible."""
    if isinstance(X, torch.Tensor):
        return X if X.dtype == torch.float32 else X.float()
    return torch.from_numpy(np.ascontiguousarray(X, dtype=np.float32))


class _CudaStaging:
    """Host-to-GPU copies on a side stream: each batch goes through pinned
    memory with a non-blocking copy, and the compute stream waits for that
    batch's copy only (an event), not for the copies issued after it."""

    def __init__(self, device):
        self.device = device
        self.stream = torch.cuda.Stream(device)

    def start(self, item):
        with torch.cuda.stream(self.stream):
            moved = tuple(self._copy(t) for t in item)
            event = torch.cuda.Event()
            event.record(self.stream)
        return moved, event

    def _copy(self, tensor):
        if tensor is None or tensor.device.type == "cuda":
            return tensor
        host = tensor if tensor.is_pinned() else tensor.pin_memory()
        return host.to(self.device, non_blocking=True)

    def finish(self, moved, event):
        current = torch.cuda.current_stream(self.device)
        current.wait_event(event)
        for tensor in moved:
            if tensor is not None and tensor.device.type == "cuda":
                # allocated on the side stream, used (and freed) on this one
                tensor.record_stream(current)
        return moved


def to_device_ahead(items, device):
    """Yield the tuples of tensors of ``items``, on ``device``.

    On a CUDA device each tuple is copied through pinned memory with
    non-blocking copies on a side stream, one tuple ahead: the copy of the
    next batch runs while the current one is computed on. The data stay on
    the host until then. On other devices the tuples are moved with
    ``.to(device)`` (a no-op for CPU tensors on the CPU). ``None`` entries
    stay None.

    Parameters
    ----------
    items : iterable of tuple of (Tensor or None)
    device : str or torch.device

    Yields
    ------
    tuple of (Tensor or None), on ``device``

    Examples
    --------
    >>> import torch
    >>> from skdec.net import to_device_ahead
    >>> [x.shape for x, _ in to_device_ahead([(torch.zeros(2, 3), None)], "cpu")]
    [torch.Size([2, 3])]
    """
    device = torch.device(device)
    if device.type != "cuda":
        for item in items:
            yield tuple(None if t is None else t.to(device) for t in item)
        return
    staging = _CudaStaging(device)
    pending = None
    for item in items:
        staged = staging.start(item)
        if pending is not None:
            yield staging.finish(*pending)
        pending = staged
    if pending is not None:
        yield staging.finish(*pending)


_DONE = object()
_READER = None  # the one read-ahead thread of the process (see read_ahead)


def _reader():
    global _READER
    if _READER is None:
        _READER = ThreadPoolExecutor(1, thread_name_prefix="skdec-read-ahead")
    return _READER


def _forget_reader():  # a forked child has the executor but not its thread
    global _READER
    _READER = None


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_reader)


def _next(iterator):
    return next(iterator, _DONE)


def read_ahead(items, depth: int = 2):
    """Yield the items of the iterable ``items``, produced by a background
    thread up to ``depth`` items ahead.

    Reading and converting the next batches from disk then overlaps the
    training on the current one. The order is that of ``items``; an
    exception raised while producing an item is raised here, in its place.
    All read-ahead of a process runs on one worker thread, one item at a
    time (the target update's reads run between two training batches'):
    one thread keeps the memory allocator's per-thread state to one arena
    however many epochs and passes start a new read-ahead.

    Examples
    --------
    >>> from skdec.net import read_ahead
    >>> list(read_ahead(iter(range(5))))
    [0, 1, 2, 3, 4]
    """
    iterator = iter(items)
    if threading.current_thread().name.startswith("skdec-read-ahead"):
        yield from iterator  # nested: the reader would wait on itself
        return
    reader = _reader()
    pending = deque(reader.submit(_next, iterator) for _ in range(max(1, depth)))
    try:
        while True:
            item = pending.popleft().result()
            if item is _DONE:
                return
            pending.append(reader.submit(_next, iterator))
            yield item
    finally:
        for future in pending:
            future.cancel()


class _BatchIterator:
    """What both batch iterators share: the rows ``X`` (as the subclass
    holds them), the targets, the batch settings and the number of batches."""

    def __init__(self, X, dataset, batch_size, shuffle, drop_last, device):
        self.X = X
        y = getattr(dataset, "y", None)
        self.y = None if y is None else torch.as_tensor(np.asarray(y))
        self.batch_size = int(batch_size)
        self.shuffle = shuffle
        self.drop_last = drop_last
        self.device = device

    def __len__(self) -> int:
        return _n_batches(len(self.X), self.batch_size, self.drop_last)


class TensorBatchIterator(_BatchIterator):
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
    device : str or torch.device, default=None
        With a CUDA device the batches are copied to it through pinned memory
        one batch ahead (:func:`to_device_ahead`); otherwise they are yielded
        on the host and the net moves them.

    Examples
    --------
    >>> import numpy as np
    >>> from skorch.dataset import Dataset
    >>> from skdec.net import TensorBatchIterator
    >>> it = TensorBatchIterator(Dataset(np.zeros((5, 2)), np.arange(5)), 2)
    >>> [tuple(xb.shape) for xb, _ in it]
    [(2, 2), (2, 2), (1, 2)]
    """

    def __init__(
        self, dataset, batch_size, shuffle=False, drop_last=False, device=None
    ):
        super().__init__(
            as_float_tensor(dataset.X), dataset, batch_size, shuffle, drop_last, device
        )

    def __iter__(self):
        batches = self._host_batches()
        if _is_cuda(self.device):
            batches = to_device_ahead(batches, self.device)
        yield from batches

    def _host_batches(self):
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


class BlockShuffleIterator(_BatchIterator):
    """Mini-batches read block by block from rows that stay where they are.

    For :class:`~skdec.net.ArrayRows` (a memmap, an HDF5 or zarr dataset):
    the rows are cut into contiguous blocks of about ``block_bytes`` of
    stored data; with ``shuffle``, the blocks are taken in a random order,
    ``window_blocks`` at a time, and the rows of each such window are
    shuffled together before being cut into batches (a batch thus mixes rows
    from up to ``window_blocks`` places of the data, read as contiguous
    slices, never row by row). Only one window (about ``block_bytes *
    window_blocks`` of stored rows, in one buffer reused from window to
    window) and the batches in flight are in memory; each batch is gathered
    from the window and converted to float32 (uint8 pixels divided by 255)
    on its own, in a background thread that reads ahead
    (:func:`read_ahead`).

    When all rows fit in one block the order is that of
    :class:`TensorBatchIterator` (one ``torch.randperm`` of the rows), so the
    batches are the same as for the same rows in memory. Shuffling draws from
    torch's global generator, all at the start of an epoch.

    Parameters
    ----------
    dataset : skorch.dataset.Dataset
        Holds ``X`` (:class:`~skdec.net.ArrayRows`) and optionally ``y``.
    batch_size : int
    shuffle : bool, default=False
    drop_last : bool, default=False
        Drop a last incomplete batch, but never the only batch.
    device : str or torch.device, default=None
        As for :class:`TensorBatchIterator`.
    block_bytes : int, default=None
        Stored bytes of one block (at least one row); None means
        :data:`BLOCK_BYTES` (1 MiB).
    window_blocks : int, default=None
        Blocks shuffled together; None means :data:`WINDOW_BLOCKS` (32).

    Examples
    --------
    >>> import numpy as np, torch
    >>> from skorch.dataset import Dataset
    >>> from skdec.net import ArrayRows, BlockShuffleIterator
    >>> rows = ArrayRows(np.arange(20, dtype=np.uint8).reshape(10, 2))
    >>> it = BlockShuffleIterator(Dataset(rows, np.arange(10)), 4, shuffle=True,
    ...                           block_bytes=4, window_blocks=2)
    >>> _ = torch.manual_seed(0)
    >>> sorted(int(i) for _, yb in it for i in yb) == list(range(10))
    True
    """

    def __init__(
        self,
        dataset,
        batch_size,
        shuffle=False,
        drop_last=False,
        device=None,
        block_bytes=None,
        window_blocks=None,
    ):
        X = dataset.X
        X = X if isinstance(X, ArrayRows) else ArrayRows(X)
        super().__init__(X, dataset, batch_size, shuffle, drop_last, device)
        if block_bytes is None:
            block_bytes = BLOCK_BYTES
        if window_blocks is None:
            window_blocks = WINDOW_BLOCKS
        self.block_rows = rows_per_chunk(
            self.X.shape[1], self.X.source_dtype.itemsize, block_bytes
        )
        self.window_blocks = max(1, int(window_blocks))

    def _windows(self):
        """``(blocks, permutation or None)`` per window; every draw is made
        here, in the consumer's thread, at the start of the epoch."""
        n_blocks = math.ceil(len(self.X) / self.block_rows)
        if self.shuffle and n_blocks > 1:
            order = torch.randperm(n_blocks).tolist()
        else:
            order = list(range(n_blocks))
        windows = []
        for w in range(0, n_blocks, self.window_blocks):
            blocks = order[w : w + self.window_blocks]
            size = sum(self._block(b)[1] - self._block(b)[0] for b in blocks)
            windows.append((blocks, torch.randperm(size) if self.shuffle else None))
        return windows

    def _block(self, b):
        start = b * self.block_rows
        return start, min(start + self.block_rows, len(self.X))

    def __iter__(self):
        batches = read_ahead(self._host_batches(self._windows()))
        if _is_cuda(self.device):
            batches = to_device_ahead(batches, self.device)
        yield from batches

    def _host_batches(self, windows):
        """Batches of the windows: each window's blocks are read into one
        buffer (reused for the next window) and the batches gathered from it
        in the window's order; rows left over are carried to the next."""
        pin = _is_cuda(self.device)
        n_batches, done = len(self), 0
        buffer, carry = None, None  # carry: (raw, ids) of < batch_size rows
        for blocks, permutation in windows:
            spans = [self._block(b) for b in blocks]
            size = sum(stop - start for start, stop in spans)
            if buffer is None or len(buffer) < size:
                buffer = np.empty((size, self.X.shape[1]), self.X.source_dtype)
            ids = np.concatenate([np.arange(start, stop) for start, stop in spans])
            at = 0
            for start, stop in spans:
                buffer[at : at + stop - start] = self.X.raw(start, stop)
                at += stop - start
            order = np.arange(size) if permutation is None else permutation.numpy()
            at = 0
            if carry is not None:
                take = order[: self.batch_size - len(carry[1])]
                carry = (
                    np.concatenate([carry[0], buffer[take]]),
                    np.concatenate([carry[1], ids[take]]),
                )
                at = len(take)
                if len(carry[1]) < self.batch_size:
                    continue
                if done < n_batches:
                    yield self._batch(*carry, pin)
                    done += 1
                carry = None
            while size - at >= self.batch_size and done < n_batches:
                take = order[at : at + self.batch_size]
                yield self._batch(buffer[take], ids[take], pin)
                at += self.batch_size
                done += 1
            if at < size and done < n_batches:
                carry = (buffer[order[at:]], ids[order[at:]])
        if carry is not None and done < n_batches:
            yield self._batch(*carry, pin)

    def _batch(self, raw, ids, pin):
        xb = torch.from_numpy(self.X.convert(raw))
        if pin:
            xb = xb.pin_memory()
        yb = None if self.y is None else self.y[torch.from_numpy(ids)]
        return xb, yb


def batch_iterator(dataset, batch_size, shuffle=False, drop_last=False, device=None):
    """The batch iterator of skdec's nets for ``dataset``: a
    :class:`BlockShuffleIterator` for rows read from disk
    (:class:`~skdec.net.ArrayRows`), a :class:`TensorBatchIterator` for data
    in memory.

    Examples
    --------
    >>> import numpy as np
    >>> from skorch.dataset import Dataset
    >>> from skdec.net import ArrayRows, batch_iterator
    >>> type(batch_iterator(Dataset(np.zeros((4, 2))), 2)).__name__
    'TensorBatchIterator'
    >>> rows = ArrayRows(np.zeros((4, 2), dtype=np.uint8))
    >>> type(batch_iterator(Dataset(rows), 2)).__name__
    'BlockShuffleIterator'
    """
    on_disk = isinstance(dataset.X, ArrayRows)
    cls = BlockShuffleIterator if on_disk else TensorBatchIterator
    return cls(dataset, batch_size, shuffle=shuffle, drop_last=drop_last, device=device)


def _n_batches(n, batch_size, drop_last):
    if drop_last and n >= batch_size:
        return n // batch_size
    return math.ceil(n / batch_size)


def _is_cuda(device):
    return device is not None and torch.device(device).type == "cuda"


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
