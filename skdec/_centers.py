"""Initial cluster centres in the embedding space."""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.cluster import KMeans
from sklearn.mixture import GaussianMixture

from .cluster import SphericalKMeans

INIT_STRATEGIES = ("kmeans", "spherical-kmeans", "gmm", "random", "umap")


def _member_means(Z, labels, n_clusters, rng):
    centers = np.empty((n_clusters, Z.shape[1]), dtype=np.float64)
    for k in range(n_clusters):
        members = Z[labels == k]
        centers[k] = members.mean(axis=0) if len(members) else Z[rng.randint(len(Z))]
    return centers


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
        ``n_clusters`` distinct random samples; ``'umap'``: a Gaussian mixture
        on a UMAP projection of the embedding (N2D, McConville et al. 2020),
        the centres being the means of its clusters in the embedding (needs
        the optional dependency ``umap-learn``: ``pip install 'skdec[umap]'``);
        an array is used as given.
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
    if init == "umap":
        labels = _umap_gmm_labels(Z, n_clusters, n_init, random_state)
        return _member_means(Z, labels, n_clusters, random_state)
    raise ValueError(f"Unknown init {init!r}; expected one of {INIT_STRATEGIES}.")


def _umap_gmm_labels(Z, n_clusters, n_init, random_state):
    try:
        import umap
    except ImportError as exc:
        raise ImportError(
            "init='umap' needs the optional dependency umap-learn; install it "
            "with: pip install 'skdec[umap]'"
        ) from exc
    seed = int(random_state.randint(np.iinfo(np.int32).max))
    with warnings.catch_warnings():
        # a seeded UMAP runs on one thread and says so at every call
        warnings.filterwarnings("ignore", message="n_jobs value", category=UserWarning)
        projection = umap.UMAP(
            n_components=min(n_clusters, Z.shape[1]),
            n_neighbors=min(20, len(Z) - 1),
            min_dist=0.0,
            random_state=seed,
        ).fit_transform(Z)
    gmm = GaussianMixture(n_clusters, n_init=n_init, random_state=seed)
    return gmm.fit_predict(projection)
