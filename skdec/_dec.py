"""Deep Embedded Clustering (Xie, Girshick & Farhadi, ICML 2016)."""

from __future__ import annotations

import time
import warnings
from numbers import Integral, Real

import numpy as np
import torch
from joblib import effective_n_jobs
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.validation import check_memory

from ._autoencoders import BaseAutoencoder, MLPAutoencoder, ShiftRotate
from ._base import BaseDeepClusterer
from ._centers import INIT_STRATEGIES, start_partition
from ._shapes import check_image_shape
from ._validation import validate_rows
from .net import (
    ArrayRows,
    DECNet,
    SingleProcess,
    TargetDistributionUpdate,
    epochs_for_iterations,
    interruptible_fit,
    parallelism,
)
from .net._device import AUTOCAST_DTYPES, resolve_device, resolve_precision, seeded
from .net._optim import OPTIMIZERS, optimizer_kwargs
from .nn import ClusteringLayer, DECModule

__all__ = [
    "DECClusterer",
    "DegenerateClusteringWarning",
    "install_clustering",
    "self_train",
]

DEGENERATE_SHARE = 0.8  # largest-cluster share that triggers the warning


class DegenerateClusteringWarning(UserWarning):
    """DEC ended with empty clusters or one cluster holding almost everything."""


def _pretrain(
    autoencoder,
    X,
    data_key,
    image_shape,
    augment,
    seed,
    device,
    precision,
    verbose,
    parallel,
):
    """Step 1, pretraining: a module-level function so that ``memory`` can
    cache it by its arguments (``X``, ``verbose`` and ``parallel`` excepted:
    ``data_key`` stands for the data, see :func:`_data_key`; the cache is
    refused with several processes)."""
    augmenter = augment.build(image_shape) if augment is not None else None
    with seeded(seed, device):
        return autoencoder.pretrain(
            X,
            image_shape=image_shape,
            augmenter=augmenter,
            device=device,
            autocast_dtype=AUTOCAST_DTYPES[precision],
            verbose=verbose,
            parallel=parallel,
        )


def _data_key(X, memory):
    """What the pretraining cache hashes for the data: the array itself in
    memory (joblib hashes its buffer), the fingerprint of rows on disk (read
    chunk by chunk; only when there is a cache)."""
    if not isinstance(X, ArrayRows):
        return X
    cached = getattr(memory, "location", True) is not None
    return X.fingerprint() if cached else None


def self_train(
    model,
    encoder,
    decoder,
    centers,
    X,
    max_iter,
    *,
    start=None,
    end_at_release=False,
    train=True,
    parallel=None,
):
    """Run DEC's self-training with the clustering hyperparameters of ``model``.

    Shared by :meth:`DECClusterer.fit` and the cluster surgery of
    :mod:`skdec._surgery`. The caller seeds torch.

    Parameters
    ----------
    model : DECClusterer
        Supplies ``alpha``, ``gamma``, ``lr``, ``optimizer``, ``momentum``,
        ``batch_size``, ``update_interval``, ``tol``, ``collapse_share``,
        ``verbose`` and the fitted ``device_``, ``precision_`` and
        ``augmenter_``.
    encoder, decoder : torch.nn.Module
        Trained in place; the decoder is used with ``gamma > 0`` only.
    centers : ndarray of shape (n_clusters, n_components)
    X : ndarray of shape (n_samples, n_features), float32, or ArrayRows
        In memory, or rows read batch by batch from disk.
    max_iter : int
        Iterations (mini-batches); 0 records the start (one target update)
        without training.
    start : ndarray of shape (n_samples, n_clusters), default=None
        A start partition's posteriors, held as the first target.
    end_at_release : bool, default=False
        End the self-training when the net reproduces ``start`` (see
        :class:`~skdec.net.TargetDistributionUpdate`).
    train : bool, default=True
        False only builds the net around the modules and ``centers`` (no
        target update, no re-seeding of empty clusters).
    parallel : SingleProcess or DataParallel, default=None
        The strategy of :func:`skdec.net.parallelism`; None trains in this
        process. With :class:`~skdec.net.DataParallel` every process runs
        this call, the returned net is the plain one of a one-process fit.

    Returns
    -------
    net : skdec.net.DECNet
    callback : skdec.net.TargetDistributionUpdate
        Its ``labels_`` are the clusters of ``X`` under the final model
        (unused with ``train=False``).
    """
    layer = ClusteringLayer(
        len(centers),
        centers.shape[1],
        model.alpha,
        torch.as_tensor(centers, dtype=torch.float32),
    )
    module = DECModule(encoder, layer, decoder if model.gamma > 0 else None)
    parallel = SingleProcess(model.device_) if parallel is None else parallel
    callback = TargetDistributionUpdate(
        update_interval=model.update_interval,
        tol=model.tol,
        max_iter=max_iter,
        collapse_share=model.collapse_share,
        initial_target=start,  # the callback makes it a float32 tensor
        end_at_release=end_at_release,
        verbose=int(model.verbose) if parallel.is_main else 0,
    )
    net = parallel.net(
        DECNet,
        module,
        gamma=model.gamma,
        max_epochs=epochs_for_iterations(len(X), model.batch_size, max_iter),
        lr=model.lr,
        batch_size=model.batch_size,
        device=model.device_,
        callbacks=[("target", callback)],
        augmenter=model.augmenter_,
        autocast_dtype=AUTOCAST_DTYPES[model.precision_],
        verbose=0,
        **optimizer_kwargs(model.optimizer, model.momentum),
    )
    if train:
        # with max_iter=0 the callback still records the start (one update)
        net.fit(X, np.arange(X.shape[0]))
    else:
        net.initialize()
    net = parallel.plain(net)
    net.target_ = None  # the target of the training data is not model state
    net.module_.eval()
    return net, callback


def install_clustering(model, net, labels):
    """Make the fitted clustering ``net`` the fitted state of ``model``.

    Sets ``dec_net_``, ``module_`` (``net.module_``), ``n_clusters_``,
    ``cluster_centers_`` and ``labels_``; used by :meth:`DECClusterer.fit`
    and by cluster surgery after :func:`self_train`.

    Parameters
    ----------
    model : DECClusterer
    net : skdec.net.DECNet
        Fitted, its module in evaluation mode.
    labels : ndarray of shape (n_samples,) or None
        Clusters of the training samples under ``net``; None leaves
        ``labels_`` to the caller.
    """
    model.dec_net_ = net
    model.module_ = net.module_
    centers = model.module_.clustering_layer.centers.detach().cpu().numpy()
    model.cluster_centers_ = centers.astype(np.float64)
    model.n_clusters_ = len(centers)
    if labels is not None:
        model.labels_ = np.asarray(labels)


_START_STEPS = {
    "umap": "UMAP projection (20 neighbours) and a Gaussian mixture",
    "kmeans": "k-means",
    "spherical-kmeans": "spherical k-means",
    "gmm": "a Gaussian mixture",
    "random": "random samples as centres",
}


def _start_message(init, Zs):
    """The line ``verbose`` prints as the start partition begins (the UMAP
    start is the slowest step of a fit after the training ones)."""
    n, d = Zs[0].shape
    steps = _START_STEPS[init] if isinstance(init, str) else "the given centres"
    line = f"[DEC] initial partition: {steps} on {n} samples in {d} dimensions"
    if len(Zs) > 1:
        line += f", for each of {len(Zs)} pretraining runs, then their consensus"
    return line + " ..."


class DECClusterer(BaseDeepClusterer):
    """Deep Embedded Clustering (DEC).

    A fit runs four steps. (1) An autoencoder is pretrained to reconstruct
    the data (the ``autoencoder`` component). (2) The data are embedded by
    its encoder. (3) A start partition of the embedding gives the initial
    centres (by default a Gaussian mixture on a UMAP projection, as in N2D,
    whose posteriors are also DEC's first target). (4) The encoder and the
    centres are trained together to minimise ``KL(P || Q)``, where ``Q`` is
    the Student's t soft assignment of the embedded samples to the centres
    and ``P`` the sharpened target distribution, recomputed on the whole data
    set every ``update_interval`` iterations (Xie et al., 2016). With
    ``gamma > 0`` the reconstruction loss is kept during clustering (IDEC,
    Guo et al., 2017). With ``image_shape`` the training batches are
    augmented (DEC-DA, Guo et al., 2018).

    The defaults are the most accurate recipe measured (see the benchmarks
    page, docs/benchmarks.rst); the paper's algorithm is
    ``autoencoder=StackedAutoencoder(), init='kmeans', augment=None,
    collapse_share=None`` (user guide, "The published DEC").

    Parameters
    ----------
    n_clusters : int, default=8
        Number of clusters.
    autoencoder : autoencoder component, default=None
        The network and its pretraining: :class:`~skdec.MLPAutoencoder`
        (None means ``MLPAutoencoder()``, fully connected 500-500-2000-10,
        pretrained end to end), :class:`~skdec.StackedAutoencoder` (the
        paper's layer-wise pretraining), :class:`~skdec.ConvAutoencoder`
        (for image rows) or :class:`~skdec.PretrainedEncoder` (an encoder
        trained elsewhere). Its parameters are searchable as
        ``autoencoder__<name>``. It is cloned, never modified.
    init : {'umap', 'kmeans', 'spherical-kmeans', 'gmm', 'random'} or ndarray, \
            default='umap'
        How the clustering stage starts. 'umap' (N2D's manifold step,
        McConville et al. 2020): a Gaussian mixture (``n_init`` restarts) on a
        UMAP projection of the embedding (as many dimensions as clusters, at
        most the embedding's; 20 neighbours, ``min_dist=0``); the centres
        are its clusters' means and its posterior probabilities are the first
        target distribution, held until the encoder reproduces the partition
        (its clusters need not be convex in the embedding, so the nearest
        centre alone would lose much of it).
        With several pretraining runs (the autoencoder's ``n_init``; 'auto'
        trains three on small data) each run's embedding is partitioned and
        the start is the consensus of these partitions; for 'umap' the
        clustering stage then ends once the trained run reproduces it.
        The others start from centres alone: k-means (the paper's), k-means
        with cosine similarity (centres are the clusters' means), a Gaussian
        mixture, or random samples. An array of shape
        ``(n_clusters, n_components)`` is used as given; its shape is checked
        before pretraining.
    n_init : int, default=20
        Restarts of k-means / spherical k-means / the Gaussian mixture.
    alpha : float, default=1.0
        Degrees of freedom of the Student's t kernel.
    optimizer : {'adam', 'sgd'}, default='sgd'
        Optimiser of the clustering stage (the paper's: SGD with momentum).
    lr : float, default=0.01
        Learning rate of the clustering stage.
    momentum : float, default=0.9
        Momentum of the clustering stage's SGD (unused by Adam).
    update_interval : int, default=140
        Iterations between two updates of the target distribution.
    tol : float, default=1e-3
        Stop when fewer than this fraction of samples change cluster between
        two target updates.
    max_iter : int, default=2000
        Maximum number of clustering iterations (mini-batches).
    collapse_share : float or None, default=0.5
        Collapse recovery: when a cluster keeps fewer than this fraction of
        the members it had after centre initialisation, the clustering stage
        is rolled back to the previous target update, the optimiser is reset
        with half the learning rate, and a
        :class:`~skdec.net.ClusterCollapseWarning` is issued; after 3
        roll-backs a further collapse ends training at the last good state.
        DEC's self-training can otherwise empty a cluster and hand its samples
        to its neighbours. None turns recovery off (the paper's algorithm as
        published).
    gamma : float, default=0.0
        Weight of the reconstruction loss during clustering (IDEC); 0 is DEC.
        The loss is ``KL(P || Q) + gamma * MSE``. IDEC's published setting,
        ``MSE + 0.1 * KL(P || Q)``, is the same objective up to scale as
        ``gamma=10``. Needs a decoder.
    augment : 'auto', augmentation component, True, False or None, \
            default='auto'
        Augmentation of the training batches, in pretraining and clustering,
        as in DEC-DA (Guo et al., 2018); the target distribution is computed
        on the clean data. An object such as :class:`~skdec.ShiftRotate`
        (searchable as ``augment__<name>``); True means ``ShiftRotate()``;
        False or None turns it off; 'auto' is ``ShiftRotate()`` when
        ``image_shape`` is given and the images are at least 20 pixels high
        and wide (its default shift, 5% of that, then moves a pixel or more;
        on sklearn's 8x8 digits it only blurred them and lost accuracy, see
        :ref:`bench_dec`), otherwise no augmentation. Needs ``image_shape``.
    image_shape : tuple of int, default=None
        ``(height, width)`` or ``(channels, height, width)`` of one sample:
        the one switch that says the rows of ``X`` are images (flattened in
        that order). Never guessed from the number of features. The loaders
        of :mod:`skdec.datasets` and the command line pass it.
    batch_size : int, default=256
        Mini-batch size of the clustering stage (the autoencoder component
        has its own).
    precision : {'auto', 'float32', 'bfloat16'}, default='auto'
        Arithmetic of the training steps. 'bfloat16' runs each training
        step's forward pass under :func:`torch.autocast` (matrix products in
        bfloat16; parameters, gradients, optimiser state, losses and the
        soft-assignment distances in float32). Prediction, ``transform`` and
        the target-distribution updates always run in float32. 'auto' is
        'bfloat16' where the device multiplies bfloat16 natively (CPUs with
        AVX-512 BF16 or AMX, CUDA GPUs that support it) and 'float32'
        elsewhere; the choice is stored in ``precision_``.
    device : str, default='cpu'
        Torch device, for example 'cpu' or 'cuda'. With an ``accelerator``,
        each process runs on the accelerator's device, which must be of this
        type ('cuda' gives each process its own GPU).
    accelerator : None, 'auto' or accelerate.Accelerator, default=None
        Data-parallel training over the processes of a launch
        (``accelerate launch``, ``torchrun``; user guide, "Scaling up").
        Every process runs the same script and ``fit`` on the same data;
        each trains, in pretraining and in the clustering stage, on its share
        of every batch (``batch_size`` is the batch of one step over all
        processes), the gradients are averaged, and each target update
        gathers the soft assignment of the whole data set, computed a block
        of rows per process. Every process ends with the same fitted model;
        let the main one write results. 'auto' builds an
        ``accelerate.Accelerator()`` from the launch's settings; an
        Accelerator is used as given (without mixed precision or gradient
        accumulation: ``precision`` and ``batch_size`` set those). One
        process, or None, is a plain fit. Needs ``pip install
        'skdec[accelerate]'``; ``memory`` is refused with several processes.
    memory : str, joblib.Memory or None, default=None
        Caches the pretraining (step 1) by the data, the autoencoder's and
        the augmentation's parameters, ``image_shape``, the seed drawn from
        ``random_state``, ``device`` and ``precision``, as
        :class:`sklearn.pipeline.Pipeline` caches its transformers: a grid
        search over the clustering stage's parameters then pretrains once
        per fold. A str is the cache folder.
    n_jobs : int or None, default=None
        Parallelism of the start for ``init='umap'``. With several
        pretraining runs, the number of processes that compute their UMAP
        projections and mixtures side by side (one per run at most; a seeded
        UMAP runs on one thread). Each worker process imports skdec and
        compiles UMAP's numba code itself, which costs memory and seconds
        that only larger data sets win back (:ref:`bench_dec`). Also the
        threads of the exact nearest-neighbour search UMAP is
        given. None: one process, the search on torch's threads
        (:func:`torch.get_num_threads`); -1: every core. The labels are the
        same for every value.
    random_state : int, RandomState instance or None, default=None
        Seeds torch (initial weights, shuffling, dropout, augmentation),
        UMAP and k-means; the same value gives identical labels, with or
        without ``memory``.
    verbose : int, default=0
        Print pretraining epochs and clustering updates when positive.

    Attributes
    ----------
    cluster_centers_ : ndarray of shape ``(n_clusters_, n_components)``
        Centres in the embedding space.
    n_clusters_ : int
        Number of clusters of the fitted model (``n_clusters``, until cluster
        surgery changes it).
    labels_ : ndarray of shape (n_samples,)
        Cluster of each training sample.
    init_labels_ : ndarray of shape (n_samples,)
        Clusters of the training samples at the start of the clustering
        stage: the start partition for ``init='umap'``, the nearest initial
        centre otherwise (for ``init='kmeans'``: autoencoder + k-means).
    n_iter_ : int
        Clustering iterations run.
    n_features_in_ : int
    feature_names_in_ : ndarray of shape ``(n_features_in_,)``
        Defined only when ``X`` has string feature names.
    history_ : list of dict
        One record per target update: ``iteration``, ``loss`` (mean clustering
        loss since the last update), ``delta_label`` (fraction of samples that
        changed cluster), ``n_reseeded`` (empty clusters re-seeded),
        ``largest_cluster`` (share of the samples in the largest cluster),
        ``smallest_kept`` (lowest share of a cluster's initial members it still
        holds), ``rolled_back`` (a collapse was found and undone; see
        ``collapse_share``), ``lr`` (learning rate from then on) and
        ``start_target`` (the start partition of ``init='umap'`` was still the
        target from then on, not yet recomputed from ``Q``). A
        :class:`DegenerateClusteringWarning` is issued when training ends with
        an empty cluster or with one cluster holding over 80% of the samples.
    converged_ : bool
        Whether the clustering stage stopped because of ``tol``.
    pretrain_history_ : list of skorch.History
        One per pretraining net of the kept run, in training order (layer
        pairs, then fine-tuning, for :class:`~skdec.StackedAutoencoder`);
        ``pretrain_history_[-1][:, 'train_loss']`` is the last net's loss per
        epoch. Empty when nothing was pretrained.
    pretrain_losses_ : list of float
        Reconstruction error (MSE, evaluation mode) of each pretraining run.
    pretrain_run_ : int
        Index of the pretraining run that was self-trained: with several
        runs (``autoencoder__n_init``), the one whose own partition agrees
        best with the consensus start; with given centres (an array
        ``init``), the one with the lowest reconstruction error.
    augmenter_ : torch.nn.Module or None
        The augmentation the training batches went through.
    dec_net_ : skdec.net.DECNet
        The fitted clustering net; ``dec_net_.module_`` is ``module_``.
    module_ : skdec.nn.DECModule
        Encoder, clustering layer and (for IDEC) decoder.
    timings_ : dict
        Wall seconds of 'pretrain', 'init' and 'cluster'.
    precision_ : {'float32', 'bfloat16'}
        Arithmetic the training steps used (``precision`` with 'auto'
        resolved).

    See Also
    --------
    sklearn.cluster.KMeans : Clustering the raw features.
    skdec.cluster.SphericalKMeans : k-means with cosine similarity.

    Notes
    -----
    **Data larger than memory.** ``X`` may be a ``numpy.memmap``, an HDF5
    dataset (h5py), a zarr array, or any object with ``shape``, ``dtype`` and
    ``__getitem__`` on row slices, of dtype uint8 or floating point. Such an
    input, and any uint8 array, is never copied whole: the pretraining and
    clustering batches are read as contiguous blocks (shuffled by blocks of
    about 1 MiB, 32 blocks mixed at a time,
    :class:`~skdec.net.BlockShuffleIterator`), the embedding, the target
    updates and ``predict`` / ``transform`` / ``predict_proba`` / ``score``
    in batches of :data:`~skdec.net.INFERENCE_BATCH_SIZE` rows; each batch is
    converted to float32 on its own. **uint8 rows are pixel values and are
    divided by 255** as each batch is read (an in-memory uint8 array too);
    float rows are used as they are. What is held whole is small: the
    embedding, the soft assignments and the target (``n_samples`` x
    ``n_components`` or ``n_clusters``).

    Such inputs are not passed to sklearn's ``validate_data`` (it would copy
    them). Instead they are checked for two dimensions, a uint8 or floating
    dtype, at least one sample and one feature and, after ``fit``, the number
    of features seen in ``fit`` (sklearn's message); float rows are checked
    for NaN and infinity chunk by chunk (about 8 MiB a chunk), in one pass
    before pretraining in ``fit``, and batch by batch as they are read in the
    other methods; the error names the rows. In-memory float data (arrays,
    lists, DataFrames) are validated by sklearn and converted to one float32
    array, as in any estimator.

    With ``device='cuda'`` the data stay on the host; each batch is copied
    through pinned memory on a side stream, one batch ahead, so that copies
    overlap the computation.

    References
    ----------
    J. Xie, R. Girshick, A. Farhadi. Unsupervised Deep Embedding for Clustering
    Analysis. ICML 2016.

    X. Guo, L. Gao, X. Liu, J. Yin. Improved Deep Embedded Clustering with Local
    Structure Preservation. IJCAI 2017.

    Examples
    --------
    >>> from sklearn.datasets import make_blobs
    >>> from skdec import DECClusterer, MLPAutoencoder
    >>> X, y = make_blobs(200, n_features=5, centers=3, random_state=0)
    >>> ae = MLPAutoencoder(hidden_dims=(32,), n_components=2, epochs=20)
    >>> dec = DECClusterer(3, autoencoder=ae, max_iter=100, random_state=0)
    >>> labels = dec.fit_predict(X)
    >>> dec.cluster_centers_.shape, dec.predict_proba(X[:2]).shape
    ((3, 2), (2, 3))
    """

    _parameter_constraints: dict = {
        **BaseDeepClusterer._parameter_constraints,
        "autoencoder": [BaseAutoencoder, None],
        "init": [StrOptions(set(INIT_STRATEGIES)), "array-like"],
        "n_init": [Interval(Integral, 1, None, closed="left")],
        "alpha": [Interval(Real, 0, None, closed="neither")],
        "optimizer": [StrOptions(set(OPTIMIZERS))],
        "lr": [Interval(Real, 0, None, closed="neither")],
        "momentum": [Interval(Real, 0, 1, closed="left")],
        "update_interval": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, 1, closed="both")],
        "max_iter": [Interval(Integral, 0, None, closed="left")],
        "collapse_share": [Interval(Real, 0, 1, closed="right"), None],
        "gamma": [Interval(Real, 0, None, closed="left")],
        "augment": [StrOptions({"auto"}), "boolean", HasMethods(["build"]), None],
        "image_shape": ["array-like", None],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "precision": [StrOptions({"auto", "float32", "bfloat16"})],
        "device": [str, torch.device],
        "accelerator": [
            None,
            StrOptions({"auto"}),
            HasMethods(["prepare", "gather", "unwrap_model"]),
        ],
        "memory": [None, str, HasMethods(["cache"])],
        "n_jobs": [Integral, None],
    }

    def __init__(
        self,
        n_clusters=8,
        *,
        autoencoder=None,
        init="umap",
        n_init=20,
        alpha=1.0,
        optimizer="sgd",
        lr=0.01,
        momentum=0.9,
        update_interval=140,
        tol=1e-3,
        max_iter=2000,
        collapse_share=0.5,
        gamma=0.0,
        augment="auto",
        image_shape=None,
        batch_size=256,
        precision="auto",
        device="cpu",
        accelerator=None,
        memory=None,
        n_jobs=None,
        random_state=None,
        verbose=0,
    ):
        self.n_clusters = n_clusters
        self.autoencoder = autoencoder
        self.init = init
        self.n_init = n_init
        self.alpha = alpha
        self.optimizer = optimizer
        self.lr = lr
        self.momentum = momentum
        self.update_interval = update_interval
        self.tol = tol
        self.max_iter = max_iter
        self.collapse_share = collapse_share
        self.gamma = gamma
        self.augment = augment
        self.image_shape = image_shape
        self.batch_size = batch_size
        self.precision = precision
        self.device = device
        self.accelerator = accelerator
        self.memory = memory
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.verbose = verbose

    # ------------------------------------------------------------------ checks
    def _augment(self, image_shape):
        """The augmentation component, or None."""
        augment = self.augment
        if isinstance(augment, str):  # 'auto'
            # images that ShiftRotate's default shift moves by a pixel or more
            # (20 pixels a side); on smaller ones (sklearn's 8x8 digits) a
            # shift below a pixel only blurs them
            augment = (
                image_shape is not None
                and ShiftRotate().max_shift * min(image_shape[-2:]) >= 1
            )
        if augment is None or augment is False:
            return None
        if image_shape is None:
            raise ValueError(
                "augment needs image_shape, the (height, width) or "
                "(channels, height, width) of one sample."
            )
        return ShiftRotate() if augment is True else augment

    def _start_jobs(self):
        """Processes of the start and threads of its neighbour search."""
        if self.n_jobs is None:
            return 1, torch.get_num_threads()
        n_jobs = effective_n_jobs(self.n_jobs)
        return n_jobs, n_jobs

    def _check_params_vs_input(self, X, autoencoder, image_shape):
        """Every check that can fail before pretraining."""
        n_samples, n_features = X.shape
        if self.n_jobs == 0:
            raise ValueError("n_jobs=0 has no meaning; pass None, -1 or an int > 0.")
        if n_samples < self.n_clusters:
            raise ValueError(
                f"n_samples={n_samples} should be >= n_clusters={self.n_clusters}."
            )
        if isinstance(self.init, str) and self.init == "umap" and n_samples < 3:
            raise ValueError(
                f"init='umap' needs at least 3 samples for UMAP's neighbour graph; "
                f"got n_samples={n_samples}. Use init='kmeans' for so few."
            )
        autoencoder.validate(n_features, image_shape)
        if self.gamma > 0 and getattr(autoencoder, "decoder", True) is None:
            raise ValueError("gamma > 0 (IDEC) needs a decoder.")
        if isinstance(self.init, str):
            return self.init
        init = np.asarray(self.init, dtype=np.float64)
        expected = (self.n_clusters, autoencoder.embedding_width(n_features))
        if init.shape != expected:
            raise ValueError(
                f"init array has shape {init.shape}, expected {expected} "
                "(n_clusters, n_components)."
            )
        if not np.isfinite(init).all():
            raise ValueError("init array contains NaN or infinity.")
        return init

    # --------------------------------------------------------------------- fit
    @interruptible_fit
    def fit(self, X, y=None):
        """Pretrain the autoencoder, start a partition and run DEC.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data; scaling the features to [0, 1] is recommended.
            A memmap, an HDF5 or zarr dataset or a uint8 array is read batch
            by batch, uint8 divided by 255 (see Notes).
        y : Ignored

        Returns
        -------
        self : DECClusterer
            Fitted estimator.
        """
        self._validate_params()
        X = validate_rows(self, X, reset=True)
        image_shape = check_image_shape(self.image_shape, X.shape[1])
        autoencoder = MLPAutoencoder() if self.autoencoder is None else self.autoencoder
        augment = self._augment(image_shape)
        init = self._check_params_vs_input(X, autoencoder, image_shape)
        parallel = parallelism(self.accelerator, resolve_device(self.device))
        if self.memory is not None and parallel.n_processes > 1:
            raise ValueError(
                "memory cannot cache the pretraining of several processes (a "
                "cache found by some of them only would leave the others "
                "waiting); pass memory=None with an accelerator."
            )
        device = parallel.device
        precision = resolve_precision(self.precision, device)
        rng = check_random_state(self.random_state)
        pretrain_seed, cluster_seed = rng.randint(np.iinfo(np.int32).max, size=2)
        verbose = int(self.verbose) if parallel.is_main else 0
        timings = {}

        # 1. pretrain the autoencoder (cached by `memory`)
        t0 = time.perf_counter()
        memory = check_memory(self.memory)
        pretrain = memory.cache(_pretrain, ignore=["X", "verbose", "parallel"])
        pretrained = pretrain(
            autoencoder,
            X,
            _data_key(X, memory),
            image_shape,
            augment,
            int(pretrain_seed),
            device,
            precision,
            verbose,
            parallel,
        )
        timings["pretrain"] = time.perf_counter() - t0

        # 2. embed, 3. start a partition: the consensus of several runs'
        t0 = time.perf_counter()
        # given centres live in one embedding: the run of the lowest error
        candidates = list(range(len(pretrained.runs)))
        if not isinstance(init, str):
            candidates = [pretrained.best_run]
        runs = [pretrained.runs[i] for i in candidates]
        Zs = [parallel.embed(encoder, X).cpu().numpy() for encoder, _, _ in runs]
        if not all(np.isfinite(Z).all() for Z in Zs):
            raise ValueError(
                "The encoder produced non-finite embeddings; check the input "
                "scaling or lower the autoencoder's `lr`."
            )
        if verbose:
            print(_start_message(init, Zs), flush=True)
        # the main process's partition in every process
        run, centers, init_labels, start = parallel.on_main(
            start_partition,
            Zs,
            self.n_clusters,
            init,
            self.n_init,
            rng,
            *self._start_jobs(),
        )
        encoder, decoder, pretrain_history = runs[run]
        timings["init"] = time.perf_counter() - t0
        if verbose:
            how = self.init if isinstance(self.init, str) else "array"
            print(
                f"[DEC] initial centres by {how} in {timings['init']:.1f}s", flush=True
            )

        # 4. self-training
        t0 = time.perf_counter()
        self.device_, self.precision_ = device, precision
        self.augmenter_ = augment.build(image_shape) if augment is not None else None
        with seeded(cluster_seed, device):
            net, callback = self_train(
                self,
                encoder,
                decoder,
                centers,
                X,
                self.max_iter,
                start=start,
                # a consensus is no single encoder's partition: self-training
                # on from it drifted back to the encoder's own
                end_at_release=len(runs) > 1,
                parallel=parallel,
            )
        timings["cluster"] = time.perf_counter() - t0

        self.pretrain_history_ = pretrain_history
        self.pretrain_losses_ = pretrained.reconstruction_errors
        self.pretrain_run_ = candidates[run]
        self.init_labels_ = init_labels
        self.history_ = callback.updates_
        self.converged_ = callback.converged_
        self.n_iter_ = callback.iteration_
        self.timings_ = timings
        # the callback's last update saw the final model: no extra pass over X
        install_clustering(self, net, callback.labels_.cpu().numpy())
        self._warn_if_degenerate()
        if verbose:
            print(
                f"[DEC] done: {self.n_iter_} iterations, converged={self.converged_}, "
                f"{sum(timings.values()):.1f}s",
                flush=True,
            )
        return self

    def _warn_if_degenerate(self):
        counts = np.bincount(self.labels_, minlength=self.n_clusters_)
        share = counts.max() / counts.sum()
        n_empty = int((counts == 0).sum())
        if self.n_clusters_ > 1 and (n_empty or share > DEGENERATE_SHARE):
            warnings.warn(
                f"Degenerate clustering: {n_empty} empty cluster(s), the largest "
                f"cluster holds {share:.0%} of the samples. Try a smaller `lr`, "
                "`gamma` > 0 (IDEC), another `init`, or fewer clusters.",
                DegenerateClusteringWarning,
                stacklevel=3,
            )
