"""Cluster surgery on a fitted DECClusterer: dissolve, split, merge, refine."""

from __future__ import annotations

import math
from copy import deepcopy
from numbers import Integral

import numpy as np
import torch
from sklearn.cluster import KMeans
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted, column_or_1d

from ._dec import DECClusterer, install_clustering, self_train
from ._unlabelled import unlabelled_mask
from ._validation import validate_rows
from .net import embed, interruptible, predict_batched
from .net._device import seeded
from .nn import ClusteringLayer

__all__ = ["dissolve_cluster", "merge_clusters"]

STRATEGIES = ("delete", "reinit", "split")

#: Fraction of the worst-fitting samples among which ``'reinit'`` draws a centre.
REINIT_FRACTION = 0.05

_COMMON_PARAMS = """\
    refine_iter : int or None, default=None
        Iterations (mini-batches) of DEC self-training run after the surgery,
        with the model's ``lr``, ``optimizer``, ``batch_size``,
        ``update_interval`` and ``tol``; ``None`` means
        ``3 * model.update_interval`` and 0 skips the refinement.
    random_state : int, RandomState instance or None, default=None
        Seeds the choices of the surgery and torch during the refinement
        (the global torch generator is left untouched).
    copy : bool, default=True
        Operate on a deep copy of ``model`` (left untouched); with False the
        model is modified in place and returned. A refinement stopped by
        Ctrl-C raises KeyboardInterrupt and leaves ``model`` as it was.
    return_report : bool, default=False
        Also return a dict describing the surgery (see Returns)."""

_COMMON_RETURNS = """\
    model : DECClusterer
        The fitted model after surgery (and refinement): ``n_clusters_``,
        ``module_``, ``dec_net_``, ``cluster_centers_``, ``labels_`` (the
        clusters of ``X``), ``n_iter_``, ``history_`` and ``converged_`` are
        updated.
    report : dict
        Only with ``return_report=True``. Keys: ``'operation'``,
        ``'clusters'`` (the old ids operated on), ``'n_clusters_before'``,
        ``'n_clusters_after'``, ``'label_map'`` (new id of each old cluster,
        -1 for a deleted one), ``'labels_before'``, ``'labels_surgery'``
        (right after surgery, before refinement), ``'labels_after'`` (after
        refinement), ``'stability_surgery'`` and ``'stability'``: the
        fraction of the samples of ``X`` outside the operated clusters whose
        cluster (mapped through ``label_map``) is unchanged right after the
        surgery and after the refinement."""


# --------------------------------------------------------------------- checks
def _check_model(model):
    if not isinstance(model, DECClusterer):
        raise TypeError(
            f"model must be a fitted DECClusterer, got {type(model).__name__}."
        )
    check_is_fitted(model)


def _check_cluster_id(cluster, n_clusters, name="cluster"):
    if isinstance(cluster, bool | np.bool_) or not isinstance(cluster, Integral):
        raise TypeError(f"{name} must be an integer cluster id, got {cluster!r}.")
    if not 0 <= cluster < n_clusters:
        raise ValueError(
            f"{name}={cluster} does not exist: the model has {n_clusters} "
            f"cluster(s), with ids 0 to {n_clusters - 1}."
        )
    return int(cluster)


def _check_refine_iter(refine_iter, model):
    if refine_iter is None:
        return 3 * int(model.update_interval)
    if isinstance(refine_iter, bool) or not isinstance(refine_iter, Integral):
        raise TypeError(f"refine_iter must be an int or None, got {refine_iter!r}.")
    if refine_iter < 0:
        raise ValueError(f"refine_iter must be >= 0, got {refine_iter}.")
    return int(refine_iter)


# ------------------------------------------------------------------- geometry
def _embed(model, X):
    return embed(model.module_.encoder, X, device=model.device_).cpu()


def _assign(centers, Z, alpha):
    """Hard labels exactly as ``predict`` computes them for the centres (in
    its fixed-size batches)."""
    layer = ClusteringLayer(len(centers), Z.shape[1], alpha, torch.as_tensor(centers))
    return predict_batched(layer, Z).argmax(dim=1).numpy()


def _max_safe_step(anchor, target, Z, own_sq, margin=0.9):
    """Largest ``t`` in [0, 1] such that ``anchor + t * (target - anchor)`` is
    strictly farther from every row of ``Z`` than ``sqrt(own_sq)``.

    Assumes ``anchor`` itself is farther; the distance to the moving point is
    a convex quadratic in ``t``, so the safe set is an interval starting at 0,
    ended by the smallest positive root over the rows (times ``margin``).
    """
    v = target - anchor
    a = float(v @ v)
    if a == 0.0 or len(Z) == 0:
        return 1.0
    w = Z - anchor
    b = w @ v
    c = (w * w).sum(axis=1) - own_sq
    disc = b * b - a * c
    hit = (b > 0) & (disc >= 0)
    if not hit.any():
        return 1.0
    roots = (b[hit] - np.sqrt(disc[hit])) / a
    return float(min(1.0, margin * max(roots.min(), 0.0)))


def _place_without_stealing(centers, slots, anchors, targets, Z, labels, alpha):
    """Put ``centers[slots[i]]`` on the segment ``anchors[i] -> targets[i]``,
    as far towards the target as possible while every protected sample (label
    not in ``slots``, ``labels`` given in the new ids) keeps its label.

    The closed-form step is checked with the exact float32 assignment and
    halved for any centre that still captures a protected sample. With several
    slots, the steps of the slots holding samples are then halved while another
    slot holds none (moving back towards the anchor never captures a protected
    sample), so that, where this succeeds, every new centre gets members.
    """
    Z64 = Z.numpy().astype(np.float64)
    protected = ~np.isin(labels, slots)
    Zp = Z64[protected]
    own_sq = ((Zp - centers[labels[protected]]) ** 2).sum(axis=1)
    steps = [
        _max_safe_step(a, t, Zp, own_sq) for a, t in zip(anchors, targets, strict=True)
    ]
    safe = None
    for _ in range(60):
        for slot, a, t, s in zip(slots, anchors, targets, steps, strict=True):
            centers[slot] = a + s * (t - a)
        new = _assign(centers, Z, alpha)
        stolen = protected & (new != labels)
        if stolen.any():
            for i, slot in enumerate(slots):
                if (new[stolen] == slot).any():
                    steps[i] *= 0.5
            continue
        safe = centers.copy()
        counts = np.array([np.sum(new == slot) for slot in slots])
        if len(slots) == 1 or (counts > 0).all() or not counts.any():
            return centers
        steps = [s * 0.5 if n > 0 else s for s, n in zip(steps, counts, strict=True)]
    if safe is not None:
        return safe
    for slot, a in zip(slots, anchors, strict=True):
        centers[slot] = a
    return centers


def _split_targets(Zm, y_members, rng):
    """Two child centres for the members' embeddings ``Zm``, largest first."""
    if y_members is not None:
        known = y_members[~unlabelled_mask(y_members)]
        classes, counts = np.unique(known, return_counts=True)
        if len(classes) >= 2:
            top = classes[np.argsort(-counts, kind="stable")[:2]]
            return np.stack([Zm[y_members == c].mean(axis=0) for c in top]), "labels"
    if len(np.unique(Zm, axis=0)) < 2:
        raise ValueError(
            "Cannot split a cluster whose members all have the same embedding."
        )
    km = KMeans(2, n_init=10, random_state=rng).fit(Zm)
    counts = np.bincount(km.labels_, minlength=2)
    return km.cluster_centers_[np.argsort(-counts, kind="stable")], "kmeans"


# ----------------------------------------------------------------- refinement
def _refine(model, X, centers, n_iter):
    """Install ``centers`` in a new clustering layer and self-train for
    ``n_iter`` iterations (with the model's augmentation); updates the
    model's fitted attributes."""
    old = model.module_
    net, callback = self_train(
        model, old.encoder, old.decoder, centers, X, n_iter, train=n_iter > 0
    )
    if n_iter > 0:
        offset = model.n_iter_
        model.history_ = list(model.history_) + [
            {**rec, "iteration": rec["iteration"] + offset} for rec in callback.updates_
        ]
        model.n_iter_ = offset + callback.iteration_
        model.converged_ = callback.converged_
        install_clustering(model, net, callback.labels_.cpu().numpy())
    else:
        install_clustering(model, net, None)
        model.labels_ = model.predict(X)


def _stability(before, after, label_map, operated):
    outside = ~np.isin(before, operated)
    if not outside.any():
        return 1.0
    return float(np.mean(after[outside] == label_map[before[outside]]))


def _finish(
    model,
    X,
    centers,
    labels_before,
    label_map,
    operated,
    refine_iter,
    seed,
    operation,
    return_report,
):
    labels_surgery = _assign(
        centers, _embed(model, X), model.module_.clustering_layer.alpha
    )
    n_before = model.n_clusters_
    # the refinement trains the model's encoder (and decoder) in place: when
    # it fails or is interrupted, their weights are put back (and, on an
    # interrupt, the model's attributes)
    old = model.module_
    shared = [m for m in (old.encoder, old.decoder) if m is not None]
    weights = [deepcopy(m.state_dict()) for m in shared]
    try:
        with seeded(seed, model.device_), interruptible(model):
            _refine(model, X, centers, refine_iter)
    except BaseException:
        for module, state in zip(shared, weights, strict=True):
            module.load_state_dict(state)
        raise
    if not return_report:
        return model
    operated = np.asarray(operated)
    report = {
        "operation": operation,
        "clusters": tuple(int(c) for c in operated),
        "n_clusters_before": n_before,
        "n_clusters_after": model.n_clusters_,
        "label_map": label_map,
        "labels_before": labels_before,
        "labels_surgery": labels_surgery,
        "labels_after": model.labels_,
        "stability_surgery": _stability(
            labels_before, labels_surgery, label_map, operated
        ),
        "stability": _stability(labels_before, model.labels_, label_map, operated),
    }
    return model, report


def _prepare(model, X, copy, random_state):
    _check_model(model)
    # as the model's fit read X: rows on disk batch by batch, uint8 / 255
    X = validate_rows(model, X, reset=False)
    if copy:
        model = deepcopy(model)
    rng = check_random_state(random_state)
    return model, X, rng


# ---------------------------------------------------------------- public API
def _fill_doc(func):
    # the placeholders stand indented in the docstrings: drop the fragments'
    # own first indentation so that every line lands at the same depth
    func.__doc__ = func.__doc__.replace(
        "{common_params}", _COMMON_PARAMS.lstrip()
    ).replace("{common_returns}", _COMMON_RETURNS.lstrip())
    return func


@_fill_doc
def dissolve_cluster(
    model,
    cluster,
    strategy="delete",
    X=None,
    *,
    y=None,
    refine_iter=None,
    random_state=None,
    copy=True,
    return_report=False,
):
    """Dissolve one cluster of a fitted DECClusterer: delete, re-initialise or split it.

    The clusters of ``X`` before surgery are ``model.predict(X)``; "members"
    are the samples of ``X`` in ``cluster``. The surgery edits the centres,
    then DEC self-training continues for ``refine_iter`` iterations on ``X``
    (encoder and centres, as in :meth:`DECClusterer.fit`), so that the other
    clusters stay stable while the model adapts.

    - ``'delete'``: the centre is removed, each member goes to its next-best
      cluster and the ids above ``cluster`` shift down by one; ``n_clusters_``
      drops by one. Before refinement no other sample changes cluster.
    - ``'reinit'``: the centre moves to the embedding of a sample drawn at
      random among the ``5 %`` (at least one) of ``X`` that the *other*
      centres fit worst (lowest largest soft assignment); ``n_clusters_`` and
      the ids stay. The new centre may capture samples of other clusters.
    - ``'split'``: the members are split in two, by 2-means on their
      embeddings or, when at least two labelled classes occur among them
      (``y``, -1 for unlabelled), by the means of the members of the two
      most frequent labelled classes. The larger child keeps id ``cluster``,
      the other gets the new id ``n_clusters_``; ``n_clusters_`` grows by one.
      Each child centre is moved from the old centre towards its target only
      as far as it captures no sample of another cluster (closed form,
      checked with the exact assignment and halved if needed), so before
      refinement every non-member keeps its cluster; the members are shared
      among the children (and possibly their next-best clusters). While one
      child gets no member, the other is moved back towards the old centre.

    Parameters
    ----------
    model : DECClusterer
        A fitted model.
    cluster : int
        Id of the cluster to dissolve.
    strategy : {'delete', 'reinit', 'split'}, default='delete'
    X : array-like of shape (n_samples, n_features)
        Data defining the members and used for the refinement, usually the
        training data.
    y : array-like of shape (n_samples,), default=None
        Integer class labels, -1 for unlabelled samples; used by ``'split'``
        only.
    {common_params}

    Returns
    -------
    {common_returns}

    Raises
    ------
    ValueError
        For a cluster id that does not exist, deleting or re-initialising the
        only cluster, splitting a cluster with fewer than two members.
    sklearn.exceptions.NotFittedError
        When ``model`` is not fitted.

    See Also
    --------
    merge_clusters : The inverse of ``'split'``.

    Examples
    --------
    >>> from sklearn.datasets import make_blobs
    >>> from skdec import DECClusterer, MLPAutoencoder, dissolve_cluster
    >>> X, _ = make_blobs(200, n_features=5, centers=3, random_state=0)
    >>> ae = MLPAutoencoder(hidden_dims=(32,), n_components=2, epochs=20)
    >>> dec = DECClusterer(3, autoencoder=ae, max_iter=100, random_state=0).fit(X)
    >>> split, report = dissolve_cluster(dec, 0, "split", X, refine_iter=20,
    ...                                  random_state=0, return_report=True)
    >>> dec.n_clusters_, split.n_clusters_, report["stability_surgery"]
    (3, 4, 1.0)
    >>> deleted = dissolve_cluster(dec, 0, "delete", X, refine_iter=0)
    >>> deleted.n_clusters_, int(deleted.predict(X).max())
    (2, 1)
    """
    _check_model(model)
    if not isinstance(strategy, str) or strategy not in STRATEGIES:
        raise ValueError(f"strategy must be one of {STRATEGIES}, got {strategy!r}.")
    if X is None:
        raise ValueError(
            "dissolve_cluster needs the data X that defines the clusters' members."
        )
    k = int(model.n_clusters_)
    cluster = _check_cluster_id(cluster, k)
    if k == 1 and strategy != "split":
        raise ValueError(
            f"Cannot {strategy} cluster {cluster}: it is the last remaining "
            "cluster; split it or refit the model."
        )
    refine_iter = _check_refine_iter(refine_iter, model)
    model, X, rng = _prepare(model, X, copy, random_state)
    if y is not None:
        y = column_or_1d(y)
        if len(y) != len(X):
            raise ValueError(f"y has {len(y)} samples but X has {len(X)}.")
        if not np.issubdtype(y.dtype, np.integer):
            raise TypeError(
                f"y must hold integer class labels (-1 for unlabelled), got "
                f"dtype {y.dtype}."
            )

    Z = _embed(model, X)
    alpha = model.module_.clustering_layer.alpha
    old_centers = model.cluster_centers_.astype(np.float64)
    labels = _assign(old_centers, Z, alpha)
    members = labels == cluster
    label_map = np.arange(k)

    if strategy == "delete":
        centers = np.delete(old_centers, cluster, axis=0)
        label_map = np.where(label_map > cluster, label_map - 1, label_map)
        label_map[cluster] = -1
    elif strategy == "reinit":
        rest = np.delete(old_centers, cluster, axis=0)
        layer = ClusteringLayer(k - 1, Z.shape[1], alpha, torch.as_tensor(rest))
        with torch.no_grad():
            fit = layer(Z).max(dim=1).values.numpy()
        n_cand = max(1, math.ceil(REINIT_FRACTION * len(X)))
        candidates = np.argsort(fit, kind="stable")[:n_cand]
        centers = old_centers.copy()
        centers[cluster] = Z[rng.choice(candidates)].numpy()
    else:
        if members.sum() < 2:
            raise ValueError(
                f"Cannot split cluster {cluster}: it has {int(members.sum())} "
                "member(s) in X; at least 2 are needed."
            )
        Zm = Z[members].numpy().astype(np.float64)
        targets, _ = _split_targets(Zm, None if y is None else y[members], rng)
        centers = np.vstack([old_centers, old_centers[cluster]])
        parent = old_centers[cluster]
        centers = _place_without_stealing(
            centers, [cluster, k], [parent, parent], targets, Z, labels, alpha
        )
    seed = int(rng.randint(np.iinfo(np.int32).max))
    return _finish(
        model,
        X,
        centers,
        labels,
        label_map,
        [cluster],
        refine_iter,
        seed,
        strategy,
        return_report,
    )


@_fill_doc
def merge_clusters(
    model,
    clusters,
    X=None,
    *,
    refine_iter=None,
    random_state=None,
    copy=True,
    return_report=False,
):
    """Merge several clusters of a fitted DECClusterer into one.

    The merged cluster takes the smallest of the ids; the other ids are
    renumbered in order to stay contiguous, and ``n_clusters_`` drops by
    ``len(clusters) - 1``. Its centre is the mean embedding of the merged
    clusters' members in ``X``, moved towards the centre of the largest of
    them only as far as needed to capture no sample of another cluster: before
    refinement every sample outside the merged clusters keeps its cluster
    (members of the merged clusters may go to a next-best cluster when they lie
    far from the new centre). DEC self-training then continues for
    ``refine_iter`` iterations.

    Parameters
    ----------
    model : DECClusterer
        A fitted model.
    clusters : array-like of int
        At least two distinct cluster ids.
    X : array-like of shape (n_samples, n_features)
        Data defining the members and used for the refinement.
    {common_params}

    Returns
    -------
    {common_returns}

    See Also
    --------
    dissolve_cluster : Delete, re-initialise or split one cluster.

    Examples
    --------
    >>> from sklearn.datasets import make_blobs
    >>> from skdec import DECClusterer, MLPAutoencoder, merge_clusters
    >>> X, _ = make_blobs(200, n_features=5, centers=3, random_state=0)
    >>> ae = MLPAutoencoder(hidden_dims=(32,), n_components=2, epochs=20)
    >>> dec = DECClusterer(3, autoencoder=ae, max_iter=100, random_state=0).fit(X)
    >>> merged, report = merge_clusters(dec, [0, 2], X, refine_iter=0,
    ...                                 return_report=True)
    >>> merged.n_clusters_, report["label_map"].tolist(), report["stability"]
    (2, [0, 1, 0], 1.0)
    """
    _check_model(model)
    if X is None:
        raise ValueError(
            "merge_clusters needs the data X that defines the clusters' members."
        )
    k = int(model.n_clusters_)
    ids = np.asarray(clusters, dtype=object).ravel()
    if len(ids) < 2:
        raise ValueError(
            f"clusters must hold at least two cluster ids, got {clusters!r}."
        )
    ids = np.array([_check_cluster_id(c, k, "clusters") for c in ids])
    if len(np.unique(ids)) != len(ids):
        raise ValueError(f"clusters must be distinct, got {ids.tolist()}.")
    refine_iter = _check_refine_iter(refine_iter, model)
    model, X, rng = _prepare(model, X, copy, random_state)

    Z = _embed(model, X)
    alpha = model.module_.clustering_layer.alpha
    old_centers = model.cluster_centers_.astype(np.float64)
    labels = _assign(old_centers, Z, alpha)
    keep = min(ids)
    dropped = np.setdiff1d(ids, [keep])
    label_map = np.arange(k)
    label_map[ids] = keep
    shift = np.searchsorted(dropped, np.arange(k))
    label_map = label_map - shift[label_map]

    counts = np.bincount(labels, minlength=k)[ids]
    anchor = old_centers[ids[np.argmax(counts)]]
    merged = np.isin(labels, ids)
    Z64 = Z.numpy().astype(np.float64)
    target = Z64[merged].mean(axis=0) if merged.any() else anchor
    centers = np.delete(old_centers, dropped, axis=0)
    new_labels = label_map[labels]
    centers = _place_without_stealing(
        centers, [label_map[keep]], [anchor], [target], Z, new_labels, alpha
    )
    seed = int(rng.randint(np.iinfo(np.int32).max))
    return _finish(
        model,
        X,
        centers,
        labels,
        label_map,
        ids,
        refine_iter,
        seed,
        "merge",
        return_report,
    )
