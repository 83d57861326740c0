"""A classifier made of a fitted DEC network and a cluster-to-label mapping.

Experiment 2 of the study behind skdec: a label layer initialised from the
cluster -> label mapping is put on top of the clustering network, and the whole
network is fine-tuned on the (noisy) volunteer labels.
"""

from __future__ import annotations

import copy
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.exceptions import NotFittedError
from sklearn.frozen import FrozenEstimator
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data
from skorch.callbacks import EarlyStopping
from skorch.dataset import Dataset
from skorch.helper import predefined_split

from ._dec import DECClusterer
from ._labels import ClusterLabelMapper
from ._unlabelled import UNLABELLED, unlabelled_mask
from .net import (
    LabelHeadNet,
    interruptible_fit,
    pack_state,
    predict_batched,
    unpack_state,
)
from .net._device import resolve_device, seeded
from .net._optim import OPTIMIZERS, optimizer_kwargs
from .nn import ClusterLabelLayer, LabelHeadModule

__all__ = ["LabelHeadClassifier"]

# sharpness='auto' takes the smallest power of two whose predictions agree this
# often with the mapper's: much sharper assignments pass almost no gradient.
_AUTO_SHARPNESS_AGREEMENT = 0.9


def _is_fitted(estimator):
    try:
        check_is_fitted(estimator)
    except NotFittedError:
        return False
    return True


def _reinitialise(module):
    """Draw fresh weights for every layer of ``module`` (training from scratch)."""
    for layer in module.modules():
        if layer is not module and hasattr(layer, "reset_parameters"):
            layer.reset_parameters()
    with torch.no_grad():
        torch.nn.init.normal_(module.clustering_layer.centers)
        torch.nn.init.normal_(module.label_layer.weight)


def _silent(*args, **kwargs):
    """A sink for skorch messages that prints nothing."""


class LabelHeadClassifier(ClassifierMixin, BaseEstimator):
    """Classifier fine-tuned from a DEC network and a cluster-to-label mapping.

    The network is the DEC encoder and clustering layer followed by a
    :class:`skdec.nn.ClusterLabelLayer`, which maps the soft assignment ``q``
    to class probabilities ``q @ M``; ``M`` (clusters x classes) starts as the
    mapper's ``cluster_label_proba_``, so before training the classifier
    predicts what the mapper predicts. The whole network (encoder, centres and
    ``M``) is then trained with cross-entropy on the labelled subjects through
    a skorch :class:`~skorch.NeuralNetClassifier`, with early stopping.

    Subjects labelled -1 are unlabelled: DEC and the mapper see them (DEC
    clusters all of ``X``), the classification loss does not.

    Parameters
    ----------
    dec : DECClusterer or FrozenEstimator, default=None
        The clustering network. A fitted one is used as it is (its network is
        copied, never modified); an unfitted one is cloned and fitted on ``X``;
        None fits ``DECClusterer(**dec_params)`` on ``X``. In a search or a
        cross-validation, wrap a fitted model in
        :class:`sklearn.frozen.FrozenEstimator`: ``clone`` (which the search
        applies to every fold) would otherwise hand each fold an unfitted
        copy, fitted again.
    mapper : ClusterLabelMapper, default=None
        The cluster -> label mapping. A fitted one is used as it is; an
        unfitted one is cloned and fitted on DEC's soft assignment of ``X`` and
        ``y``; None fits ``ClusterLabelMapper()`` (majority vote per cluster).
        An internally fitted mapper gets DEC's ``cluster_centers_`` for its
        ``'nearest'`` fallback when it has none.
    dec_params : dict, default=None
        Parameters of the DECClusterer fitted when ``dec`` is None.
        ``n_clusters`` defaults to the number of classes, ``random_state`` to
        a seed drawn from ``random_state`` and ``device`` to ``device``.
    init : {'mapping', 'random'}, default='mapping'
        'mapping' starts from the DEC network and the mapping; 'random'
        re-draws every weight of the same architecture (training from
        scratch, the baseline the label head is compared with).
    smoothing : float, default=1e-3
        Added to the mapping before normalising its rows, so that no class
        starts with probability zero.
    sharpness : float or 'auto', default='auto'
        Initial exponent applied to the soft assignment before the mapping
        (see :class:`skdec.nn.ClusterLabelLayer`; it is trained too). 1 mixes
        the clusters' label distributions by the soft assignment (what a
        'probabilistic' mapper predicts); large values approach the label of
        the most likely cluster (what a 'majority' or 'hungarian' mapper
        predicts). 'auto' takes the smallest power of two up to 256 whose
        predictions on ``X`` agree with the mapper's for 90% of the samples
        (256 if none does), so that the head starts close to the mapper's
        labels while the sharpened assignment still passes gradients to the
        encoder; with ``init='random'`` it is 1.
    max_epochs : int, default=100
        Maximum number of passes over the labelled subjects.
    lr : float, default=1e-3
        Learning rate of the fine-tuning (Adam). Larger rates (1e-2) can
        wreck a pretrained encoder in the first steps when few subjects are
        labelled; training from scratch (``init='random'``) often wants more.
    optimizer : {'adam', 'sgd'}, default='adam'
    momentum : float, default=0.9
        Momentum of SGD.
    batch_size : int, default=64
    validation_fraction : float, default=None
        Fraction of the labelled subjects held out (at random) to record
        ``valid_loss`` and ``valid_acc`` each epoch and to drive early
        stopping; None trains on all of them and stops on the training loss.
    n_iter_no_change : int, default=10
        Patience: stop after this many epochs without a relative improvement
        of ``tol`` of the monitored loss, and restore the weights of the best
        epoch. None disables early stopping.
    tol : float, default=1e-4
        Relative improvement that resets the patience.
    device : str, default='cpu'
        Torch device, for example 'cpu' or 'cuda'.
    random_state : int, RandomState instance or None, default=None
        Seeds DEC (when fitted here), the validation split and torch (weights
        of ``init='random'``, shuffling); the same value gives the same model.
    verbose : int, default=0
        Print the skorch epoch table when positive.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Labels seen in ``fit`` (and in a pre-fitted mapper), without -1.
    dec_ : DECClusterer
        The fitted clustering estimator (``dec`` itself when pre-fitted).
    mapper_ : ClusterLabelMapper
        The fitted mapper (``mapper`` itself when pre-fitted).
    initial_mapping_ : ndarray of shape (n_clusters, n_classes)
        Row-stochastic mapping the label layer started from.
    sharpness_ : float
        Sharpness the label layer started from.
    mapping_ : ndarray of shape (n_clusters, n_classes)
        Row-stochastic mapping after fine-tuning.
    net_ : skorch.NeuralNetClassifier
        The fitted net; ``net_.history`` is skorch's full history.
    module_ : skdec.nn.LabelHeadModule
        The fine-tuned network.
    history_ : list of dict
        One record per epoch: ``epoch``, ``train_loss`` and, with a
        validation fraction, ``valid_loss`` and ``valid_acc``.
    n_epochs_ : int
        Epochs run.
    best_epoch_ : int
        Epoch (1-based) with the best monitored loss, whose weights are kept
        when early stopping; ``n_epochs_`` without early stopping.
    n_labelled_ : int
        Labelled subjects used for training (including validation ones).
    n_features_in_ : int
    feature_names_in_ : ndarray of shape ``(n_features_in_,)``
        Defined only when ``X`` has string feature names.

    See Also
    --------
    skdec.DECClusterer : The clustering network.
    skdec.ClusterLabelMapper : Cluster -> label mapping, used alone.

    Examples
    --------
    >>> from sklearn.datasets import make_blobs
    >>> from sklearn.preprocessing import minmax_scale
    >>> from skdec import LabelHeadClassifier, MLPAutoencoder
    >>> X, y = make_blobs(150, n_features=5, centers=3, random_state=0)
    >>> X = minmax_scale(X)
    >>> y_volunteers = y.copy()
    >>> y_volunteers[20:] = -1  # only 20 subjects labelled
    >>> clf = LabelHeadClassifier(
    ...     dec_params=dict(autoencoder=MLPAutoencoder((16,), 2, epochs=10, n_init=1),
    ...                     max_iter=30),
    ...     max_epochs=10, random_state=0).fit(X, y_volunteers)
    >>> clf.classes_
    array([0, 1, 2])
    >>> bool(clf.score(X, y) > 0.9), clf.predict_proba(X[:2]).shape
    (True, (2, 3))
    """

    _parameter_constraints: dict = {
        "dec": [DECClusterer, FrozenEstimator, None],
        "mapper": [ClusterLabelMapper, None],
        "dec_params": [dict, None],
        "init": [StrOptions({"mapping", "random"})],
        "smoothing": [Interval(Real, 0, None, closed="left")],
        "sharpness": [Interval(Real, 0, None, closed="neither"), StrOptions({"auto"})],
        "max_epochs": [Interval(Integral, 1, None, closed="left")],
        "lr": [Interval(Real, 0, None, closed="neither")],
        "optimizer": [StrOptions(set(OPTIMIZERS))],
        "momentum": [Interval(Real, 0, 1, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither"), None],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left"), None],
        "tol": [Interval(Real, 0, None, closed="left")],
        "device": [str, torch.device],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        dec=None,
        mapper=None,
        *,
        dec_params=None,
        init="mapping",
        smoothing=1e-3,
        sharpness="auto",
        max_epochs=100,
        lr=1e-3,
        optimizer="adam",
        momentum=0.9,
        batch_size=64,
        validation_fraction=None,
        n_iter_no_change=10,
        tol=1e-4,
        device="cpu",
        random_state=None,
        verbose=0,
    ):
        self.dec = dec
        self.mapper = mapper
        self.dec_params = dec_params
        self.init = init
        self.smoothing = smoothing
        self.sharpness = sharpness
        self.max_epochs = max_epochs
        self.lr = lr
        self.optimizer = optimizer
        self.momentum = momentum
        self.batch_size = batch_size
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.device = device
        self.random_state = random_state
        self.verbose = verbose

    def __getstate__(self):
        # one pickle stream: ``module_`` is ``net_.module_`` after loading too
        return pack_state(super().__getstate__())

    def __setstate__(self, state):
        super().__setstate__(unpack_state(state))

    # ------------------------------------------------------------------ checks
    def _check_labels(self, y):
        labelled = ~unlabelled_mask(y)
        if not labelled.any():
            raise ValueError(
                "y has no labelled sample: every label is -1 (unlabelled). "
                "Label at least one subject of each of 2 classes."
            )
        check_classification_targets(y[labelled])
        classes = np.unique(y[labelled])
        if self.mapper is not None and _is_fitted(self.mapper):
            known = self.mapper.classes_[~unlabelled_mask(self.mapper.classes_)]
            classes = np.unique(np.concatenate([classes, known]))
        if classes.size < 2:
            raise ValueError(
                "LabelHeadClassifier needs labelled samples of at least 2 "
                f"classes; y has 1 class ({classes[0]!r}) besides -1."
            )
        return labelled, classes

    def _split(self, n_labelled, rng):
        """Indices (into the labelled subjects) of the training and validation sets."""
        order = rng.permutation(n_labelled)
        if self.validation_fraction is None:
            return order, None
        n_valid = int(round(self.validation_fraction * n_labelled))
        if n_valid < 1 or n_valid >= n_labelled:
            raise ValueError(
                f"validation_fraction={self.validation_fraction} of "
                f"{n_labelled} labelled samples leaves {n_valid} for validation "
                f"and {n_labelled - n_valid} for training; both need at least "
                "one. Label more subjects or set validation_fraction=None."
            )
        return order[n_valid:], order[:n_valid]

    # --------------------------------------------------------------------- fit
    @interruptible_fit
    def fit(self, X, y):
        """Fit (or take) DEC and the mapper, then fine-tune the label head.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            All subjects, labelled or not; scaled like DEC's training data.
        y : array-like of shape (n_samples,)
            Label of each subject, -1 for unlabelled ones.

        Returns
        -------
        self : LabelHeadClassifier
            Fitted estimator.
        """
        self._validate_params()
        if self.dec is not None and self.dec_params is not None:
            raise ValueError(
                "dec_params is only used when dec is None; set the parameters "
                "on the DECClusterer passed as `dec` instead."
            )
        X, y = validate_data(self, X, y, dtype=np.float32)
        labelled, self.classes_ = self._check_labels(y)
        self.device_ = resolve_device(self.device)
        rng = check_random_state(self.random_state)
        dec_seed = int(rng.randint(np.iinfo(np.int32).max))
        torch_seed = int(rng.randint(np.iinfo(np.int32).max))

        self.dec_ = self._fit_dec(X, dec_seed)
        q = self.dec_.predict_proba(X)
        self.mapper_ = self._fit_mapper(q, y)
        self.initial_mapping_ = self._mapping_matrix(self.mapper_)
        self.sharpness_ = self._resolve_sharpness(q)
        self.n_labelled_ = int(labelled.sum())
        train, valid = self._split(self.n_labelled_, rng)

        X_lab = X[labelled]
        y_lab = np.searchsorted(self.classes_, y[labelled]).astype(np.int64)
        with seeded(torch_seed, self.device_):
            self._fit_net(X_lab, y_lab, train, valid)
        return self

    def _fit_dec(self, X, seed):
        if self.dec is None:
            params = dict(
                n_clusters=self.classes_.size,
                random_state=seed,
                device=self.device,
            )
            params.update(self.dec_params or {})
            return DECClusterer(**params).fit(X)
        if isinstance(self.dec, FrozenEstimator):
            if not isinstance(self.dec.estimator, DECClusterer):
                raise TypeError(
                    "dec=FrozenEstimator(...) must wrap a fitted DECClusterer, got "
                    f"{type(self.dec.estimator).__name__}."
                )
            check_is_fitted(self.dec.estimator)
            return self.dec.estimator
        if _is_fitted(self.dec):
            return self.dec
        dec = clone(self.dec)
        if dec.random_state is None:
            dec.set_params(random_state=seed)
        return dec.fit(X)

    def _fit_mapper(self, q, y):
        if self.mapper is not None and _is_fitted(self.mapper):
            mapper = self.mapper
        else:
            mapper = ClusterLabelMapper() if self.mapper is None else clone(self.mapper)
            mapper.set_params(unknown_label=UNLABELLED)
            if mapper.fallback == "nearest" and mapper.cluster_centers is None:
                mapper.set_params(cluster_centers=self.dec_.cluster_centers_)
            mapper.fit(q, y)
        n_clusters = self.dec_.cluster_centers_.shape[0]
        if mapper.n_clusters_ != n_clusters:
            raise ValueError(
                f"mapper maps {mapper.n_clusters_} clusters but dec has "
                f"{n_clusters}; fit both on the same clustering."
            )
        return mapper

    def _mapping_matrix(self, mapper):
        """The mapper's label distributions, with columns ordered as ``classes_``."""
        proba = np.asarray(mapper.cluster_label_proba_, dtype=np.float64)
        keep = ~unlabelled_mask(mapper.classes_)
        columns = np.searchsorted(self.classes_, mapper.classes_[keep])
        mapping = np.zeros((proba.shape[0], self.classes_.size))
        mapping[:, columns] = proba[:, keep]
        return mapping

    def _resolve_sharpness(self, q):
        if self.sharpness != "auto":
            return float(self.sharpness)
        if self.init == "random":
            return 1.0
        mapper_proba = self.mapper_.predict_proba(q)
        keep = ~unlabelled_mask(self.mapper_.classes_)
        columns = np.searchsorted(self.classes_, self.mapper_.classes_[keep])
        target = columns[np.argmax(mapper_proba[:, keep], axis=1)]
        mapping = self.initial_mapping_ + self.smoothing
        mapping /= mapping.sum(axis=1, keepdims=True)
        log_q = np.log(np.clip(q, np.finfo(np.float64).tiny, None))
        betas = 2.0 ** np.arange(9)
        agreement = np.empty(betas.size)
        for i, beta in enumerate(betas):
            sharpened = np.exp(beta * (log_q - log_q.max(axis=1, keepdims=True)))
            agreement[i] = np.mean(np.argmax(sharpened @ mapping, axis=1) == target)
        enough = agreement >= _AUTO_SHARPNESS_AGREEMENT
        return float(betas[np.argmax(enough)] if enough.any() else betas[-1])

    def _build_module(self):
        source = self.dec_.module_
        label_layer = ClusterLabelLayer(
            torch.as_tensor(self.initial_mapping_, dtype=torch.float32),
            smoothing=self.smoothing,
            sharpness=self.sharpness_,
        )
        module = LabelHeadModule(
            copy.deepcopy(source.encoder),
            copy.deepcopy(source.clustering_layer),
            label_layer,
        )
        if self.init == "random":
            _reinitialise(module)
        return module

    def _fit_net(self, X_lab, y_lab, train, valid):
        monitor = "train_loss" if valid is None else "valid_loss"
        callbacks = []
        if self.n_iter_no_change is not None:
            callbacks.append(
                (
                    "early_stopping",
                    EarlyStopping(
                        monitor=monitor,
                        patience=self.n_iter_no_change,
                        threshold=self.tol,
                        load_best=True,
                        sink=print if self.verbose else _silent,
                    ),
                )
            )
        train_split = None
        if valid is not None:
            train_split = predefined_split(Dataset(X_lab[valid], y_lab[valid]))
        net = LabelHeadNet(
            self._build_module(),
            classes=np.arange(self.classes_.size),
            max_epochs=self.max_epochs,
            lr=self.lr,
            batch_size=self.batch_size,
            train_split=train_split,
            callbacks=callbacks,
            device=self.device_,
            verbose=int(self.verbose),
            **optimizer_kwargs(self.optimizer, self.momentum),
        )
        net.fit(X_lab[train], y_lab[train])
        self.net_ = net
        self.module_ = net.module_
        self.module_.eval()
        keys = ["epoch", "train_loss"]
        if valid is not None:
            keys += ["valid_loss", "valid_acc"]
        self.history_ = [
            {k: (int(row[k]) if k == "epoch" else float(row[k])) for k in keys}
            for row in net.history
        ]
        self.n_epochs_ = len(net.history)
        stopper = dict(net.callbacks_).get("early_stopping")
        self.best_epoch_ = (
            self.n_epochs_ if stopper is None else int(stopper.best_epoch_)
        )
        with torch.no_grad():
            mapping = self.module_.label_layer.mapping()
        self.mapping_ = mapping.cpu().numpy().astype(np.float64)

    # ----------------------------------------------------------------- predict
    def predict_proba(self, X):
        """Class probabilities ``q(x) @ M`` of the fine-tuned network.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Columns ordered as ``classes_``; rows sum to one.
        """
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=np.float32)
        # the net's own prediction (skorch's softmax of its log-probabilities),
        # in fixed-size batches: a row's result does not depend on the others
        log_proba = predict_batched(self.module_, X, device=self.device_)
        proba = torch.softmax(log_proba, dim=1).cpu().numpy().astype(np.float64)
        return proba / proba.sum(axis=1, keepdims=True)

    def predict(self, X):
        """Most probable class of each sample.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
        """
        proba = self.predict_proba(X)
        return self.classes_[np.argmax(proba, axis=1)]
