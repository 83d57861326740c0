"""Convolution filters from k-means on image patches (ClusterCNN-style init).

A convolution filter is an anchor vector in patch space: the centroids of
clustered image patches make good filters. :class:`KMeansFilterInitializer`
learns such filters; :func:`copy_filters_to_conv` puts them into a
``torch.nn.Conv2d`` and :func:`init_conv_stack` initialises a stack of
convolutions layer by layer.
"""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context, clone
from sklearn.cluster import KMeans, MiniBatchKMeans
from sklearn.ensemble import IsolationForest
from sklearn.metrics import silhouette_score
from sklearn.utils import check_array, check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

from ._centers import nearest_center
from ._shapes import rows_image_shape
from .cluster import SphericalKMeans

__all__ = ["KMeansFilterInitializer", "copy_filters_to_conv", "init_conv_stack"]

# Reading of the silhouette score used by the ClusterCNN study (after
# Kaufman & Rousseeuw): lower bound of each band, best first.
_SILHOUETTE_BANDS = (
    (0.71, "strong"),
    (0.51, "reasonable"),
    (0.26, "weak"),
)
_INT32_MAX = np.iinfo(np.int32).max


def _silhouette_reading(score):
    """Verbal reading of a silhouette score (``'none'`` below 0.26 or NaN)."""
    for lower, reading in _SILHOUETTE_BANDS:
        if score >= lower:
            return reading
    return "none"


def _pair(value, name):
    """An int or a pair of ints as a tuple ``(rows, cols)``."""
    if isinstance(value, Integral):
        return (int(value), int(value))
    pair = tuple(value)
    if len(pair) != 2 or not all(isinstance(v, Integral) and v >= 1 for v in pair):
        raise ValueError(
            f"{name} must be a positive int or a pair of positive ints; got {value!r}."
        )
    return (int(pair[0]), int(pair[1]))


def _as_images(X, image_shape):
    """Reshape validated ``X`` to ``(n_samples, channels, height, width)``.

    Three- and four-dimensional arrays are images already; two-dimensional
    rows are reshaped with ``image_shape`` (``(H, W)`` or ``(C, H, W)``, one
    entry may be -1) or, when it is None, as square single-channel images.
    """
    if X.ndim == 4:
        images = X
    elif X.ndim == 3:
        images = X[:, np.newaxis]
    elif X.ndim == 2:
        shape = rows_image_shape(image_shape, X.shape[1])
        images = X.reshape(X.shape[0], *shape)
    else:
        raise ValueError(
            "X must be 2-D (flat rows), 3-D (n_samples, height, width) or 4-D "
            f"(n_samples, channels, height, width); got {X.ndim} dimensions."
        )
    return images


def _extract_patches(images, kernel, positions):
    """Patches of ``kernel`` at ``positions`` (image, row, col), flattened."""
    img, row, col = positions
    kh, kw = kernel
    channels = np.arange(images.shape[1])
    rows = row[:, np.newaxis] + np.arange(kh)
    cols = col[:, np.newaxis] + np.arange(kw)
    patches = images[
        img[:, None, None, None],
        channels[None, :, None, None],
        rows[:, None, :, None],
        cols[:, None, None, :],
    ]
    return patches.reshape(len(img), -1).astype(np.float64, copy=False)


def _sample_positions(images, kernel, n_patches, random_state):
    """Draw at most ``n_patches`` distinct patch positions uniformly."""
    n, _, height, width = images.shape
    n_rows = height - kernel[0] + 1
    n_cols = width - kernel[1] + 1
    total = n * n_rows * n_cols
    if total <= n_patches:
        flat = np.arange(total)
    else:
        flat = np.sort(random_state.choice(total, n_patches, replace=False))
    img, rest = np.divmod(flat, n_rows * n_cols)
    row, col = np.divmod(rest, n_cols)
    return img, row, col


def _responses(images, filters, pooling, pool_size, batch_size=1024):
    """Convolution, rectification and pooling of ``images``, flattened."""
    weight = torch.as_tensor(filters, dtype=torch.float32)
    out = []
    with torch.no_grad():
        for start in range(0, images.shape[0], batch_size):
            x = torch.as_tensor(
                np.ascontiguousarray(images[start : start + batch_size]),
                dtype=torch.float32,
            )
            r = F.relu(F.conv2d(x, weight))
            if pooling == "max":
                r = F.max_pool2d(r, pool_size, ceil_mode=True)
            elif pooling == "avg":
                r = F.avg_pool2d(r, pool_size, ceil_mode=True)
            out.append(r.reshape(r.shape[0], -1).numpy())
    return np.concatenate(out) if out else np.empty((0, 0), dtype=np.float32)


class KMeansFilterInitializer(TransformerMixin, BaseEstimator):
    """Convolution filters learnt by k-means on normalised image patches.

    :meth:`fit` samples ``n_patches`` patches of ``kernel_size`` from the
    images, removes the mean of each patch and divides it by its standard
    deviation (contrast normalisation), optionally ZCA-whitens the patches
    and drops outliers (:class:`~sklearn.ensemble.IsolationForest`), then
    clusters them into ``n_filters`` centroids. Patches too flat to carry an
    edge (background) are left out. Each centroid, mapped back to pixel space
    and scaled to unit norm, is a filter. The silhouette of the patch
    clustering (on a sample) says how much structure the filters capture.

    :meth:`transform` gives the filter responses of images -- convolution
    with ``filters_``, ReLU and optional pooling -- as flat features, so the
    transformer can sit in a :class:`~sklearn.pipeline.Pipeline` before a
    linear classifier or :class:`skdec.DECClusterer`. The filters can be
    copied into a ``torch.nn.Conv2d`` with :meth:`init_conv` (or
    :func:`copy_filters_to_conv`); :func:`init_conv_stack` initialises a
    whole stack of convolutions.

    Parameters
    ----------
    n_filters : int, default=32
        Number of filters, i.e. of k-means clusters.

    kernel_size : int or tuple of (int, int), default=5
        Height and width of the patches and filters.

    image_shape : tuple of int or None, default=None
        How the rows of a 2-D ``X`` are images: ``(height, width)`` or
        ``(channels, height, width)``, C-ordered; one entry may be -1 (as in
        :func:`numpy.reshape`). With None, rows must be square
        single-channel images (64 features are 8x8, 784 are 28x28). Ignored
        for 3-D ``(n_samples, height, width)`` and 4-D
        ``(n_samples, channels, height, width)`` input.

    n_patches : int, default=10000
        Number of patches drawn (uniformly over images and positions,
        without replacement) before flat patches and outliers are dropped.
        All patches are used when there are fewer.

    flat_threshold : float, default=0.1
        Patches whose standard deviation is below ``flat_threshold`` times
        the mean standard deviation of the drawn patches are left out as
        flat. Scale-free; 0 keeps every patch.

    contrast_epsilon : float, default=0.05
        Regularisation of contrast normalisation, relative to the mean patch
        variance: a patch is divided by ``sqrt(var + contrast_epsilon *
        mean_var)``, which keeps weak-contrast patches from being
        amplified into noise.

    whiten : bool, default=False
        Whether to ZCA-whiten the normalised patches before clustering.

    zca_epsilon : float, default=0.1
        Added to the eigenvalues of the patch covariance when whitening.

    outlier_fraction : float or None, default=None
        If set, the proportion of patches an
        :class:`~sklearn.ensemble.IsolationForest` removes as outliers
        before clustering (its ``contamination``).

    algorithm : {'kmeans', 'spherical-kmeans', 'minibatch-kmeans'}, \
            default='kmeans'
        Clustering of the patches: :class:`~sklearn.cluster.KMeans`,
        :class:`skdec.cluster.SphericalKMeans` (cosine similarity) or
        :class:`~sklearn.cluster.MiniBatchKMeans`.

    n_init : int, default=3
        Number of k-means runs with different seeds; the best is kept.

    max_iter : int, default=100
        Maximum number of k-means iterations per run.

    pooling : {'max', 'avg', 'none'}, default='max'
        Pooling of the rectified responses in :meth:`transform`.

    pool_size : int, default=2
        Size and stride of the pooling window (windows at the border may be
        partial).

    silhouette_sample_size : int, default=2000
        Number of clustered patches on which ``silhouette_`` is computed.

    random_state : int, RandomState instance or None, default=None
        Seeds patch sampling, outlier removal, k-means and the silhouette
        sample. Pass an int for reproducible results.

    Attributes
    ----------
    filters_ : ndarray of shape (n_filters, channels, kernel_height, \
            kernel_width)
        Unit-norm, zero-mean filters in pixel space, the most populated
        cluster first.

    cluster_centers_ : ndarray of shape (n_filters, n_patch_features)
        The centroids in the space of normalised (and whitened) patches, in
        the order of ``filters_``.

    cluster_sizes_ : ndarray of shape (n_filters,)
        Number of clustered patches in each cluster.

    n_iter_ : int
        Number of k-means iterations of the kept run.

    n_patches_used_ : int
        Number of patches clustered (after flat and outlier patches were
        dropped).

    silhouette_ : float
        Silhouette score of the patch clustering on a sample (Euclidean; cosine
        for ``algorithm='spherical-kmeans'``). NaN when the sample holds a
        single cluster.

    silhouette_reading_ : str
        The ClusterCNN study's reading of ``silhouette_``: ``'strong'``
        (>= 0.71), ``'reasonable'`` (0.51 to 0.70), ``'weak'`` (0.26 to 0.50)
        or ``'none'`` (no substantial structure, < 0.26 or NaN).

    zca_mean_ : ndarray of shape (n_patch_features,)
        Mean of the normalised patches; only when ``whiten=True``.

    zca_components_ : ndarray of shape (n_patch_features, n_patch_features)
        The ZCA whitening matrix; only when ``whiten=True``.

    image_shape_ : tuple of (int, int, int)
        ``(channels, height, width)`` of the images seen in :meth:`fit`.

    n_features_in_ : int
        Number of values per image seen during :term:`fit`.

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during :term:`fit`; only for 2-D ``X`` whose
        feature names are all strings.

    See Also
    --------
    copy_filters_to_conv : Put filters into a ``torch.nn.Conv2d``.
    init_conv_stack : Initialise a stack of convolutions layer by layer.

    Notes
    -----
    Contrast normalisation divides each patch by its own norm, which a
    convolution cannot do: a filter's response to a raw patch is its response
    to the normalised patch times the patch's contrast. With whitening, the
    filter is the centroid mapped through the (symmetric) ZCA matrix, so that
    its dot product with a raw patch equals the centroid's with the whitened
    patch, up to that contrast factor and a constant.

    References
    ----------
    A. Coates and A. Y. Ng, "Learning feature representations with
    K-means", Neural Networks: Tricks of the Trade (2012).

    Examples
    --------
    >>> from skdec.datasets import load_digits
    >>> from skdec import KMeansFilterInitializer
    >>> X, y = load_digits(return_X_y=True)
    >>> init = KMeansFilterInitializer(n_filters=8, kernel_size=3,
    ...                                n_patches=2000, random_state=0)
    >>> init.fit(X).filters_.shape
    (8, 1, 3, 3)
    >>> init.transform(X[:5]).shape  # 8 filters x 3 x 3 pooled responses
    (5, 72)
    >>> init.silhouette_reading_ in {"strong", "reasonable", "weak", "none"}
    True
    """

    _parameter_constraints: dict = {
        "n_filters": [Interval(Integral, 1, None, closed="left")],
        "kernel_size": [Interval(Integral, 1, None, closed="left"), tuple, list],
        "image_shape": [tuple, list, None],
        "n_patches": [Interval(Integral, 1, None, closed="left")],
        "flat_threshold": [Interval(Real, 0, 1, closed="left")],
        "contrast_epsilon": [Interval(Real, 0, None, closed="left")],
        "whiten": ["boolean"],
        "zca_epsilon": [Interval(Real, 0, None, closed="neither")],
        "outlier_fraction": [Interval(Real, 0, 0.5, closed="right"), None],
        "algorithm": [StrOptions({"kmeans", "spherical-kmeans", "minibatch-kmeans"})],
        "n_init": [Interval(Integral, 1, None, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "pooling": [StrOptions({"max", "avg", "none"})],
        "pool_size": [Interval(Integral, 1, None, closed="left")],
        "silhouette_sample_size": [Interval(Integral, 2, None, closed="left")],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        n_filters=32,
        *,
        kernel_size=5,
        image_shape=None,
        n_patches=10000,
        flat_threshold=0.1,
        contrast_epsilon=0.05,
        whiten=False,
        zca_epsilon=0.1,
        outlier_fraction=None,
        algorithm="kmeans",
        n_init=3,
        max_iter=100,
        pooling="max",
        pool_size=2,
        silhouette_sample_size=2000,
        random_state=None,
    ):
        self.n_filters = n_filters
        self.kernel_size = kernel_size
        self.image_shape = image_shape
        self.n_patches = n_patches
        self.flat_threshold = flat_threshold
        self.contrast_epsilon = contrast_epsilon
        self.whiten = whiten
        self.zca_epsilon = zca_epsilon
        self.outlier_fraction = outlier_fraction
        self.algorithm = algorithm
        self.n_init = n_init
        self.max_iter = max_iter
        self.pooling = pooling
        self.pool_size = pool_size
        self.silhouette_sample_size = silhouette_sample_size
        self.random_state = random_state

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags

    # -- input -----------------------------------------------------------------

    def _validate_images(self, X, reset):
        """Validate ``X`` and return it as ``(n, channels, height, width)``."""
        dtype = [np.float64, np.float32]
        ndim = getattr(X, "ndim", None)
        if ndim is None:  # a list: 2-D rows or nested images
            ndim = np.asarray(X).ndim
        if ndim <= 2:
            X = validate_data(self, X, reset=reset, dtype=dtype)
        else:
            X = check_array(X, allow_nd=True, dtype=dtype, input_name="X")
            if reset:
                self.n_features_in_ = int(np.prod(X.shape[1:]))
                if hasattr(self, "feature_names_in_"):
                    del self.feature_names_in_
        image_shape = self.image_shape if X.ndim == 2 else None
        if X.ndim == 2 and not reset:
            image_shape = self.image_shape_
        images = _as_images(X, image_shape)
        if not reset:
            fitted = self.image_shape_
            if images.shape[1] != fitted[0]:
                raise ValueError(
                    f"X has {images.shape[1]} channel(s), but "
                    f"{type(self).__name__} was fitted on images with "
                    f"{fitted[0]} channel(s)."
                )
            if images.shape[2:] != fitted[1:]:
                raise ValueError(
                    f"X holds {images.shape[2]}x{images.shape[3]} images, but "
                    f"{type(self).__name__} was fitted on "
                    f"{fitted[1]}x{fitted[2]} images."
                )
        return images

    # -- patch preprocessing ---------------------------------------------------

    def _normalise(self, patches, whiten=True):
        """Per-patch mean removal and contrast normalisation (then ZCA)."""
        centred = patches - patches.mean(axis=1, keepdims=True)
        std = np.sqrt(centred.var(axis=1) + self._contrast_floor)
        std[std == 0] = 1.0
        normalised = centred / std[:, np.newaxis]
        if whiten and self.whiten:
            normalised = (normalised - self.zca_mean_) @ self.zca_components_
        return normalised

    def _sample_patches(self, images, n_patches, random_state, reset):
        """Draw patches; drop the flat ones; return them normalised."""
        positions = _sample_positions(images, self._kernel, n_patches, random_state)
        patches = _extract_patches(images, self._kernel, positions)
        std = patches.std(axis=1)
        if reset and not np.any(std > 0):
            raise ValueError(
                "Every sampled patch is constant: the images hold no edge or "
                "texture for the filters to learn."
            )
        if reset:
            mean_var = float(np.mean(std**2))
            self._contrast_floor = self.contrast_epsilon * mean_var
            self._flat_std = self.flat_threshold * float(std.mean())
        keep = std >= self._flat_std if self._flat_std > 0 else slice(None)
        patches = patches[keep]
        if reset and self.whiten:
            self._fit_zca(patches)
        return self._normalise(patches)

    def _fit_zca(self, patches):
        normalised = self._normalise(patches, whiten=False)
        self.zca_mean_ = normalised.mean(axis=0)
        cov = np.cov(normalised - self.zca_mean_, rowvar=False, bias=True)
        cov = np.atleast_2d(cov)
        eigval, eigvec = np.linalg.eigh(cov)
        eigval = np.clip(eigval, 0.0, None)
        scale = 1.0 / np.sqrt(eigval + self.zca_epsilon)
        self.zca_components_ = (eigvec * scale) @ eigvec.T

    def _clusterer(self, seed):
        common = dict(
            n_clusters=self.n_filters,
            n_init=self.n_init,
            max_iter=self.max_iter,
            random_state=seed,
        )
        if self.algorithm == "spherical-kmeans":
            return SphericalKMeans(**common)
        if self.algorithm == "minibatch-kmeans":
            return MiniBatchKMeans(batch_size=1024, **common)
        return KMeans(**common)

    # -- fit / transform -------------------------------------------------------

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Learn ``n_filters`` filters by clustering patches of ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features), \
                (n_samples, height, width) or \
                (n_samples, channels, height, width)
            Training images; see ``image_shape`` for flat rows. No value may
            be NaN or infinite.

        y : Ignored
            Not used, present for API consistency by convention.

        Returns
        -------
        self : object
            Fitted transformer.
        """
        self._kernel = _pair(self.kernel_size, "kernel_size")
        if self.n_patches < self.n_filters:
            raise ValueError(
                f"n_patches={self.n_patches} must be >= n_filters="
                f"{self.n_filters}: each filter is the centroid of patches."
            )
        images = self._validate_images(X, reset=True)
        _, channels, height, width = images.shape
        kh, kw = self._kernel
        if height < kh or width < kw:
            raise ValueError(
                f"The images ({height}x{width} pixels) are smaller than "
                f"kernel_size=({kh}, {kw}); n_features={self.n_features_in_} per "
                "sample. Use a smaller kernel_size or larger images."
            )
        self.image_shape_ = (channels, height, width)
        for name in ("zca_mean_", "zca_components_"):
            if hasattr(self, name):
                delattr(self, name)

        random_state = check_random_state(self.random_state)
        patches = self._sample_patches(images, self.n_patches, random_state, True)
        if self.outlier_fraction is not None and len(patches) > 1:
            forest = IsolationForest(
                contamination=self.outlier_fraction,
                random_state=random_state.randint(_INT32_MAX),
            )
            patches = patches[forest.fit_predict(patches) == 1]
        if len(patches) < self.n_filters:
            raise ValueError(
                f"Only {len(patches)} patch(es) are left to cluster (after "
                "dropping flat patches and outliers), fewer than n_filters="
                f"{self.n_filters}. Give more or larger images, a smaller "
                "kernel_size, fewer filters, or a lower flat_threshold."
            )
        clusterer = self._clusterer(random_state.randint(_INT32_MAX)).fit(patches)
        centers = np.asarray(clusterer.cluster_centers_, dtype=np.float64)
        labels = np.asarray(clusterer.labels_)

        sizes = np.bincount(labels, minlength=self.n_filters)
        order = np.argsort(-sizes, kind="stable")
        rank = np.empty_like(order)
        rank[order] = np.arange(order.size)
        self.cluster_centers_ = centers[order]
        self.cluster_sizes_ = sizes[order]
        self.n_patches_used_ = int(len(patches))
        self.n_iter_ = int(clusterer.n_iter_)
        self.filters_ = self._pixel_filters(self.cluster_centers_)
        self.silhouette_ = self._silhouette(patches, rank[labels], random_state)
        self.silhouette_reading_ = _silhouette_reading(self.silhouette_)
        return self

    def _pixel_filters(self, centers):
        """Centroids as unit-norm, zero-mean filters acting on raw pixels."""
        filters = centers @ self.zca_components_ if self.whiten else centers.copy()
        filters -= filters.mean(axis=1, keepdims=True)
        norms = np.linalg.norm(filters, axis=1, keepdims=True)
        norms[norms == 0] = 1.0
        filters /= norms
        return filters.reshape(len(centers), *self.image_shape_[:1], *self._kernel)

    def _silhouette(self, patches, labels, random_state):
        n = len(patches)
        if n > self.silhouette_sample_size:
            idx = random_state.choice(n, self.silhouette_sample_size, replace=False)
            patches, labels = patches[idx], labels[idx]
        n_labels = np.unique(labels).size
        if not 2 <= n_labels <= len(labels) - 1:
            return float("nan")
        metric = "cosine" if self.algorithm == "spherical-kmeans" else "euclidean"
        if metric == "cosine" and np.any(np.linalg.norm(patches, axis=1) == 0):
            metric = "euclidean"  # cosine is undefined for zero patches
        return float(silhouette_score(patches, labels, metric=metric))

    def transform(self, X):
        """Filter responses: convolution with ``filters_``, ReLU, pooling.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features), \
                (n_samples, height, width) or \
                (n_samples, channels, height, width)
            Images of the shape seen in :meth:`fit`.

        Returns
        -------
        X_new : ndarray of shape (n_samples, n_filters * out_height * out_width)
            Flattened response maps (channel-major), in the dtype of ``X``
            (float64 or float32).
        """
        check_is_fitted(self)
        images = self._validate_images(X, reset=False)
        features = _responses(images, self.filters_, self.pooling, self.pool_size)
        return features.astype(images.dtype, copy=False)

    def sample_patches(self, X, n_patches=1000, random_state=None):
        """Draw normalised patches of ``X`` and the cluster of each.

        The patches go through the preprocessing of :meth:`fit` (flat ones
        dropped, contrast normalisation, whitening), so they live in the
        space of ``cluster_centers_``; useful for plotting an embedding of
        the patches coloured by cluster.

        Parameters
        ----------
        X : array-like
            Images of the shape seen in :meth:`fit`.
        n_patches : int, default=1000
            Number of patches drawn before flat ones are dropped.
        random_state : int, RandomState instance or None, default=None
            Seeds the draw.

        Returns
        -------
        patches : ndarray of shape (n_kept, n_patch_features)
            The normalised patches.
        labels : ndarray of shape (n_kept,)
            Index of the closest centroid (the filter) of each patch.
        """
        check_is_fitted(self)
        images = self._validate_images(X, reset=False)
        rng = check_random_state(random_state)
        patches = self._sample_patches(images, int(n_patches), rng, reset=False)
        if self.algorithm == "spherical-kmeans":
            labels = np.argmax(patches @ self.cluster_centers_.T, axis=1)
        else:
            labels = nearest_center(patches, self.cluster_centers_)
        return patches, labels

    def init_conv(self, conv, *, zero_bias=True):
        """Copy ``filters_`` into the weight of a ``torch.nn.Conv2d``.

        Parameters
        ----------
        conv : torch.nn.Conv2d
            A convolution with ``out_channels == n_filters``, ``in_channels``
            equal to the channels of the fitted images, the fitted
            ``kernel_size`` and ``groups=1``.
        zero_bias : bool, default=True
            Whether to set the bias of ``conv`` (if any) to zero.

        Returns
        -------
        conv : torch.nn.Conv2d
            The same module, modified in place.
        """
        check_is_fitted(self)
        return copy_filters_to_conv(self.filters_, conv, zero_bias=zero_bias)


def copy_filters_to_conv(filters, conv, *, zero_bias=True):
    """Copy an array of filters into the weight of a ``torch.nn.Conv2d``.

    Parameters
    ----------
    filters : array-like or torch.Tensor of shape (out_channels, \
            in_channels, kernel_height, kernel_width)
        Real, finite filters, e.g. ``KMeansFilterInitializer().filters_``.
        They are cast to the floating dtype of ``conv.weight``.
    conv : torch.nn.Conv2d
        The convolution to initialise (``groups=1``).
    zero_bias : bool, default=True
        Whether to set the bias of ``conv`` (if any) to zero.

    Returns
    -------
    conv : torch.nn.Conv2d
        The same module, modified in place.

    Raises
    ------
    TypeError
        If ``conv`` is not a ``torch.nn.Conv2d``, or ``filters`` or the
        weight of ``conv`` does not have a real floating dtype.
    ValueError
        If the shapes differ, or ``filters`` holds NaN or infinity.

    Examples
    --------
    >>> import numpy as np, torch
    >>> from skdec import copy_filters_to_conv
    >>> conv = torch.nn.Conv2d(1, 2, kernel_size=3)
    >>> filters = np.stack([np.eye(3), -np.eye(3)])[:, np.newaxis]
    >>> copy_filters_to_conv(filters, conv).weight[1, 0, 0, 0].item()
    -1.0
    >>> copy_filters_to_conv(filters, torch.nn.Conv2d(1, 4, 3))
    Traceback (most recent call last):
    ...
    ValueError: filters of shape (2, 1, 3, 3) do not fit Conv2d(1, 4, ...) whose weight has shape (4, 1, 3, 3) (out_channels, in_channels, kernel_height, kernel_width).
    """  # noqa: E501
    if not isinstance(conv, torch.nn.Conv2d):
        raise TypeError(f"conv must be a torch.nn.Conv2d; got {type(conv).__name__}.")
    if conv.groups != 1:
        raise ValueError(
            f"conv has groups={conv.groups}; only groups=1 convolutions can "
            "take filters learnt on whole patches."
        )
    weight = conv.weight
    if not weight.dtype.is_floating_point:
        raise TypeError(f"conv.weight has dtype {weight.dtype}, not a floating type.")
    if isinstance(filters, torch.Tensor):
        filters = filters.detach().cpu().numpy()
    filters = np.asarray(filters)
    if filters.dtype.kind != "f":
        raise TypeError(
            f"filters must have a real floating dtype; got {filters.dtype}."
        )
    if filters.shape != tuple(weight.shape):
        raise ValueError(
            f"filters of shape {filters.shape} do not fit Conv2d("
            f"{conv.in_channels}, {conv.out_channels}, ...) whose weight has "
            f"shape {tuple(weight.shape)} (out_channels, in_channels, "
            "kernel_height, kernel_width)."
        )
    if not np.all(np.isfinite(filters)):
        raise ValueError("filters contain NaN or infinity.")
    with torch.no_grad():
        weight.copy_(torch.as_tensor(filters, dtype=weight.dtype))
        if zero_bias and conv.bias is not None:
            conv.bias.zero_()
    return conv


def _leaf_modules(module):
    """Modules of a (nested) Sequential or list, in forward order."""
    if isinstance(module, torch.nn.Sequential | list | tuple | torch.nn.ModuleList):
        for child in module:
            yield from _leaf_modules(child)
    else:
        yield module


def init_conv_stack(layers, X, initializer=None, *, random_state=None):
    """Initialise every ``Conv2d`` of a stack with k-means filters, in order.

    The first convolution gets filters clustered from patches of ``X``; ``X``
    is then passed through the layers up to the next convolution (whose
    weights were just set), which gets filters clustered from patches of
    those responses, and so on: each layer's filters come from the patches
    of the previous layer's responses.

    Parameters
    ----------
    layers : torch.nn.Sequential or list of torch.nn.Module
        The stack, in forward order (nested Sequentials are walked through).
        Modules other than ``Conv2d`` (activations, pooling, batch norm) are
        only applied, in evaluation mode; the walk stops after the last
        ``Conv2d``.
    X : array-like of shape (n_samples, channels, height, width), \
            (n_samples, height, width) or (n_samples, n_features)
        A sample of training images (no labels needed); a few thousand are
        plenty. Flat rows are read as in ``initializer``.
    initializer : KMeansFilterInitializer or None, default=None
        Template whose parameters are used for every layer, except
        ``n_filters`` and ``kernel_size`` (taken from each ``Conv2d``) and
        ``random_state``. None means ``KMeansFilterInitializer()``.
    random_state : int, RandomState instance or None, default=None
        Seeds each layer's initializer.

    Returns
    -------
    initializers : list of KMeansFilterInitializer
        The fitted initializer of each ``Conv2d``, in order.

    Examples
    --------
    >>> import torch
    >>> from skdec import KMeansFilterInitializer, init_conv_stack
    >>> from skdec.datasets import load_digits
    >>> X, _ = load_digits(return_X_y=True)
    >>> net = torch.nn.Sequential(
    ...     torch.nn.Conv2d(1, 8, 3), torch.nn.ReLU(),
    ...     torch.nn.Conv2d(8, 16, 3), torch.nn.ReLU(), torch.nn.Flatten())
    >>> fitted = init_conv_stack(
    ...     net, X[:300], KMeansFilterInitializer(n_patches=2000), random_state=0)
    >>> [f.filters_.shape for f in fitted]
    [(8, 1, 3, 3), (16, 8, 3, 3)]
    """
    template = KMeansFilterInitializer() if initializer is None else initializer
    if not isinstance(template, KMeansFilterInitializer):
        raise TypeError(
            "initializer must be a KMeansFilterInitializer; got "
            f"{type(template).__name__}."
        )
    modules = list(_leaf_modules(layers))
    conv_positions = [
        i for i, m in enumerate(modules) if isinstance(m, torch.nn.Conv2d)
    ]
    if not conv_positions:
        raise ValueError("layers hold no torch.nn.Conv2d to initialise.")
    for i in conv_positions:
        conv = modules[i]
        if conv.groups != 1 or conv.dilation != (1, 1):
            raise ValueError(
                f"Conv2d number {conv_positions.index(i) + 1} has groups="
                f"{conv.groups}, dilation={conv.dilation}; only groups=1 and "
                "dilation=1 are supported."
            )
    rng = check_random_state(random_state)

    X = check_array(X, allow_nd=True, dtype=[np.float32, np.float64], input_name="X")
    images = _as_images(X, template.image_shape if X.ndim == 2 else None)
    param = next(modules[conv_positions[0]].parameters())
    x = torch.as_tensor(np.ascontiguousarray(images), dtype=param.dtype)
    x = x.to(param.device)

    fitted = []
    with torch.no_grad():
        for i, module in enumerate(modules[: conv_positions[-1] + 1]):
            if isinstance(module, torch.nn.Conv2d):
                if x.shape[1] != module.in_channels:
                    raise ValueError(
                        f"Conv2d number {len(fitted) + 1} expects "
                        f"{module.in_channels} input channel(s) but receives "
                        f"{x.shape[1]}; the layers do not form a stack for "
                        "these images."
                    )
                layer_init = clone(template).set_params(
                    n_filters=module.out_channels,
                    kernel_size=tuple(module.kernel_size),
                    image_shape=None,
                    random_state=rng.randint(_INT32_MAX),
                )
                layer_init.fit(x.cpu().numpy())
                layer_init.init_conv(module)
                fitted.append(layer_init)
            if i < conv_positions[-1]:
                was_training = module.training
                module.eval()
                try:
                    x = module(x)
                finally:
                    module.train(was_training)
    return fitted
