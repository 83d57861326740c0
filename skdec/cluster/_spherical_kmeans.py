"""Spherical k-means: k-means with cosine similarity on the unit sphere."""

import warnings
from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    ClusterMixin,
    TransformerMixin,
    _fit_context,
)
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_array, check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

__all__ = ["SphericalKMeans", "spherical_kmeans"]


def _normalize_rows(X):
    """Divide each row of ``X`` by its L2 norm; rows of all zeros stay zero.

    Returns the normalised copy and the boolean mask of the zero rows.
    """
    # Divide by the largest absolute entry first so that squaring can neither
    # overflow nor underflow.
    scale = np.abs(X).max(axis=1)
    zero = scale == 0
    scale[zero] = 1
    X = X / scale[:, np.newaxis]
    norms = np.sqrt(np.einsum("ij,ij->i", X, X))
    norms[zero] = 1
    X /= norms[:, np.newaxis]
    return X, zero


def _kmeans_plusplus_sphere(X, n_clusters, random_state):
    """Pick initial centres among the unit rows of ``X`` by spherical k-means++.

    This is greedy k-means++ (as in scikit-learn) with the cosine distance
    ``1 - cos``, which on the unit sphere is half the squared Euclidean
    distance: each new centre is drawn with probability proportional to the
    distance of a point to its closest centre, keeping the best of
    ``2 + log(k)`` candidates.
    """
    n_samples = X.shape[0]
    n_local_trials = 2 + int(np.log(n_clusters))
    centers = np.empty((n_clusters, X.shape[1]), dtype=X.dtype)

    first = random_state.randint(n_samples)
    centers[0] = X[first]
    closest = np.clip(1.0 - X @ X[first], 0.0, None)
    potential = closest.sum()

    for c in range(1, n_clusters):
        if potential > 0:
            cumulative = np.cumsum(closest, dtype=np.float64)
            draws = random_state.uniform(size=n_local_trials) * cumulative[-1]
            candidates = np.searchsorted(cumulative, draws)
            np.clip(candidates, None, n_samples - 1, out=candidates)
        else:  # every point already sits on a centre
            candidates = random_state.randint(n_samples, size=n_local_trials)
        candidate_dist = np.clip(1.0 - X[candidates] @ X.T, 0.0, None)
        np.minimum(closest, candidate_dist, out=candidate_dist)
        candidate_potential = candidate_dist.sum(axis=1)
        best = int(np.argmin(candidate_potential))
        centers[c] = X[candidates[best]]
        closest = candidate_dist[best]
        potential = candidate_potential[best]
    return centers


def _assign(X, centers):
    """Labels (closest centre) and the cosine similarity to that centre."""
    similarity = X @ centers.T
    labels = np.argmax(similarity, axis=1)
    best = np.take_along_axis(similarity, labels[:, np.newaxis], axis=1)[:, 0]
    return labels, best


def _update_centers(X, labels, best, n_clusters):
    """Normalised means of the clusters; degenerate clusters re-seeded.

    A cluster is degenerate when it is empty or its members sum to the zero
    vector (so its mean has no direction). Such clusters get as new centre
    the worst-fitting points, i.e. those with the lowest cosine similarity to
    their current centre, one distinct point per degenerate cluster.
    """
    n_samples = X.shape[0]
    indicator = sp.csr_matrix(
        (np.ones(n_samples, dtype=X.dtype), (labels, np.arange(n_samples))),
        shape=(n_clusters, n_samples),
    )
    sums = np.asarray(indicator @ X)
    norms = np.linalg.norm(sums, axis=1)
    degenerate = norms <= np.finfo(X.dtype).eps * np.bincount(
        labels, minlength=n_clusters
    )
    centers = np.empty_like(sums)
    ok = ~degenerate
    centers[ok] = sums[ok] / norms[ok, np.newaxis]
    if degenerate.any():
        worst = np.argsort(best, kind="stable")[: int(degenerate.sum())]
        centers[degenerate] = X[worst]
    return centers


def _spherical_kmeans_single(X, centers, max_iter, tol):
    """One run of spherical Lloyd iterations from ``centers``.

    Returns centres, labels, inertia (sum of ``1 - cos``) and iterations run.
    """
    labels, best = _assign(X, centers)
    n_iter = 0
    converged = False
    while not converged and n_iter < max_iter:
        new_centers = _update_centers(X, labels, best, centers.shape[0])
        shift = float(((new_centers - centers) ** 2).sum())
        centers = new_centers
        new_labels, best = _assign(X, centers)
        converged = np.array_equal(new_labels, labels) or shift <= tol
        labels = new_labels
        n_iter += 1
    inertia = float(X.shape[0] - best.sum(dtype=np.float64))
    return centers, labels, max(inertia, 0.0), n_iter


class SphericalKMeans(
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
    ClusterMixin,
    BaseEstimator,
):
    """Spherical k-means clustering (k-means with cosine similarity).

    Every sample is projected on the unit sphere (its row is divided by its
    L2 norm), then Lloyd iterations alternate between assigning each sample
    to the centre of highest cosine similarity and moving each centre to the
    normalised mean of its samples. The objective maximised is the sum of the
    cosine similarities of the samples to their centres; ``inertia_`` reports
    the equivalent loss ``sum(1 - cos)``. Scaling a sample by a positive
    factor does not change the result.

    Parameters
    ----------
    n_clusters : int, default=8
        The number of clusters and of centres.

    init : {'k-means++', 'random'} or array-like of shape \
            (n_clusters, n_features), default='k-means++'
        How to choose the initial centres:

        - 'k-means++': greedy k-means++ on the sphere, drawing centres among
          the samples with probability proportional to their cosine distance
          ``1 - cos`` to the closest centre already chosen;
        - 'random': ``n_clusters`` distinct samples drawn uniformly;
        - an array: the initial centres themselves (normalised to unit
          length; none may be all zeros). Only one run is then made.

    n_init : int, default=10
        Number of runs with different seeds; the run with the lowest
        ``inertia_`` is kept.

    max_iter : int, default=300
        Maximum number of Lloyd iterations in one run.

    tol : float, default=1e-4
        A run stops when no label changes or when the sum of the squared
        displacements of the (unit-norm) centres between two iterations is at
        most ``tol``. Centres live on the unit sphere, so ``tol`` does not
        depend on the scale of the data.

    random_state : int, RandomState instance or None, default=None
        Seeds the centre initialisation. Pass an int for reproducible
        results.

    Attributes
    ----------
    cluster_centers_ : ndarray of shape (n_clusters, n_features)
        Unit-norm cluster centres.

    labels_ : ndarray of shape (n_samples,)
        Index of the cluster of each training sample.

    inertia_ : float
        Sum over the training samples of the cosine distance ``1 - cos`` to
        their centre (lower is better).

    n_iter_ : int
        Number of iterations of the kept run.

    n_features_in_ : int
        Number of features seen during :term:`fit`.

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during :term:`fit`. Defined only when `X`
        has feature names that are all strings.

    See Also
    --------
    spherical_kmeans : Functional interface to this estimator.
    sklearn.cluster.KMeans : K-means with the Euclidean distance.

    Notes
    -----
    A row of all zeros has no direction: its cosine similarity to every
    centre is taken to be 0. In :meth:`fit` such rows (reported by a
    ``UserWarning``) do not move the centres, cannot seed one, and each adds
    1 to ``inertia_``; they, like in :meth:`predict`, go to cluster 0, and
    :meth:`transform` gives them a distance of 1 to every centre. Fitting
    needs at least ``n_clusters`` rows that are not all zeros. Sparse input
    is not supported.

    References
    ----------
    I. S. Dhillon and D. S. Modha, "Concept decompositions for large sparse
    text data using clustering", Machine Learning 42, 143-175 (2001).

    Examples
    --------
    >>> import numpy as np
    >>> from skdec.cluster import SphericalKMeans
    >>> X = np.array([[1.0, 0.1], [2.0, 0.1], [3.0, 0.4],
    ...               [0.1, 1.0], [0.2, 2.0], [0.1, 5.0]])
    >>> skm = SphericalKMeans(n_clusters=2, random_state=0).fit(X)
    >>> skm.labels_[:3] != skm.labels_[3:]
    array([ True,  True,  True])
    >>> np.linalg.norm(skm.cluster_centers_, axis=1)
    array([1., 1.])
    >>> skm.predict([[10.0, 0.0], [0.0, 0.5]]).tolist() == [
    ...     skm.labels_[0], skm.labels_[3]]
    True
    """

    _parameter_constraints: dict = {
        "n_clusters": [Interval(Integral, 1, None, closed="left")],
        "init": [StrOptions({"k-means++", "random"}), "array-like"],
        "n_init": [Interval(Integral, 1, None, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        n_clusters=8,
        *,
        init="k-means++",
        n_init=10,
        max_iter=300,
        tol=1e-4,
        random_state=None,
    ):
        self.n_clusters = n_clusters
        self.init = init
        self.n_init = n_init
        self.max_iter = max_iter
        self.tol = tol
        self.random_state = random_state

    def _check_params_vs_input(self, X, n_zero):
        if X.shape[0] < self.n_clusters:
            raise ValueError(
                f"n_samples={X.shape[0]} should be >= n_clusters={self.n_clusters}."
            )
        if X.shape[0] - n_zero < self.n_clusters:
            raise ValueError(
                f"X has {X.shape[0] - n_zero} row(s) that are not all zeros, "
                f"fewer than n_clusters={self.n_clusters}: the {n_zero} row(s) "
                "of all zeros have no direction on the unit sphere and cannot "
                "seed a centre."
            )
        self._n_init = self.n_init
        if not isinstance(self.init, str):
            if self._n_init != 1:
                warnings.warn(
                    "Explicit initial center position passed: performing only "
                    f"one init in {type(self).__name__} instead of "
                    f"n_init={self._n_init}.",
                    RuntimeWarning,
                    stacklevel=3,
                )
            self._n_init = 1

    def _initial_centers(self, X, random_state):
        if isinstance(self.init, str) and self.init == "k-means++":
            return _kmeans_plusplus_sphere(X, self.n_clusters, random_state)
        if isinstance(self.init, str) and self.init == "random":
            seeds = random_state.choice(X.shape[0], self.n_clusters, replace=False)
            return X[seeds]
        centers = check_array(self.init, dtype=X.dtype, copy=True)
        if centers.shape != (self.n_clusters, X.shape[1]):
            raise ValueError(
                f"The shape of the initial centers {centers.shape} does not match "
                f"(n_clusters, n_features) = ({self.n_clusters}, {X.shape[1]})."
            )
        centers, zero = _normalize_rows(centers)
        if zero.any():
            raise ValueError(
                f"init contains {int(zero.sum())} row(s) of all zeros; an "
                "initial centre needs a direction on the unit sphere."
            )
        return centers

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Compute spherical k-means clustering.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training samples. Rows are normalised to unit length (on a copy;
            ``X`` is not modified); see the Notes about rows of all zeros.

        y : Ignored
            Not used, present for API consistency by convention.

        Returns
        -------
        self : object
            Fitted estimator.
        """
        X = validate_data(self, X, dtype=[np.float64, np.float32])
        X, zero = _normalize_rows(X)
        n_zero = int(zero.sum())
        self._check_params_vs_input(X, n_zero)
        if n_zero:
            warnings.warn(
                f"X contains {n_zero} row(s) of all zeros. They have no direction "
                "on the unit sphere: they do not move the centres, are assigned "
                "to cluster 0 and each add 1 to inertia_.",
                UserWarning,
                stacklevel=2,
            )
            X_dir = X[~zero]
        else:
            X_dir = X
        random_state = check_random_state(self.random_state)

        best = None
        for _ in range(self._n_init):
            centers = self._initial_centers(X_dir, random_state)
            run = _spherical_kmeans_single(X_dir, centers, self.max_iter, self.tol)
            if best is None or run[2] < best[2]:
                best = run
        centers, labels_dir, inertia, n_iter = best
        if n_zero:
            # Zero rows have cosine similarity 0 to every centre: the argmax
            # (as in predict) is the first cluster.
            labels = np.zeros(X.shape[0], dtype=labels_dir.dtype)
            labels[~zero] = labels_dir
            inertia += n_zero
        else:
            labels = labels_dir

        n_distinct = np.unique(labels_dir).size
        if n_distinct < self.n_clusters:
            warnings.warn(
                f"Number of distinct clusters ({n_distinct}) found smaller than "
                f"n_clusters ({self.n_clusters}). Possibly due to duplicate "
                "directions in X.",
                ConvergenceWarning,
                stacklevel=2,
            )

        self.cluster_centers_ = centers
        self.labels_ = labels.astype(np.int32, copy=False)
        self.inertia_ = inertia
        self.n_iter_ = n_iter
        return self

    def fit_predict(self, X, y=None):
        """Compute the clustering and return the cluster of each sample.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training samples.

        y : Ignored
            Not used, present for API consistency by convention.

        Returns
        -------
        labels : ndarray of shape (n_samples,)
            Index of the cluster of each sample.
        """
        return self.fit(X).labels_

    def _check_test_data(self, X):
        check_is_fitted(self)
        X = validate_data(self, X, dtype=[np.float64, np.float32], reset=False)
        return _normalize_rows(X)[0]

    def predict(self, X):
        """Return the cluster of highest cosine similarity for each sample.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            New data.

        Returns
        -------
        labels : ndarray of shape (n_samples,)
            Index of the cluster of each sample.
        """
        X = self._check_test_data(X)
        labels, _ = _assign(X, self.cluster_centers_.astype(X.dtype, copy=False))
        return labels.astype(np.int32, copy=False)

    def transform(self, X):
        """Transform X to cosine distances ``1 - cos`` to each centre.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            New data.

        Returns
        -------
        X_new : ndarray of shape (n_samples, n_clusters)
            Cosine distance of each sample to each centre, in ``[0, 2]``.
        """
        X = self._check_test_data(X)
        distances = 1.0 - X @ self.cluster_centers_.astype(X.dtype, copy=False).T
        return np.clip(distances, 0.0, 2.0, out=distances)

    def fit_transform(self, X, y=None):
        """Compute the clustering and transform X to cosine distances.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training samples.

        y : Ignored
            Not used, present for API consistency by convention.

        Returns
        -------
        X_new : ndarray of shape (n_samples, n_clusters)
            Cosine distance of each sample to each centre, in ``[0, 2]``.
        """
        return self.fit(X).transform(X)

    def score(self, X, y=None):
        """Sum of the cosine similarities of the samples to their closest centre.

        Higher is better; for the training data it equals
        ``n_samples - inertia_``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            New data.

        y : Ignored
            Not used, present for API consistency by convention.

        Returns
        -------
        score : float
            Sum of the cosine similarities.
        """
        X = self._check_test_data(X)
        _, best = _assign(X, self.cluster_centers_.astype(X.dtype, copy=False))
        return float(best.sum(dtype=np.float64))

    @property
    def _n_features_out(self):
        """Number of transformed output features."""
        return self.cluster_centers_.shape[0]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags


def spherical_kmeans(
    X,
    n_clusters,
    *,
    init="k-means++",
    n_init=10,
    max_iter=300,
    tol=1e-4,
    random_state=None,
    return_n_iter=False,
):
    """Perform spherical k-means clustering (functional interface).

    Fits a :class:`SphericalKMeans` and returns its fitted attributes.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        Samples to cluster (see :class:`SphericalKMeans` about rows of zeros).

    n_clusters : int
        The number of clusters.

    init : {'k-means++', 'random'} or array-like of shape \
            (n_clusters, n_features), default='k-means++'
        Initialisation method, see :class:`SphericalKMeans`.

    n_init : int, default=10
        Number of runs with different seeds; the best one is kept.

    max_iter : int, default=300
        Maximum number of iterations in one run.

    tol : float, default=1e-4
        Convergence tolerance on the squared displacement of the centres.

    random_state : int, RandomState instance or None, default=None
        Seeds the centre initialisation.

    return_n_iter : bool, default=False
        Whether to also return the number of iterations of the kept run.

    Returns
    -------
    centers : ndarray of shape (n_clusters, n_features)
        Unit-norm cluster centres.

    labels : ndarray of shape (n_samples,)
        Index of the cluster of each sample.

    inertia : float
        Sum of the cosine distances ``1 - cos`` of the samples to their centre.

    n_iter : int
        Number of iterations of the kept run; returned only if
        ``return_n_iter`` is True.

    Examples
    --------
    >>> import numpy as np
    >>> from skdec.cluster import spherical_kmeans
    >>> X = np.array([[1.0, 0.0], [3.0, 0.0], [0.0, 2.0], [0.0, 0.5]])
    >>> centers, labels, inertia = spherical_kmeans(X, 2, random_state=0)
    >>> bool(labels[0] == labels[1] != labels[2] == labels[3])
    True
    >>> round(inertia, 6)
    0.0
    """
    est = SphericalKMeans(
        n_clusters=n_clusters,
        init=init,
        n_init=n_init,
        max_iter=max_iter,
        tol=tol,
        random_state=random_state,
    ).fit(X)
    if return_n_iter:
        return est.cluster_centers_, est.labels_, est.inertia_, est.n_iter_
    return est.cluster_centers_, est.labels_, est.inertia_
