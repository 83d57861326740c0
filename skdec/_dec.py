"""Deep Embedded Clustering (Xie, Girshick & Farhadi, ICML 2016)."""

from __future__ import annotations

import copy
import math
import time
import warnings
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import validate_data

from ._base import BaseDeepClusterer
from ._centers import INIT_STRATEGIES, initial_clustering
from ._pretrain import (
    OPTIMIZERS,
    optimizer_kwargs,
    pretrain_layerwise,
    train_autoencoder,
)
from .net import (
    DECNet,
    TargetDistributionUpdate,
    embed,
    epochs_for_iterations,
    inference_batches,
    interruptible_fit,
)
from .nn import (
    ClusteringLayer,
    DECModule,
    EncoderDecoder,
    MLPAutoencoder,
    RandomShiftRotate,
)
from .nn._autoencoder import _ACTIVATIONS


def _resolve_device(device):
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise ValueError(f"Invalid device {device!r}: {exc}") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(
            f"device={device!r} was requested but CUDA is not available; "
            "use device='cpu'."
        )
    return dev


# precision -> dtype of the training steps' autocast (None: plain float32)
AUTOCAST_DTYPES = {"float32": None, "bfloat16": torch.bfloat16}


def _cpu_has_native_bfloat16():
    """Whether this CPU has bfloat16 dot-product instructions (AVX-512 BF16 or
    AMX); elsewhere oneDNN emulates bfloat16, slower than float32."""
    get_capabilities = getattr(torch.cpu, "get_capabilities", None)
    if get_capabilities is not None:
        caps = get_capabilities()
        return bool(caps.get("avx512_bf16") or caps.get("amx_bf16"))
    # older torch (the range starts at 2.4): its private probes, else float32
    probes = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
    return any(getattr(torch.cpu, name, lambda: False)() for name in probes)


def _resolve_precision(precision, device):
    """'auto' is 'bfloat16' where the device multiplies bfloat16 natively."""
    if precision != "auto":
        return precision
    if device.type == "cuda":
        try:  # emulated bfloat16 (GPUs before Ampere) is slower than float32
            native = torch.cuda.is_bf16_supported(including_emulation=False)
        except TypeError:  # a torch without the argument
            native = torch.cuda.is_bf16_supported()
    else:
        native = _cpu_has_native_bfloat16()
    return "bfloat16" if native else "float32"


DEGENERATE_SHARE = 0.8  # largest-cluster share that triggers the warning
# pretrain_epochs='auto': 100 epochs, at most 1.75 million samples presented
AUTO_EPOCHS = 100
AUTO_SAMPLES = 1_750_000


class DegenerateClusteringWarning(UserWarning):
    """DEC ended with empty clusters or one cluster holding almost everything."""


def _reconstruction_error(autoencoder, X, device):
    """Mean squared reconstruction error of ``X`` in evaluation mode."""
    total = 0.0
    for xb, (_, x_hat) in inference_batches(autoencoder, X, device=device):
        total += torch.nn.functional.mse_loss(x_hat, xb, reduction="sum").item()
    return total / X.size


class DECClusterer(BaseDeepClusterer):
    """Deep Embedded Clustering (DEC).

    An autoencoder is pretrained to reconstruct the data; a start partition
    of its embedding gives the initial centres (by default a Gaussian mixture
    on a UMAP projection of the embedding, as in N2D, whose partition is also
    DEC's first target); then the encoder and the centres are trained together
    to minimise ``KL(P || Q)``, where ``Q`` is the Student's t soft assignment
    of the embedded samples to the centres and ``P`` the sharpened target
    distribution, recomputed on the whole data set every ``update_interval``
    iterations (Xie et al., 2016). With ``gamma > 0`` the reconstruction loss
    is kept during clustering (IDEC, Guo et al., 2017). With ``image_shape``
    the training batches are augmented (DEC-DA, Guo et al., 2018).

    The defaults are the most accurate recipe measured (docs/benchmarks.rst);
    the paper's algorithm is ``init='kmeans', augment=False,
    collapse_share=None`` with ``pretrain='layerwise'`` for its pretraining
    (see the user guide, "The published DEC").

    Parameters
    ----------
    n_clusters : int, default=8
        Number of clusters.
    hidden_dims : tuple of int, default=(500, 500, 2000)
        Hidden widths of the encoder (the decoder mirrors them).
    n_components : int, default=10
        Dimension of the embedding.
    activation : str, default='relu'
        Hidden-layer non-linearity: 'relu', 'leaky_relu', 'elu', 'gelu', 'tanh'
        or 'sigmoid'.
    encoder : torch.nn.Module, default=None
        A user-supplied encoder (for instance trained elsewhere) replacing the
        autoencoder's. It is copied, never modified. Its output width defines
        ``n_components``.
    decoder : torch.nn.Module, default=None
        Decoder matching ``encoder``; needed to pretrain a user encoder or to
        use ``gamma > 0`` with one.
    pretrain : {'end-to-end', 'layerwise'} or False, default='end-to-end'
        'end-to-end' trains the whole autoencoder on the reconstruction loss;
        'layerwise' trains each layer pair as a denoising autoencoder, then
        fine-tunes end-to-end (the paper's procedure); False uses the encoder
        as it is (transfer learning).
    pretrain_epochs : int or 'auto', default='auto'
        Epochs of end-to-end pretraining (of fine-tuning with 'layerwise').
        'auto' trains for 100 epochs, or for as many as present 1.75 million
        samples when that is fewer (25 epochs for 70,000 samples), so that
        pretraining on large data sets stays within minutes on a CPU: on
        Fashion-MNIST 50 epochs were more accurate than 100, and 25 as
        accurate as 50 in half the time (docs/benchmarks.rst).
    n_pretrain : int, default=1
        Number of autoencoders pretrained from different initial weights; the
        one with the lowest reconstruction error on ``X`` is kept, at a
        proportional cost. On digits this did not pick better clusterings: over
        12 seeds, autoencoder + k-means accuracy rose *with* the reconstruction
        error (Spearman 0.47), and ``n_pretrain=3`` scored 0.802 against 0.832
        for one run (docs/benchmarks.rst).
    layerwise_epochs : int, default=50
        Epochs per layer pair with ``pretrain='layerwise'``.
    corruption : float, default=0.2
        Dropout rate of the denoising layer pairs with ``pretrain='layerwise'``.
    pretrain_corruption : float, default=0.0
        Dropout rate on the input during end-to-end pretraining (a denoising
        autoencoder); 0 trains a plain autoencoder.
    pretrain_optimizer : {'adam', 'sgd'}, default='adam'
    pretrain_lr : float, default=1e-3
    pretrain_batch_size : int, default=None
        Mini-batch size of pretraining; None uses ``batch_size``. Larger
        batches use the CPU's matrix units better but take fewer steps: on
        Fashion-MNIST 512 pretrained in 13% less time than 256 (61-65% of
        the bfloat16 matmul roofline instead of 54-55%) and scored 0.560 against
        0.568 ACC over six seeds, equal within the spread (docs/benchmarks.rst).
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
        The others start from centres alone: k-means (the paper's), k-means
        with cosine similarity (centres are the clusters' means), a Gaussian
        mixture, or random samples. An array of shape
        ``(n_clusters, n_components)`` is used as given.
    n_init : int, default=20
        Restarts of k-means / spherical k-means / the Gaussian mixture.
    alpha : float, default=1.0
        Degrees of freedom of the Student's t kernel.
    optimizer : {'adam', 'sgd'}, default='sgd'
        Optimiser of the clustering stage. The default is the paper's: SGD with
        ``momentum`` 0.9 and ``lr=0.01``, about 0.01 more accurate on digits
        than Adam with ``lr=1e-4`` from the same pretrained encoders, on each
        of 10 seeds (docs/benchmarks.rst).
    lr : float, default=0.01
        Learning rate of the clustering stage.
    momentum : float, default=0.9
        Momentum of SGD (both stages).
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
        ``gamma=10``.
    augment : bool or 'auto', default='auto'
        Randomly shift (up to 10% of the image size) and rotate (up to 10
        degrees) each training batch, in pretraining and clustering, as in
        DEC-DA (Guo et al., 2018). The target distribution is computed on the
        clean data. Needs ``image_shape``; 'auto' augments exactly when
        ``image_shape`` is given.
    image_shape : tuple of int, default=None
        ``(height, width)`` or ``(channels, height, width)`` of one sample:
        the one switch that says the rows of ``X`` are images (flattened in
        that order). Never guessed from the number of features. The loaders
        of :mod:`skdec.datasets` and the command line pass it.
    batch_size : int, default=256
    precision : {'auto', 'float32', 'bfloat16'}, default='auto'
        Arithmetic of the training steps. 'bfloat16' runs each training
        step's forward pass under :func:`torch.autocast` (matrix products in
        bfloat16; parameters, gradients, optimiser state, losses and the
        soft-assignment distances in float32). Prediction, ``transform`` and
        the target-distribution updates always run in float32. 'auto' is
        'bfloat16' where the device multiplies bfloat16 natively (CPUs with
        AVX-512 BF16 or AMX, CUDA GPUs that support it) and 'float32'
        elsewhere; the choice is stored in ``precision_``. On a 2-core
        AVX-512 BF16 CPU, bfloat16 fits digits and Fashion-MNIST in about
        0.6 of the float32 time, equally accurate within the seed-to-seed
        spread (docs/benchmarks.rst).
    device : str, default='cpu'
        Torch device, for example 'cpu' or 'cuda'.
    random_state : int, RandomState instance or None, default=None
        Seeds k-means and torch (initial weights, shuffling, dropout); the same
        value gives identical labels.
    verbose : int, default=0
        Print pretraining epochs and clustering updates when positive.

    Attributes
    ----------
    cluster_centers_ : ndarray of shape (n_clusters, n_components)
        Centres in the embedding space.
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
    pretrain_nets_ : list of skdec.net.AutoencoderNet
        Fitted pretraining nets of the kept run (empty with ``pretrain=False``).
    pretrain_losses_ : list of float
        Reconstruction error (MSE, evaluation mode) of each pretraining run.
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

    References
    ----------
    J. Xie, R. Girshick, A. Farhadi. Unsupervised Deep Embedding for Clustering
    Analysis. ICML 2016.

    X. Guo, L. Gao, X. Liu, J. Yin. Improved Deep Embedded Clustering with Local
    Structure Preservation. IJCAI 2017.

    Examples
    --------
    >>> from sklearn.datasets import make_blobs
    >>> from skdec import DECClusterer
    >>> X, y = make_blobs(200, n_features=5, centers=3, random_state=0)
    >>> dec = DECClusterer(3, hidden_dims=(32,), n_components=2, pretrain_epochs=20,
    ...                    max_iter=100, random_state=0)
    >>> labels = dec.fit_predict(X)
    >>> dec.cluster_centers_.shape, dec.predict_proba(X[:2]).shape
    ((3, 2), (2, 3))
    """

    _parameter_constraints: dict = {
        **BaseDeepClusterer._parameter_constraints,
        "hidden_dims": ["array-like"],
        "n_components": [Interval(Integral, 1, None, closed="left")],
        "activation": [StrOptions(set(_ACTIVATIONS))],
        "encoder": [torch.nn.Module, None],
        "decoder": [torch.nn.Module, None],
        "pretrain": [StrOptions({"end-to-end", "layerwise"}), "boolean"],
        "pretrain_epochs": [
            Interval(Integral, 0, None, closed="left"),
            StrOptions({"auto"}),
        ],
        "n_pretrain": [Interval(Integral, 1, None, closed="left")],
        "layerwise_epochs": [Interval(Integral, 0, None, closed="left")],
        "corruption": [Interval(Real, 0, 1, closed="left")],
        "pretrain_corruption": [Interval(Real, 0, 1, closed="left")],
        "pretrain_optimizer": [StrOptions(set(OPTIMIZERS))],
        "pretrain_lr": [Interval(Real, 0, None, closed="neither")],
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
        "augment": ["boolean", StrOptions({"auto"})],
        "image_shape": ["array-like", None],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "pretrain_batch_size": [Interval(Integral, 1, None, closed="left"), None],
        "precision": [StrOptions({"auto", "float32", "bfloat16"})],
        "device": [str, torch.device],
    }

    def __init__(
        self,
        n_clusters=8,
        *,
        hidden_dims=(500, 500, 2000),
        n_components=10,
        activation="relu",
        encoder=None,
        decoder=None,
        pretrain="end-to-end",
        pretrain_epochs="auto",
        n_pretrain=1,
        layerwise_epochs=50,
        corruption=0.2,
        pretrain_corruption=0.0,
        pretrain_optimizer="adam",
        pretrain_lr=1e-3,
        pretrain_batch_size=None,
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
        random_state=None,
        verbose=0,
    ):
        self.n_clusters = n_clusters
        self.hidden_dims = hidden_dims
        self.n_components = n_components
        self.activation = activation
        self.encoder = encoder
        self.decoder = decoder
        self.pretrain = pretrain
        self.pretrain_epochs = pretrain_epochs
        self.n_pretrain = n_pretrain
        self.layerwise_epochs = layerwise_epochs
        self.corruption = corruption
        self.pretrain_corruption = pretrain_corruption
        self.pretrain_optimizer = pretrain_optimizer
        self.pretrain_lr = pretrain_lr
        self.pretrain_batch_size = pretrain_batch_size
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
        self.random_state = random_state
        self.verbose = verbose

    # ------------------------------------------------------------------ checks
    def _check_params_vs_input(self, X):
        n_samples = X.shape[0]
        if n_samples < self.n_clusters:
            raise ValueError(
                f"n_samples={n_samples} should be >= n_clusters={self.n_clusters}."
            )
        if isinstance(self.init, str) and self.init == "umap" and n_samples < 3:
            raise ValueError(
                f"init='umap' needs at least 3 samples for UMAP's neighbour graph; "
                f"got n_samples={n_samples}. Use init='kmeans' for so few."
            )
        if self.pretrain is True:
            raise ValueError(
                "pretrain=True is ambiguous; use 'end-to-end', 'layerwise' or False."
            )
        if self.encoder is not None:
            if self.pretrain == "layerwise":
                raise ValueError(
                    "pretrain='layerwise' builds its own layers and cannot be used "
                    "with a user-supplied encoder; use 'end-to-end' or False."
                )
            if self.pretrain and self.decoder is None:
                raise ValueError(
                    "Pretraining a user-supplied encoder needs a matching `decoder`; "
                    "pass one, or set pretrain=False to use the encoder as it is."
                )
            if self.gamma > 0 and self.decoder is None:
                raise ValueError("gamma > 0 (IDEC) needs a `decoder`.")
        else:
            dims = np.asarray(self.hidden_dims)
            if (
                dims.ndim != 1
                or not np.issubdtype(dims.dtype, np.integer)
                or (dims <= 0).any()
            ):
                raise ValueError(
                    "hidden_dims must be a sequence of positive integers, got "
                    f"{self.hidden_dims!r}."
                )

    def _image_shape(self, n_features):
        """``image_shape`` as a tuple checked against ``n_features``, or None."""
        if self.image_shape is None:
            return None
        shape = tuple(int(s) for s in np.ravel(self.image_shape))
        if len(shape) not in (2, 3) or min(shape) < 1:
            raise ValueError(
                "image_shape must be (height, width) or (channels, height, width) "
                f"of positive ints, got {self.image_shape!r}."
            )
        if int(np.prod(shape)) != n_features:
            raise ValueError(
                f"image_shape {shape} holds {int(np.prod(shape))} values but X has "
                f"{n_features} features."
            )
        return shape

    def _build_augmenter(self, n_features):
        shape = self._image_shape(n_features)
        augment = shape is not None if self.augment == "auto" else self.augment
        if not augment:
            return None
        if shape is None:
            raise ValueError(
                "augment=True needs image_shape, the (height, width) or "
                "(channels, height, width) of one sample."
            )
        size = min(shape[-2:])
        return RandomShiftRotate(shape, max_shift=0.1 * size, max_rotation=10.0)

    def _build_autoencoder(self, n_features):
        if self.encoder is not None:
            enc = copy.deepcopy(self.encoder)
            dec = copy.deepcopy(self.decoder) if self.decoder is not None else None
            return enc, dec
        ae = MLPAutoencoder(
            n_features,
            tuple(int(d) for d in self.hidden_dims),
            self.n_components,
            self.activation,
        )
        return ae.encoder, ae.decoder

    # --------------------------------------------------------------------- fit
    @interruptible_fit
    def fit(self, X, y=None):
        """Pretrain the autoencoder, initialise the centres and run DEC.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data; scaling the features to [0, 1] is recommended.
        y : Ignored

        Returns
        -------
        self : DECClusterer
            Fitted estimator.

        Raises
        ------
        KeyboardInterrupt
            On Ctrl-C, in any stage (skorch would end only the current
            stage's training); the estimator's attributes are then those it
            had before this call.
        """
        self._validate_params()
        X = validate_data(self, X, dtype=np.float32)
        self._check_params_vs_input(X)
        self.device_ = _resolve_device(self.device)
        self.precision_ = _resolve_precision(self.precision, self.device_)
        self._augmenter = self._build_augmenter(X.shape[1])
        rng = check_random_state(self.random_state)
        seed = int(rng.randint(np.iinfo(np.int32).max))
        devices = [self.device_] if self.device_.type == "cuda" else []
        with torch.random.fork_rng(devices=devices):
            torch.manual_seed(seed)
            self._fit(X, rng)
        return self

    def _fit(self, X, rng):
        verbose = int(self.verbose)
        timings = {}
        t0 = time.perf_counter()
        self.pretrain_nets_, self.pretrain_losses_ = [], []
        best = None
        for _ in range(self.n_pretrain if self.pretrain else 1):
            encoder, decoder = self._build_autoencoder(X.shape[1])
            nets = self._pretrain(encoder, decoder, X, verbose)
            if not nets:
                break
            trained = nets[-1].module_
            loss = _reconstruction_error(trained, X, self.device_)
            self.pretrain_losses_.append(loss)
            if best is None or loss < best:
                best, self.pretrain_nets_ = loss, nets
        if self.pretrain_nets_:
            trained = self.pretrain_nets_[-1].module_
            encoder, decoder = trained.encoder, trained.decoder
        timings["pretrain"] = time.perf_counter() - t0

        t0 = time.perf_counter()
        Z = embed(encoder, X, device=self.device_).cpu().numpy()
        if not np.isfinite(Z).all():
            raise ValueError(
                "The encoder produced non-finite embeddings; check the input "
                "scaling or lower `pretrain_lr`."
            )
        init = self.init
        if not isinstance(init, str):
            init = np.asarray(init, dtype=np.float64)
            expected = (self.n_clusters, Z.shape[1])
            if init.shape != expected:
                raise ValueError(
                    f"init array has shape {init.shape}, expected {expected} "
                    "(n_clusters, n_components)."
                )
            if not np.isfinite(init).all():
                raise ValueError("init array contains NaN or infinity.")
        centers, self.init_labels_, start_target = initial_clustering(
            Z, self.n_clusters, init, self.n_init, rng
        )
        timings["init"] = time.perf_counter() - t0
        if verbose:
            how = self.init if isinstance(self.init, str) else "array"
            print(
                f"[DEC] initial centres by {how} in {timings['init']:.1f}s", flush=True
            )

        t0 = time.perf_counter()
        layer = ClusteringLayer(
            self.n_clusters,
            Z.shape[1],
            self.alpha,
            torch.as_tensor(centers, dtype=torch.float32),
        )
        module = DECModule(encoder, layer, decoder if self.gamma > 0 else None)
        net, callback = self._dec_net(
            module, len(X), self.max_iter, self._augmenter, start_target
        )
        net.fit(X, np.arange(X.shape[0]))
        timings["cluster"] = time.perf_counter() - t0

        self.dec_net_ = net
        self.module_ = net.module_
        self.module_.eval()
        net.target_ = None  # the target of the training data is not model state
        self.history_ = callback.updates_
        self.converged_ = callback.converged_
        self.n_iter_ = callback.iteration_
        self.cluster_centers_ = (
            self.module_.clustering_layer.centers.detach()
            .cpu()
            .numpy()
            .astype(np.float64)
        )
        self.timings_ = timings
        # the callback's last update saw the final model: no extra pass over X
        self.labels_ = callback.labels_.cpu().numpy()
        self._warn_if_degenerate()
        if verbose:
            print(
                f"[DEC] done: {self.n_iter_} iterations, converged={self.converged_}, "
                f"{sum(timings.values()):.1f}s",
                flush=True,
            )

    def _dec_net(self, module, n_samples, max_iter, augmenter=None, start=None):
        """A DECNet and its target-update callback, set by this model's
        clustering hyperparameters (shared by ``fit`` and cluster surgery);
        ``start`` is a start partition's posteriors, held as the first target."""
        callback = TargetDistributionUpdate(
            update_interval=self.update_interval,
            tol=self.tol,
            max_iter=max_iter,
            collapse_share=self.collapse_share,
            initial_target=start,  # the callback makes it a float32 tensor
            verbose=int(self.verbose),
        )
        net = DECNet(
            module,
            gamma=self.gamma,
            max_epochs=epochs_for_iterations(n_samples, self.batch_size, max_iter),
            lr=self.lr,
            batch_size=self.batch_size,
            device=self.device_,
            callbacks=[("target", callback)],
            augmenter=augmenter,
            autocast_dtype=AUTOCAST_DTYPES[self.precision_],
            verbose=0,
            **optimizer_kwargs(self.optimizer, self.momentum),
        )
        return net, callback

    def _warn_if_degenerate(self):
        counts = np.bincount(self.labels_, minlength=self.n_clusters)
        share = counts.max() / counts.sum()
        n_empty = int((counts == 0).sum())
        if self.n_clusters > 1 and (n_empty or share > DEGENERATE_SHARE):
            warnings.warn(
                f"Degenerate clustering: {n_empty} empty cluster(s), the largest "
                f"cluster holds {share:.0%} of the samples. Try a smaller `lr`, "
                "`gamma` > 0 (IDEC), another `init`, or fewer clusters.",
                DegenerateClusteringWarning,
                stacklevel=3,
            )

    def _pretrain(self, encoder, decoder, X, verbose):
        if not self.pretrain:
            return []
        common = dict(
            lr=self.pretrain_lr,
            batch_size=self.pretrain_batch_size or self.batch_size,
            optimizer=self.pretrain_optimizer,
            momentum=self.momentum,
            device=self.device_,
            verbose=verbose,
            augmenter=self._augmenter,
            autocast_dtype=AUTOCAST_DTYPES[self.precision_],
        )
        epochs = self._pretrain_epochs(len(X))
        if self.pretrain == "layerwise":
            dims = [X.shape[1], *map(int, self.hidden_dims), self.n_components]
            _, nets = pretrain_layerwise(
                dims,
                X,
                activation=self.activation,
                corruption=self.corruption,
                epochs=self.layerwise_epochs,
                finetune_epochs=epochs,
                **common,
            )
            return nets
        module = EncoderDecoder(encoder, decoder, self.pretrain_corruption)
        return [train_autoencoder(module, X, epochs=epochs, **common)]

    def _pretrain_epochs(self, n_samples):
        if self.pretrain_epochs != "auto":
            return int(self.pretrain_epochs)
        return min(AUTO_EPOCHS, math.ceil(AUTO_SAMPLES / n_samples))
