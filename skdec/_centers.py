"""Initial cluster centres in the embedding space."""

from __future__ import annotations

import warnings

import numpy as np
from joblib import Parallel, delayed
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score
from sklearn.mixture import GaussianMixture
from sklearn.neighbors import NearestNeighbors
from threadpoolctl import threadpool_limits

from .cluster import SphericalKMeans

INIT_STRATEGIES = ("umap", "kmeans", "spherical-kmeans", "gmm", "random")
UMAP_REQUIREMENT = ">=0.5.5,<0.6"  # as in pyproject.toml's dependencies


def _member_means(Z, labels, n_clusters, rng):
    centers = np.empty((n_clusters, Z.shape[1]), dtype=np.float64)
    for k in range(n_clusters):
        members = Z[labels == k]
        centers[k] = members.mean(axis=0) if len(members) else Z[rng.randint(len(Z))]
    return centers


def initial_clustering(Z, n_clusters, init, n_init, random_state, n_jobs=None):
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
        seed = _draw_seed(random_state)
        labels, target = _umap_gmm_partition(Z, n_clusters, n_init, seed, n_jobs)
        return _member_means(Z, labels, n_clusters, random_state), labels, target
    centers = initial_centers(Z, n_clusters, init, n_init, random_state)
    return centers, nearest_center(Z, centers), None


def start_partition(
    Zs, n_clusters, init, n_init, random_state, n_jobs=1, search_threads=None
):
    """The start of several pretraining runs: the consensus of their partitions.

    Each embedding in ``Zs`` (one per pretraining run) is partitioned by
    :func:`initial_clustering` with its own draws from ``random_state``. One
    embedding is returned as :func:`initial_clustering` has it. Several are
    combined by :func:`consensus_partition`; the run whose own labels agree
    best with the consensus (adjusted Rand index, no label involved) is the
    one to self-train, and its centres are the consensus clusters' means in
    its embedding. For ``'umap'`` the consensus posteriors are the target;
    the other strategies start from these centres alone (``target=None``, the
    labels their nearest centres).

    ``n_jobs`` processes partition the embeddings for ``'umap'`` (a seeded
    UMAP runs on one thread): each run's seed is drawn before any of them
    starts, and every partition runs on one thread, so the result is the
    same for every ``n_jobs``. One embedding's partition searches its
    neighbours on ``search_threads`` threads (the same neighbours for any
    number).

    Returns
    -------
    run : int
        Index in ``Zs`` of the run to self-train.
    centers, labels, target
        As :func:`initial_clustering`, in the embedding ``Zs[run]``.
    """
    if len(Zs) == 1:
        return 0, *initial_clustering(
            Zs[0], n_clusters, init, n_init, random_state, n_jobs=search_threads
        )
    if isinstance(init, str) and init == "umap":
        seeds = [_draw_seed(random_state) for _ in Zs]
        partition = delayed(_one_thread_partition)
        jobs = (
            partition(np.asarray(Z, np.float64), n_clusters, n_init, s)
            for Z, s in zip(Zs, seeds)
        )
        # one job runs in this process (joblib spawns no worker for it)
        n_jobs = max(1, min(n_jobs, len(Zs)))
        partitions = Parallel(n_jobs=n_jobs, backend="loky")(jobs)
    else:
        partitions = []
        for Z in Zs:
            _, labels, _ = initial_clustering(Z, n_clusters, init, n_init, random_state)
            partitions.append((labels, np.eye(n_clusters)[labels]))
    seed = _draw_seed(random_state)
    labels, posteriors = consensus_partition(partitions, n_clusters, seed)
    agreement = [adjusted_rand_score(labels, own) for own, _ in partitions]
    run = int(np.argmax(agreement))
    Z = np.asarray(Zs[run], dtype=np.float64)
    centers = _member_means(Z, labels, n_clusters, random_state)
    if isinstance(init, str) and init == "umap":
        return run, centers, labels, posteriors
    return run, centers, nearest_center(Z, centers), None


def _draw_seed(random_state):
    """An int seed drawn from the RandomState ``random_state``."""
    return int(random_state.randint(np.iinfo(np.int32).max))


def consensus_partition(partitions, n_clusters, seed):
    """Consensus labels and posteriors of several partitions of one data set.

    The partitions' one-hot labels side by side are clustered by k-means (10
    restarts). A consensus cluster's centre holds, for each partition, the
    share of its members in each of that partition's clusters; a sample's
    posterior for the consensus cluster is the mean over the partitions of
    that share for the sample's own cluster (weighted by the partition's
    posteriors), normalised over the clusters. Its most probable cluster is
    the k-means label but for the rare sample between two clusters.

    Matching each partition to the consensus one to one and averaging the
    matched posteriors instead loses whole clusters when the partitions split
    or merge different ones: on sklearn digits that majority vote lost 0.026
    ACC against the k-means consensus (docs/benchmarks.rst).

    Parameters
    ----------
    partitions : list of (labels, posteriors)
        Each partition's labels, shape ``(n_samples,)``, and posterior
        probabilities, shape ``(n_samples, n_clusters)`` (one-hot labels for
        a hard partition), in its own order of clusters.
    n_clusters : int
    seed : int
        Seed of the k-means.

    Returns
    -------
    labels : ndarray of int64, shape (n_samples,)
        The most probable cluster of each sample under ``posteriors``.
    posteriors : ndarray of float64, shape (n_samples, n_clusters)

    Examples
    --------
    >>> import numpy as np
    >>> from skdec._centers import consensus_partition
    >>> a, b = np.array([0, 0, 1, 1, 2, 2]), np.array([2, 2, 0, 0, 1, 1])
    >>> labels, _ = consensus_partition(
    ...     [(a, np.eye(3)[a]), (b, np.eye(3)[b])], 3, seed=0)
    >>> len(set(zip(labels, a)))  # the same partition up to a permutation
    3
    """
    one_hot = np.hstack([np.eye(n_clusters)[labels] for labels, _ in partitions])
    kmeans = KMeans(n_clusters, n_init=10, random_state=seed).fit(one_hot)
    soft = np.hstack([np.asarray(proba, dtype=np.float64) for _, proba in partitions])
    # k-means's centres (shares in [0, 1]) may come out of its updates a
    # rounding error below zero; a negative target is a NaN KL divergence
    shares = np.clip(kmeans.cluster_centers_, 0.0, 1.0)
    posteriors = soft @ shares.T
    total = posteriors.sum(axis=1, keepdims=True)
    # a sample whose clusters no consensus cluster holds: the k-means label
    lost = total[:, 0] <= 0
    posteriors[lost] = np.eye(n_clusters)[kmeans.labels_[lost]]
    posteriors /= np.where(lost[:, None], 1.0, total)
    return posteriors.argmax(axis=1), posteriors


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


def _umap_gmm_partition(Z, n_clusters, n_init, seed, n_jobs=None):
    """Labels and posteriors of a Gaussian mixture on a UMAP projection of
    ``Z`` (N2D's manifold step: 20 neighbours, ``min_dist=0``), both seeded by
    the int ``seed``.

    UMAP is given the exact nearest neighbours (scikit-learn's search on
    ``n_jobs`` threads; the same neighbours for any number) instead of its own
    search: a seeded UMAP searches on one thread, approximately above 4,096
    rows (nearest-neighbour descent, with its numba compilation), and by a
    Python callable for every pair of points below.
    """
    try:
        import umap
    except ImportError as exc:  # a dependency of skdec: a broken installation
        raise ImportError(
            "init='umap' needs umap-learn, a dependency of skdec that could not "
            f"be imported ({exc}); reinstall it with: pip install 'umap-learn"
            f"{UMAP_REQUIREMENT}', or choose another init such as 'kmeans'."
        ) from exc
    n_neighbors = min(20, len(Z) - 1)
    search = NearestNeighbors(n_neighbors=n_neighbors, n_jobs=n_jobs).fit(Z)
    distances, indices = search.kneighbors(Z)  # each row among its own, as UMAP's
    with warnings.catch_warnings():
        # a seeded UMAP runs on one thread and says so at every call; given
        # neighbours, it says it can transform no new data (not asked of it)
        for message in ("n_jobs value", "precomputed_knn"):
            warnings.filterwarnings("ignore", message=message, category=UserWarning)
        projection = umap.UMAP(
            # spectral initialisation needs fewer dimensions than samples - 1
            n_components=max(1, min(n_clusters, Z.shape[1], len(Z) - 2)),
            n_neighbors=n_neighbors,
            min_dist=0.0,
            precomputed_knn=(indices, distances, None),
            random_state=seed,
        ).fit_transform(Z)
    gmm = GaussianMixture(n_clusters, n_init=n_init, random_state=seed)
    labels = gmm.fit_predict(projection)
    return labels, gmm.predict_proba(projection)


def _one_thread_partition(*args):
    """:func:`_umap_gmm_partition` on one BLAS thread: what a worker process
    computes, computed alike in this process."""
    with threadpool_limits(1):
        return _umap_gmm_partition(*args, n_jobs=1)
