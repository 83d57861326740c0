"""Training in one process or data-parallel over several, through accelerate.

A fit asks one strategy object for what differs between the two:
:class:`SingleProcess` (the default) and :class:`DataParallel` (the
processes of a Hugging Face ``accelerate.Accelerator``, started by
``accelerate launch`` or ``torchrun``). Under :class:`DataParallel`

- every process holds the whole data set; each training step's batch is
  drawn identically in all of them and each process trains on its share
  (:class:`ShardedBatchIterator`); the nets are skorch's
  :class:`~skorch.hf.AccelerateMixin` on skdec's nets, so the gradients are
  averaged over the processes (``DistributedDataParallel``) and the modules
  stay identical;
- the passes over the whole data set (the embedding before the start
  partition, the soft assignment of each target update) are split into one
  block of rows per process and gathered (``accelerator.gather``), so every
  process holds the same full result, equal to the one-process result (each
  row's output does not depend on the others: :mod:`skdec.net._inference`);
- what draws from a random generator outside torch (the start partition)
  runs in the main process and is broadcast.

Every process then takes the same decisions (target, convergence, collapse
roll-back), so all of them stop at the same step. The accelerate package is
imported only when several processes are used; this module needs only
skorch.
"""

from __future__ import annotations

import torch
from skorch.hf import AccelerateMixin

from ._inference import INFERENCE_BATCH_SIZE, embed, embed_and_assign
from ._loader import TensorBatchIterator
from ._nets import AutoencoderNet, DECNet, _FastNet

__all__ = [
    "AcceleratedAutoencoderNet",
    "AcceleratedDECNet",
    "DataParallel",
    "ShardedBatchIterator",
    "SingleProcess",
    "gather_rows",
    "is_main_process",
    "parallelism",
]

ACCELERATE_INSTALL = "pip install 'skdec[accelerate]'"


def _accelerate():
    try:
        import accelerate
    except ImportError as exc:
        raise ImportError(
            "Training over several processes needs Hugging Face accelerate, "
            f"an optional dependency: {ACCELERATE_INSTALL}"
        ) from exc
    return accelerate


def parallelism(accelerator, device):
    """The training strategy of ``DECClusterer(accelerator=..., device=...)``.

    Parameters
    ----------
    accelerator : None, 'auto' or accelerate.Accelerator
        None trains in this process. 'auto' builds ``accelerate.Accelerator()``
        (``cpu=True`` for a CPU ``device``), which takes the processes from
        the launcher (``accelerate launch``, ``torchrun``); an Accelerator is
        used as it is.
    device : torch.device
        The estimator's device; with an accelerator, each process runs on
        ``accelerator.device``, which must be of the same type ('cpu',
        'cuda').

    Returns
    -------
    SingleProcess or DataParallel
        :class:`SingleProcess` also when the accelerator has one process.

    Raises
    ------
    ImportError
        'auto' without accelerate installed, naming ``skdec[accelerate]``.
    ValueError
        An accelerator on another type of device than ``device``, or with
        mixed precision or gradient accumulation (skdec's ``precision`` and
        ``batch_size`` are the settings of those).
    """
    if accelerator is None:
        return SingleProcess(device)
    if isinstance(accelerator, str):  # 'auto'
        accelerator = _accelerate().Accelerator(cpu=device.type == "cpu")
    if accelerator.device.type != device.type:
        raise ValueError(
            f"device={str(device)!r}, but the accelerator runs on "
            f"{accelerator.device}: pass device={accelerator.device.type!r}."
        )
    if accelerator.mixed_precision != "no":
        raise ValueError(
            f"The accelerator has mixed_precision={accelerator.mixed_precision!r}; "
            "skdec sets the arithmetic of its training steps itself: create the "
            "Accelerator with mixed_precision='no' (or launch without "
            "--mixed_precision) and pass DECClusterer(precision='bfloat16')."
        )
    if accelerator.gradient_accumulation_steps != 1:
        raise ValueError(
            "Gradient accumulation "
            f"(gradient_accumulation_steps={accelerator.gradient_accumulation_steps}) "
            "is not supported: raise batch_size instead, which is the number of "
            "samples of each step over all processes."
        )
    if accelerator.num_processes == 1:
        return SingleProcess(accelerator.device)
    return DataParallel(accelerator)


def is_main_process(accelerator=None, device="cpu") -> bool:
    """Whether this process is the one that writes results.

    Parameters
    ----------
    accelerator : None, 'auto' or accelerate.Accelerator, default=None
        As ``DECClusterer(accelerator=...)``: None is True; 'auto' asks
        accelerate's process state, set up as the fit sets it up for
        ``device``; an Accelerator answers itself.
    device : str or torch.device, default='cpu'
        The estimator's ``device`` (used with 'auto' only).

    Examples
    --------
    >>> from skdec.net import is_main_process
    >>> is_main_process(None)
    True
    """
    if accelerator is None:
        return True
    if isinstance(accelerator, str):
        cpu = torch.device(device).type == "cpu"
        return bool(_accelerate().PartialState(cpu=cpu).is_main_process)
    return bool(accelerator.is_main_process)


class SingleProcess:
    """Training in this process alone: the nets and passes of a plain fit.

    Parameters
    ----------
    device : torch.device

    Examples
    --------
    >>> import torch
    >>> from skdec.net import SingleProcess
    >>> strategy = SingleProcess(torch.device("cpu"))
    >>> strategy.n_processes, strategy.is_main
    (1, True)
    >>> strategy.on_main(sum, [1, 2])
    3
    """

    n_processes = 1
    is_main = True

    def __init__(self, device):
        self.device = torch.device(device)

    def net(self, net_class, *args, **kwargs):
        """``net_class(*args, **kwargs)``."""
        return net_class(*args, **kwargs)

    def plain(self, net):
        """The trained ``net`` as it is."""
        return net

    def embed(self, encoder, X):
        """:func:`skdec.net.embed` of every row of ``X`` on ``device``."""
        return embed(encoder, X, device=self.device)

    def on_main(self, fn, *args, **kwargs):
        """``fn(*args, **kwargs)``."""
        return fn(*args, **kwargs)


class DataParallel:
    """Data-parallel training over the processes of an accelerate.Accelerator.

    Built by :func:`parallelism`; see the module's description.

    Parameters
    ----------
    accelerator : accelerate.Accelerator
        Has more than one process.
    """

    is_main = property(lambda self: bool(self.accelerator.is_main_process))
    n_processes = property(lambda self: int(self.accelerator.num_processes))
    device = property(lambda self: self.accelerator.device)

    def __init__(self, accelerator):
        self.accelerator = accelerator
        self._recipes = {}

    def net(self, net_class, *args, **kwargs):
        """The accelerated variant of ``net_class`` (:class:`AutoencoderNet`
        or :class:`DECNet`), on ``accelerator.device``, each process training
        on its share of every batch."""
        accelerated = _ACCELERATED[net_class]
        kwargs = {**kwargs, "device": self.device}
        net = accelerated(
            *args,
            accelerator=self.accelerator,
            iterator_train=ShardedBatchIterator,
            iterator_train__accelerator=self.accelerator,
            # the mixin's 'auto' sink (the accelerator's print) would print
            # the epoch log whatever the net's verbose
            callbacks__print_log__sink=print,
            **kwargs,
        )
        self._recipes[id(net)] = (net_class, args, kwargs)
        return net

    def plain(self, net):
        """A net built by :meth:`net`, after training, as the plain net of a
        one-process fit around the same trained module, with its history:
        it pickles without accelerate and predicts in any one process."""
        net_class, args, kwargs = self._recipes.pop(id(net))
        plain = net_class(*args, **kwargs).initialize()
        plain.history = net.history
        return plain

    def embed(self, encoder, X):
        """:func:`skdec.net.embed` of every row of ``X``, a block of rows in
        each process, gathered."""
        return gather_rows(
            self.accelerator, X, lambda part: embed(encoder, part, device=self.device)
        )

    def on_main(self, fn, *args, **kwargs):
        """``fn(*args, **kwargs)`` run in the main process and broadcast to
        the others (its exception too, raised in every process)."""
        from accelerate.utils import broadcast_object_list

        box = [None]
        if self.is_main:
            try:
                box[0] = (True, fn(*args, **kwargs))
            except Exception as exc:  # the others must not wait for a result
                box[0] = (False, exc)
        broadcast_object_list(box, from_process=0)
        ok, value = box[0]
        if not ok:
            raise value
        return value


def _pad_rows(t, n):
    if len(t) >= n:
        return t.contiguous()
    fill = t[-1:].expand(n - len(t), *t.shape[1:])
    return torch.cat([t, fill])


def gather_rows(accelerator, X, compute):
    """``compute`` of all rows of ``X``, each process computing one block.

    Process ``r`` of ``W`` computes rows ``[r * m, (r + 1) * m)``,
    ``m = ceil(n / W)`` (a view of ``X``: no copy of the data); the blocks,
    padded to ``m`` rows with copies of their last row, are gathered and the
    padding dropped.

    Parameters
    ----------
    accelerator : accelerate.Accelerator
    X : array-like or Tensor of shape (n_samples, ...)
    compute : callable
        Rows to a tensor or a tuple of tensors with one row per row, on the
        accelerator's device.

    Returns
    -------
    Tensor or tuple of Tensor, with ``n_samples`` rows, in every process
    """
    n = len(X)
    if n == 0:
        raise ValueError("X has no rows.")
    world, rank = accelerator.num_processes, accelerator.process_index
    per = -(-n // world)
    start = min(rank * per, n - 1)  # a process past the end computes one row
    stop = max(min((rank + 1) * per, n), start + 1)
    out = compute(X[start:stop])
    single = not isinstance(out, tuple)
    parts = tuple(_pad_rows(o, per) for o in ((out,) if single else out))
    gathered = tuple(accelerator.gather(p)[:n] for p in parts)
    return gathered[0] if single else gathered


class ShardedBatchIterator(TensorBatchIterator):
    """This process's share of every training batch, in data-parallel training.

    ``batch_size`` is the batch of one step over all processes: the main
    process draws the order of the rows (torch's generator, as
    :class:`TensorBatchIterator`) and broadcasts it, every process cuts it
    into the same batches and takes its ``batch_size // n_processes`` rows of
    each. The last incomplete batch is always dropped (a process without rows
    would leave the others waiting), but never the only one: with fewer rows
    than ``batch_size``, they are the one batch.

    Parameters
    ----------
    dataset : skorch.dataset.Dataset
    batch_size : int
        Rows of a step over all processes; at least the number of processes.
    shuffle : bool, default=False
    drop_last : True
        Accepted for skorch's ``iterator_train__drop_last``; False is refused.
    accelerator : accelerate.Accelerator
    """

    def __init__(
        self, dataset, batch_size, shuffle=False, drop_last=True, *, accelerator
    ):
        if not drop_last:
            raise ValueError(
                "ShardedBatchIterator drops the last incomplete batch "
                "(drop_last=True): every process must take the same steps."
            )
        super().__init__(dataset, batch_size, shuffle=shuffle, drop_last=True)
        self.accelerator = accelerator
        world = accelerator.num_processes
        self.step_size = min(int(batch_size), len(self.X))
        if self.step_size < world:
            raise ValueError(
                f"A batch of {self.step_size} rows cannot be shared by {world} "
                "processes: the batch size (and the number of samples) must be at "
                "least the number of processes."
            )
        self.batch_size = self.step_size // world  # this process's share
        self.n_steps = len(self.X) // self.step_size

    def __len__(self) -> int:
        return self.n_steps

    def _order(self):
        n = len(self.X)
        if self.shuffle:
            from accelerate.utils import broadcast

            # drawn in every process (their generators advance alike), the
            # main process's kept
            order = torch.randperm(n).to(self.accelerator.device)
            order = broadcast(order, from_process=0).cpu()
        else:
            order = torch.arange(n)
        steps = order[: self.n_steps * self.step_size].view(self.n_steps, -1)
        start = self.accelerator.process_index * self.batch_size
        return steps[:, start : start + self.batch_size].reshape(-1)


class _Accelerated(AccelerateMixin):
    """skorch's AccelerateMixin on skdec's nets: their training step (with
    augmentation and skdec's autocast) and its backward pass through the
    accelerator. skdec's batch iterators are not DataLoaders, which
    accelerate would move to its device: the net places the batches on its
    ``device``, the accelerator's."""

    def _validate_params(self):
        # skip the mixin's rule that the accelerator places everything
        super(AccelerateMixin, self)._validate_params()
        if torch.device(self.device) != self.accelerator.device:
            raise ValueError(
                f"device={self.device!r} differs from the accelerator's device "
                f"{self.accelerator.device}."
            )

    def _initialize_accelerator(self):
        # skdec's nets compute their losses in get_loss; their criterion has
        # no parameters, and DistributedDataParallel refuses to wrap such a
        # module: the mixin prepares the modules and optimisers only
        criteria, self._criteria = self._criteria, []
        try:
            return super()._initialize_accelerator()
        finally:
            self._criteria = criteria

    def on_train_begin(self, net, X=None, y=None, **kwargs):
        super().on_train_begin(net, X=X, y=y, **kwargs)
        # torch's generator apart in each process from here on, so that the
        # processes' rows get their own augmentation and dropout draws (the
        # order of the rows is broadcast, the initial weights by DDP)
        offset = self.accelerator.process_index
        torch.manual_seed(int(torch.randint(2**31, (1,))) + offset)

    def train_step_single(self, batch, **fit_params):
        return _FastNet.train_step_single(self, batch, **fit_params)

    def _backward(self, loss):
        self.accelerator.backward(loss)

    def unwrapped_module(self):
        return self.accelerator.unwrap_model(self.module_, keep_fp32_wrapper=False)


class AcceleratedAutoencoderNet(_Accelerated, AutoencoderNet):
    """:class:`~skdec.net.AutoencoderNet` trained data-parallel through
    accelerate (built by :meth:`DataParallel.net`)."""


class AcceleratedDECNet(_Accelerated, DECNet):
    """:class:`~skdec.net.DECNet` trained data-parallel through accelerate
    (built by :meth:`DataParallel.net`); its target updates compute the soft
    assignment of a block of rows in each process and gather it."""

    def embed_and_assign(self, X, batch_size=INFERENCE_BATCH_SIZE):
        module = self.unwrapped_module()
        return gather_rows(
            self.accelerator,
            X,
            lambda part: embed_and_assign(module, part, batch_size, self.device),
        )


_ACCELERATED = {
    AutoencoderNet: AcceleratedAutoencoderNet,
    DECNet: AcceleratedDECNet,
}
