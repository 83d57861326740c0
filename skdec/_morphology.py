"""Measurements of a centred subject's light that no turn or mirror changes:
the non-parametric morphology of galaxy surveys, as features to cluster."""

from __future__ import annotations

import numpy as np
from scipy import ndimage
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context
from sklearn.utils.validation import check_is_fitted

from ._shapes import rows_image_shape
from ._validation import CHECK_BYTES, validate_rows
from .net._rows import rows_per_chunk

__all__ = ["MorphologyFeatures"]

#: the annuli of the azimuthal Fourier amplitudes, in half-light radii
ANNULI = ((0.3, 0.7), (0.7, 1.2), (1.2, 2.0))
#: the azimuthal Fourier modes measured in each annulus
MODES = (1, 2, 3, 4)
#: the radii of the light profile, in half-light radii (relative to its value at 1)
PROFILE_RADII = (0.25, 0.5, 1.5, 2.0, 3.0)
#: angles sampled on each circle of the polar image (a multiple of 4, so that
#: quarter turns and mirror images map the samples onto each other)
N_ANGLES = 64
#: the smallest ratio a logarithm is taken of
FLOOR = 1e-4
#: the measurements of any image, then per annulus, profile and colour
SHAPE_NAMES = (
    "concentration",
    "log_half_light_radius",
    "axis_ratio",
    "log_asymmetry",
    "log_smoothness",
    "gini",
    "log_signal_to_noise",
)
TINY = 1e-12


def feature_names(n_channels):
    """The names of the measurements of images with ``n_channels``."""
    names = list(SHAPE_NAMES)
    names += [f"log_fourier_m{m}_{lo:g}-{hi:g}r50" for lo, hi in ANNULI for m in MODES]
    names += [f"log_profile_{r:g}r50" for r in PROFILE_RADII]
    bands = "rgb" if n_channels == 3 else [f"ch{c}" for c in range(n_channels)]
    for where in ("core", "disc"):
        names += [
            f"colour_{bands[c]}-{bands[-1]}_{where}" for c in range(n_channels - 1)
        ]
    return names


class MorphologyFeatures(TransformerMixin, BaseEstimator):
    """Rotation- and mirror-invariant measurements of a centred subject.

    Each row, an image with its subject at the centre (a survey cut-out, see
    ``center_crop`` of :func:`~skdec.datasets.load_image_folder`), becomes
    the non-parametric measurements of galaxy morphology (Conselice 2003,
    Lotz et al. 2004), of its azimuthal structure and of its colours. None
    depends on the subject's orientation: mirror images and (of square
    images) quarter turns give the same features up to rounding, other turns
    the same up to interpolation. They are measured on the mean of the channels
    after subtracting the median of the image's border (its sky), about the
    centre of the frame, at radii relative to the half-light radius ``r50``:

    - ``concentration``: ``5 log10(r80 / r20)``, from the curve of growth;
    - ``log_half_light_radius``: ``log(r50)`` in half-sides of the frame;
    - ``axis_ratio``: minor over major axis of the light's second moments
      within ``2 r50`` (1 round, near 0 edge-on);
    - ``log_asymmetry``: the light that differs from the image turned half a
      turn, over the light, within ``2 r50``;
    - ``log_smoothness``: the light above a box-smoothed copy (width
      ``r50 / 4``, at least 3 pixels) outside ``r50 / 4``, over the light,
      within ``2 r50``;
    - ``gini``: the Gini coefficient of the pixels within ``2 r50``;
    - ``log_signal_to_noise``: the light within ``2 r50`` over the border's
      noise in that many pixels (log10);
    - ``log_fourier_m{1..4}_...``: the amplitude of each azimuthal Fourier
      mode over the mean, in three annuli (0.3-0.7, 0.7-1.2 and 1.2-2
      ``r50``): arms and bars raise m = 2;
    - ``log_profile_...``: the azimuthal mean profile at 0.25, 0.5, 1.5, 2 and
      3 ``r50`` over its value at ``r50``;
    - with several channels, ``colour_...``: each channel but the last minus
      the last, over the sum of all, within ``r50 / 2`` (``core``) and from
      ``r50 / 2`` to ``1.5 r50`` (``disc``); for RGB, red and green minus
      blue.

    Ratios are logarithms (natural, floored at ``1e-4``), so that the features
    have no long tails, and every measurement is a ratio, so the pixels'
    scale does not matter (uint8 rows measure as the same rows divided by
    255). Their scales differ, so put a
    :class:`~sklearn.preprocessing.StandardScaler` before a clustering. A
    blank image (no light above its border) gets finite values. The
    transformer learns nothing from the rows it is fitted on beyond their
    shape. How clusters of these features compare with clusters of the
    pixels on real survey cut-outs is in :doc:`/benchmarks`.

    Parameters
    ----------
    image_shape : tuple of int, default=None
        ``(height, width)`` or ``(channels, height, width)`` of the rows,
        flattened channels first (as :func:`~skdec.datasets.load_image_folder`
        gives them); one entry may be -1. None reads rows as square
        single-channel images.

    Attributes
    ----------
    image_shape_ : tuple of int
        ``(channels, height, width)`` of the rows.
    n_features_in_ : int
        Number of values per row seen during fit.
    n_features_out_ : int
        Number of measurements per image: 24, and 2 more per channel after
        the first (28 for RGB).

    See Also
    --------
    skdec.FeatureExtractor : Features of a pretrained network instead.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.cluster import KMeans
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> from skdec import MorphologyFeatures
    >>> yy, xx = np.mgrid[:24, :24] - 11.5
    >>> round_blob = np.exp(-(yy**2 + xx**2) / 18)
    >>> long_blob = np.exp(-(yy**2 / 4 + xx**2 / 40))
    >>> X = np.array([round_blob, round_blob.T, long_blob, long_blob.T])
    >>> X = X.reshape(4, -1)  # four 24x24 grey images
    >>> features = MorphologyFeatures().fit(X)
    >>> features.n_features_out_
    24
    >>> q = features.transform(X)[:, 2]  # axis ratios
    >>> bool(q[0] > 0.95), bool(q[2] < 0.6), bool(np.isclose(q[2], q[3]))
    (True, True, True)
    >>> pipe = make_pipeline(MorphologyFeatures(), StandardScaler(),
    ...                      KMeans(2, n_init=10, random_state=0))
    >>> labels = pipe.fit_predict(X)
    >>> bool(labels[0] == labels[1] != labels[2] == labels[3])
    True
    """

    _parameter_constraints: dict = {"image_shape": ["array-like", None]}

    def __init__(self, image_shape=None):
        self.image_shape = image_shape

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Check that the rows are images of ``image_shape``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Flattened images, channels first. No value may be NaN or
            infinite. A memmap, an HDF5 or zarr dataset or a uint8 array
            (:func:`~skdec.datasets.load_image_folder` with ``memmap``) is
            read in chunks by ``transform``, never copied whole.

        y : Ignored
            Not used, present for API consistency by convention.

        Returns
        -------
        self : object
            Fitted transformer.
        """
        X = validate_rows(
            self, X, reset=True, dtype=[np.float64, np.float32], check_finite="batches"
        )
        self.image_shape_ = rows_image_shape(self.image_shape, X.shape[1])
        self.n_features_out_ = len(feature_names(self.image_shape_[0]))
        return self

    def transform(self, X):
        """The measurements of each image.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Flattened images of ``image_shape_``.

        Returns
        -------
        features : ndarray of shape (n_samples, n_features_out_)
            float64, whatever the dtype of ``X``: a Gaussian mixture's
            covariances of float32 features can fail to factorise.
        """
        check_is_fitted(self)
        X = validate_rows(
            self, X, reset=False, dtype=[np.float64, np.float32], check_finite="batches"
        )
        geometry = _Geometry(*self.image_shape_[1:])
        out = np.empty((X.shape[0], self.n_features_out_))
        step = rows_per_chunk(X.shape[1], 8, CHECK_BYTES)
        for start in range(0, X.shape[0], step):
            chunk = np.asarray(X[start : start + step], dtype=np.float64)
            for i, image in enumerate(chunk.reshape(-1, *self.image_shape_)):
                out[start + i] = _measure(image, geometry)
        return out

    def get_feature_names_out(self, input_features=None):
        """The names of the measurements (see the class description).

        Parameters
        ----------
        input_features : array-like of str or None, default=None
            Ignored; the names do not depend on the input's.

        Returns
        -------
        feature_names_out : ndarray of str objects
        """
        check_is_fitted(self)
        return np.asarray(feature_names(self.image_shape_[0]), dtype=object)


class _Geometry:
    """Pixel radii and the polar sampling grid of ``height x width`` images."""

    def __init__(self, height, width):
        cy, cx = (height - 1) / 2, (width - 1) / 2
        self.yy, self.xx = np.mgrid[0:height, 0:width].astype(np.float64)
        self.radius = np.hypot(self.yy - cy, self.xx - cx)
        self.r_min = self.radius.min()  # the centre pixel's, in any aperture
        self.r_max = max(min(height, width) / 2, 0.5)
        self.rs = np.arange(max(int(self.r_max), 1)) + 0.5
        angles = np.linspace(0, 2 * np.pi, N_ANGLES, endpoint=False)
        self.polar = np.array(
            [
                (cy + self.rs[:, None] * np.sin(angles)).ravel(),
                (cx + self.rs[:, None] * np.cos(angles)).ravel(),
            ]
        )


def _border(image):
    """The pixels of the outermost rows and columns, per channel."""
    return np.concatenate(
        [image[:, 0], image[:, -1], image[:, :, 0], image[:, :, -1]], axis=1
    )


def _log(value):
    return float(np.log(max(value, FLOOR)))


def _measure(image, geo):
    """The measurements of one ``(C, H, W)`` float64 image."""
    sky = np.median(_border(image), axis=1)
    light = image - sky[:, None, None]
    grey = light.mean(0)
    noise = float(_border(grey[None]).std())
    positive = np.clip(grey, 0, None)
    rs = geo.rs
    polar = ndimage.map_coordinates(grey, geo.polar, order=1, mode="nearest")
    polar = polar.reshape(len(rs), N_ANGLES)
    profile = polar.mean(1)
    growth = np.cumsum(np.clip(profile, 0, None) * rs)
    if growth[-1] > TINY:
        # where the curve of growth (the light within each circle's outer
        # edge, 0 at the centre) reaches each share
        shares = np.concatenate([[0.0], growth / growth[-1]])
        edges = np.concatenate([[0.0], rs + 0.5])
        r20, r50, r80 = np.interp([0.2, 0.5, 0.8], shares, edges)
    else:  # a blank image
        r20 = r50 = r80 = geo.r_max / 2
    aperture = geo.radius <= max(2 * r50, geo.r_min)
    inside = positive * aperture
    flux = inside.sum()

    weight = flux + TINY
    my, mx = (inside * geo.yy).sum() / weight, (inside * geo.xx).sum() / weight
    dy, dx = geo.yy - my, geo.xx - mx
    moments = [
        [(inside * dy * dy).sum(), (inside * dy * dx).sum()],
        [(inside * dy * dx).sum(), (inside * dx * dx).sum()],
    ]
    small, large = np.linalg.eigvalsh(np.array(moments) / weight)
    axis_ratio = float(np.sqrt(max(small, 0) / large)) if large > TINY else 1.0

    absolute = (np.abs(grey) * aperture).sum() + TINY
    asymmetry = (np.abs(grey - grey[::-1, ::-1]) * aperture).sum() / absolute
    width = max(3, int(0.25 * r50) | 1)
    smooth = ndimage.uniform_filter(grey, size=width, mode="nearest")
    clumps = np.clip(grey - smooth, 0, None) * aperture * (geo.radius > 0.25 * r50)
    smoothness = clumps.sum() / weight
    values = np.sort(np.abs(grey[aperture]))
    k = len(values)
    gini = float(
        ((2 * np.arange(1, k + 1) - k - 1) * values).sum()
        / (values.mean() * k * (k - 1) + TINY)
    )
    signal = flux / ((noise + TINY) * np.sqrt(aperture.sum()))
    shape = [
        5 * np.log10(max(r80, 0.5) / max(r20, 0.5)),
        _log(r50 / geo.r_max),
        axis_ratio,
        _log(asymmetry),
        _log(smoothness),
        gini,
        float(np.log10(max(signal, FLOOR))),
    ]

    spectrum = np.abs(np.fft.rfft(polar, axis=1))
    amplitude = spectrum[:, list(MODES)] / (spectrum[:, :1] + TINY)
    fourier = []
    for lo, hi in ANNULI:
        ring = (rs >= lo * r50) & (rs < hi * r50)
        if not ring.any():  # an annulus narrower than a pixel: its nearest circle
            distance = np.abs(rs - (lo + hi) / 2 * r50)
            ring = distance == distance.min()
        fourier += [_log(a) for a in amplitude[ring].mean(0)]
    at_r50 = np.interp(r50, rs, profile)
    shape_of_profile = [
        _log(np.interp(r * r50, rs, profile) / at_r50) if at_r50 > TINY else 0.0
        for r in PROFILE_RADII
    ]

    colours = []
    if len(image) > 1:
        for region in (
            geo.radius <= max(0.5 * r50, geo.r_min),
            (geo.radius > 0.5 * r50) & (geo.radius <= 1.5 * r50),
        ):
            sums = light[:, region].sum(1)
            total = np.abs(sums).sum() + TINY
            colours += [(s - sums[-1]) / total for s in sums[:-1]]
    return np.array(shape + fourier + shape_of_profile + colours)
