"""Initial cluster centres in the embedding space."""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.cluster import KMeans
from sklearn.mixture import GaussianMixture

from .cluster import SphericalKMeans

INIT_STRATEGIES = ("umap", "kmeans", "spherical-kmeans", "gmm", "random")
UMAP_REQUIREMENT = ">=0.5.5,<0.6"  # as in pyproject.toml's dependencies


def _member_means(Z, labels, n_clusters, rng):
    centers = np.empty((n_clusters, Z.shape[1]), dtype=np.float64)
    for k in range(n_clusters):
        members = Z[labels == k]
        centers[k] = members.mean(axis=0) if len(members) else Z[rng.randint(len(Z))]
    return centers


def initial_clustering(Z, n_clusters, init, n_init, random_state):
    """Initial centres, labels and (for ``'umap'``) target of the embedding ``Z``.

    ``'umap'`` returns the Gaussian mixture's partition itself: its labels and
    its posterior probabilities, which DEC's self-training takes as its first
    target distribution. Its clusters need not be convex in ``Z``, so the
    nearest centre (their member means) would reassign many samples. Every
    other strategy returns ``target=None`` and the nearest-centre labels.

    Returns
    -------
    centers : ndarray of float64, shape (n_clusters, n_components)
    labels : ndarray of int64, shape (n_samples,)
    target : ndarray of float64, shape (n_samples, n_clusters), or None
    """
    Z = np.asarray(Z, dtype=np.float64)
    if isinstance(init, str) and init == "umap":
        labels, target = _umap_gmm_partition(Z, n_clusters, n_init, random_state)
        return _member_means(Z, labels, n_clusters, random_state), labels, target
    centers = initial_centers(Z, n_clusters, init, n_init, random_state)
    return centers, nearest_center(Z, centers), None


def nearest_center(Z, centers):
    """Index of the nearest centre (squared Euclidean distance) of each row."""
    sq = (Z**2).sum(1)[:, None] - 2 * Z @ centers.T + (centers**2).sum(1)[None, :]
    return sq.argmin(axis=1)


def initial_centers(Z, n_clusters, init, n_init, random_state):
    """Centres of shape ``(n_clusters, n_components)`` for the embedding ``Z``.

    Parameters
    ----------
    Z : ndarray of shape (n_samples, n_components)
    n_clusters : int
    init : {'kmeans', 'spherical-kmeans', 'gmm', 'random'} or ndarray
        ``'kmeans'``: k-means centres (``n_init`` restarts, best inertia);
        ``'spherical-kmeans'``: means of the clusters found by k-means on the
        unit sphere (cosine similarity); ``'gmm'``: means of a full-covariance
        Gaussian mixture (``n_init`` restarts); ``'random'``: the embeddings of
        ``n_clusters`` distinct random samples; an array is used as given.
        (``'umap'`` is a partition, not centres: :func:`initial_clustering`.)
    n_init : int
    random_state : RandomState

    Returns
    -------
    centers : ndarray of float64
    """
    Z = np.asarray(Z, dtype=np.float64)
    if not isinstance(init, str):
        return np.array(init, dtype=np.float64, copy=True)
    if init == "kmeans":
        km = KMeans(n_clusters, n_init=n_init, random_state=random_state).fit(Z)
        return km.cluster_centers_
    if init == "spherical-kmeans":
        skm = SphericalKMeans(n_clusters, n_init=n_init, random_state=random_state)
        labels = skm.fit_predict(Z)
        return _member_means(Z, labels, n_clusters, random_state)
    if init == "gmm":
        gmm = GaussianMixture(
            n_clusters, n_init=n_init, random_state=random_state, reg_covar=1e-4
        ).fit(Z)
        return gmm.means_
    if init == "random":
        return Z[random_state.choice(len(Z), n_clusters, replace=False)].copy()
    raise ValueError(f"Unknown init {init!r}; expected one of {INIT_STRATEGIES}.")


def _umap_gmm_partition(Z, n_clusters, n_init, random_state):
    """Labels and posteriors of a Gaussian mixture on a UMAP projection of
    ``Z`` (N2D's manifold step: 20 neighbours, ``min_dist=0``)."""
    try:
        import umap
    except ImportError as exc:  # a dependency of skdec: a broken installation
        raise ImportError(
            "init='umap' needs umap-learn, a dependency of skdec that could not "
            f"be imported ({exc}); reinstall it with: pip install 'umap-learn"
            f"{UMAP_REQUIREMENT}', or choose another init such as 'kmeans'."
        ) from exc
    seed = int(random_state.randint(np.iinfo(np.int32).max))
    with warnings.catch_warnings():
        # a seeded UMAP runs on one thread and says so at every call
        warnings.filterwarnings("ignore", message="n_jobs value", category=UserWarning)
        projection = umap.UMAP(
            # spectral initialisation needs fewer dimensions than samples - 1
            n_components=max(1, min(n_clusters, Z.shape[1], len(Z) - 2)),
            n_neighbors=min(20, len(Z) - 1),
            min_dist=0.0,
            random_state=seed,
        ).fit_transform(Z)
    gmm = GaussianMixture(n_clusters, n_init=n_init, random_state=seed)
    labels = gmm.fit_predict(projection)
    return labels, gmm.predict_proba(projection)
