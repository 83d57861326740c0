"""skorch nets that train the autoencoder and the DEC clustering network."""

from __future__ import annotations

import contextlib

import torch
import torch.nn.functional as F
from skorch import NeuralNet, NeuralNetClassifier
from skorch.dataset import unpack_data

from ..nn import nt_xent_loss
from ._allocator import tune_malloc
from ._inference import INFERENCE_BATCH_SIZE, embed_and_assign
from ._loader import batch_iterator

__all__ = [
    "AutoencoderNet",
    "ContrastiveNet",
    "DECNet",
    "TrainingDivergedError",
    "check_finite_loss",
]


class TrainingDivergedError(FloatingPointError, ValueError):
    """Raised when a training loss becomes NaN or infinite."""


def check_finite_loss(loss: torch.Tensor, stage: str, hint: str) -> None:
    """Raise :class:`TrainingDivergedError` when ``loss`` is not finite."""
    if not torch.isfinite(loss):
        raise TrainingDivergedError(
            f"The {stage} loss became {loss.item()}: training diverged. {hint}"
        )


def _reconstruction_loss(x_hat: torch.Tensor, X: torch.Tensor) -> torch.Tensor:
    """Mean squared error of ``x_hat`` against ``X``, in ``X``'s dtype (a forward
    pass under autocast returns ``x_hat`` in bfloat16)."""
    return F.mse_loss(x_hat.to(X.dtype), X.to(x_hat.device))


class _FastNet(NeuralNet):
    """NeuralNet defaults for skdec's data: no validation split, whole batches.

    Batches are sliced out of in-memory data, or read block by block from
    rows on disk (:class:`~skdec.net.ArrayRows`), by
    :func:`~skdec.net.batch_iterator`; on a CUDA ``device`` they are copied
    through pinned memory one batch ahead of the training step.

    ``augmenter``, when given, is a callable applied to each training batch of
    ``X`` (for example :class:`skdec.nn.RandomShiftRotate`); prediction never
    augments.

    ``autocast_dtype``, when given (``torch.bfloat16``), runs the forward pass
    of each training step under :func:`torch.autocast`: matrix products in that
    dtype, parameters, gradients, optimiser state and losses in float32.
    Prediction always runs in float32.

    Initialising the module sets glibc's allocator thresholds once per process
    (:func:`skdec.net.tune_malloc`), so that each step's memory is reused
    instead of being faulted in anew.
    """

    def __init__(self, *args, augmenter=None, autocast_dtype=None, **kwargs):
        self.augmenter = augmenter
        self.autocast_dtype = autocast_dtype
        kwargs.setdefault("train_split", None)
        for stage in ("iterator_train", "iterator_valid"):
            if kwargs.setdefault(stage, batch_iterator) is batch_iterator:
                kwargs.setdefault(f"{stage}__device", kwargs.get("device", "cpu"))
        kwargs.setdefault("iterator_train__shuffle", True)
        # a last batch of a handful of samples costs a full optimiser step and
        # gives a noisy gradient; the samples are in other epochs' batches
        kwargs.setdefault("iterator_train__drop_last", True)
        kwargs.setdefault("criterion", torch.nn.MSELoss)
        super().__init__(*args, **kwargs)

    def initialize_module(self):
        tune_malloc()
        return super().initialize_module()

    def train_step_single(self, batch, **fit_params):
        # skorch's step, with autocast around the forward pass only
        self._set_training(True)
        Xi, yi = unpack_data(batch)
        if self.augmenter is not None:
            with torch.no_grad():
                Xi = self.augmenter(Xi.to(self.device))
        with self._autocast():
            y_pred = self.infer(Xi, **fit_params)
        # the loss and the backward pass outside autocast: get_loss compares
        # the outputs with X in X's dtype (_reconstruction_loss, soft_assignment)
        loss = self.get_loss(y_pred, yi, X=Xi, training=True)
        self._backward(loss)
        return {"loss": loss, "y_pred": y_pred}

    def _backward(self, loss):
        """The backward pass of a training step (a data-parallel net's goes
        through its accelerator)."""
        loss.backward()

    def unwrapped_module(self):
        """``module_`` itself; a data-parallel net's without its
        ``DistributedDataParallel`` wrapper, while it trains."""
        return self.module_

    def _autocast(self):
        if self.autocast_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(
            device_type=torch.device(self.device).type, dtype=self.autocast_dtype
        )


class AutoencoderNet(_FastNet):
    """Train a module returning ``(code, reconstruction)`` to reconstruct ``X``.

    The loss is the mean squared reconstruction error; ``y`` is ignored. Used
    for end-to-end pretraining and for each layer pair of greedy layer-wise
    pretraining.

    Examples
    --------
    >>> import numpy as np, torch
    >>> from skdec.nn import MLPAutoencoder
    >>> from skdec.net import AutoencoderNet
    >>> _ = torch.manual_seed(0)
    >>> net = AutoencoderNet(MLPAutoencoder, module__n_features=4,
    ...                      module__hidden_dims=(8,), module__n_components=2,
    ...                      max_epochs=3, batch_size=16, verbose=0)
    >>> net = net.fit(np.random.RandomState(0).rand(32, 4).astype("float32"))
    >>> len(net.history)
    3
    """

    def get_loss(self, y_pred, y_true, X=None, training=False):
        _, x_hat = y_pred
        loss = _reconstruction_loss(x_hat, X)
        check_finite_loss(
            loss,
            "pretraining reconstruction",
            "Lower the autoencoder's `lr`, scale the input features (for example to "
            "[0, 1]) or use a smaller batch size.",
        )
        return loss


class ContrastiveNet(_FastNet):
    """Train a :class:`skdec.nn.ContrastiveModule` on two augmented views.

    Each training step draws two views of the batch with ``augmenter``
    (needed), passes both through the module as one batch and takes
    :func:`skdec.nn.nt_xent_loss` at ``temperature`` on their projections;
    ``y`` is ignored.

    Examples
    --------
    >>> import numpy as np, torch
    >>> from skdec.nn import ContrastiveModule, ConvFeatureEncoder, RandomShiftRotate
    >>> from skdec.net import ContrastiveNet
    >>> _ = torch.manual_seed(0)
    >>> module = ContrastiveModule(ConvFeatureEncoder((1, 8, 8), (4, 8)), 8)
    >>> net = ContrastiveNet(module, augmenter=RandomShiftRotate((1, 8, 8)),
    ...                      max_epochs=2, batch_size=8, verbose=0,
    ...                      optimizer=torch.optim.Adam, lr=1e-3)
    >>> len(net.fit(np.random.RandomState(0).rand(16, 64).astype("float32")).history)
    2
    """

    def __init__(self, *args, temperature=0.2, **kwargs):
        self.temperature = temperature
        super().__init__(*args, **kwargs)

    def train_step_single(self, batch, **fit_params):
        if self.augmenter is None:
            raise ValueError("ContrastiveNet needs an augmenter to draw the views.")
        self._set_training(True)
        Xi, _ = unpack_data(batch)
        Xi = Xi.to(self.device)
        with torch.no_grad():
            views = torch.cat([self.augmenter(Xi), self.augmenter(Xi)])
        with self._autocast():
            z = self.infer(views, **fit_params)
        loss = self.get_loss(z, None, X=views, training=True)
        self._backward(loss)
        return {"loss": loss, "y_pred": z}

    def get_loss(self, y_pred, y_true, X=None, training=False):
        loss = nt_xent_loss(y_pred, self.temperature)
        check_finite_loss(
            loss,
            "contrastive pretraining",
            "Lower the encoder's `lr` or raise its `temperature`.",
        )
        return loss


class DECNet(_FastNet):
    """Train a :class:`skdec.nn.DECModule` on DEC's KL(P || Q) objective.

    ``y`` must hold the sample indices into the whole data set: the target
    distribution ``P`` of the whole data set lives in ``target_`` (set by the
    :class:`~skdec.net.TargetDistributionUpdate` callback) and each mini-batch
    looks up its rows by index. With ``gamma > 0`` the reconstruction error of
    the module's decoder is added (IDEC, Guo et al. 2017).

    Parameters
    ----------
    gamma : float, default=0.0
        Weight of the reconstruction loss.
    *args, **kwargs
        Passed to :class:`skorch.NeuralNet`.
    """

    def __init__(self, *args, gamma=0.0, **kwargs):
        self.gamma = gamma
        super().__init__(*args, **kwargs)

    def embed_and_assign(self, X, batch_size=INFERENCE_BATCH_SIZE):
        """Embedding and soft assignment of every row of ``X`` by the module
        (:func:`skdec.net.embed_and_assign`), as the target updates need them;
        a data-parallel net computes a share of the rows in each process and
        gathers them.

        Returns
        -------
        z : Tensor of shape (n_samples, n_components), on ``device``
        q : Tensor of shape (n_samples, n_clusters), on ``device``
        """
        return embed_and_assign(self.unwrapped_module(), X, batch_size, self.device)

    def get_loss(self, y_pred, y_true, X=None, training=False):
        q, _, x_hat = y_pred
        p = self.target_[y_true.to(self.target_.device)].to(q.device)
        log_q = torch.log(q.clamp_min(torch.finfo(q.dtype).tiny))
        loss = F.kl_div(log_q, p, reduction="batchmean")
        if self.gamma > 0:
            loss = loss + self.gamma * _reconstruction_loss(x_hat, X)
        check_finite_loss(
            loss,
            "clustering",
            "Lower `lr`, scale the input features, or check the pretrained "
            "encoder for exploding embeddings.",
        )
        return loss


class LabelHeadNet(_FastNet, NeuralNetClassifier):
    """Train a :class:`skdec.nn.LabelHeadModule` with cross-entropy on labels.

    The in-memory batches of the other nets, every labelled sample used (no
    ``drop_last``: labelled subjects are few), validation in batches of at
    least 1024, and a clear error on a diverged loss.
    """

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("criterion", torch.nn.CrossEntropyLoss)
        kwargs.setdefault("iterator_train__drop_last", False)
        kwargs.setdefault(
            "iterator_valid__batch_size",
            max(kwargs["batch_size"], INFERENCE_BATCH_SIZE),
        )
        super().__init__(*args, **kwargs)

    def get_loss(self, y_pred, y_true, X=None, training=False):
        loss = NeuralNetClassifier.get_loss(
            self, y_pred, y_true, X=X, training=training
        )
        check_finite_loss(
            loss,
            "label-head",
            "Lower `lr` or scale the input features like the DEC training data.",
        )
        return loss
