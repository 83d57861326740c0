"""Mapping clusters to labels from a few labelled subjects.

A citizen-science team clusters its subjects, volunteers label a few of them,
and :class:`ClusterLabelMapper` turns those few labels into a label for every
cluster, hence for every subject.
"""

from __future__ import annotations

from numbers import Integral

import numpy as np
from scipy.optimize import linear_sum_assignment
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import (
    _check_sample_weight,
    check_array,
    check_is_fitted,
    column_or_1d,
    validate_data,
)

from ._centers import nearest_center
from ._unlabelled import unlabelled_mask

__all__ = ["ClusterLabelMapper"]


def _as_python(value):
    """A numpy scalar as the matching Python scalar (for dict values)."""
    return value.item() if hasattr(value, "item") else value


class ClusterLabelMapper(ClassifierMixin, BaseEstimator):
    """Learn a cluster -> label mapping from a few labelled subjects.

    ``fit`` receives the cluster of every subject (a vector of cluster ids, or
    a matrix of soft assignments such as
    :meth:`skdec.DECClusterer.predict_proba`) and a label per subject, with
    unlabelled subjects marked by ``unknown_label`` (-1, scikit-learn's
    semi-supervised convention). It learns a label distribution per cluster;
    ``predict`` then gives a label to every subject from its cluster.

    Strategies:

    - ``'majority'`` (many-to-one): each cluster takes the most frequent
      (weighted) label among its labelled members; several clusters may share
      a label. ``cluster_label_proba_`` holds each cluster's label frequencies.
    - ``'hungarian'`` (one-to-one): clusters and labels are matched so that the
      total weight of agreeing labelled subjects is largest (Hungarian
      algorithm); each label goes to at most one cluster and
      ``cluster_label_proba_`` rows are one-hot. A cluster left unmatched
      (more labelled clusters than labels, or a match supported by no labelled
      member) gets the fallback.
    - ``'probabilistic'``: each cluster's label distribution, where with soft
      assignments every labelled subject counts towards every cluster in
      proportion to its soft assignment. With soft assignments, ``predict_proba``
      mixes the clusters' distributions by the subject's soft assignment.
      This needs confident soft assignments: with flat ones (a largest entry
      around 0.3, as DEC gives on digits after short training) every cluster's
      distribution drifts towards the overall label frequencies; pass cluster
      ids (``Q.argmax(axis=1)``) instead.

    A cluster is *labelled* when it is the hard cluster (largest soft
    assignment) of at least one labelled subject. A cluster that is not
    labelled (or, with ``'hungarian'``, unmatched) never gets an arbitrary
    label; it gets the ``fallback``:

    - ``'nearest'``: the label distribution and label of the nearest mapped
      cluster, by Euclidean distance between ``cluster_centers`` (for instance
      :attr:`skdec.DECClusterer.cluster_centers_`, centres in the embedding).
      ``cluster_centers`` is then required: ``fit`` raises a ``ValueError`` if
      some cluster needs the fallback and no centres were given.
    - ``'unknown'``: the label ``unknown_label`` and a uniform distribution.

    Parameters
    ----------
    strategy : {'majority', 'hungarian', 'probabilistic'}, default='majority'
        How clusters are mapped to labels (see above).
    fallback : {'nearest', 'unknown'}, default='nearest'
        What a cluster without labelled members gets (see above).
    unknown_label : int or str, default=-1
        Marks unlabelled subjects in ``fit``; predicted for the subjects of
        clusters mapped to no label with ``fallback='unknown'``.
    cluster_centers : array-like of shape (n_clusters, n_components), \
            default=None
        Cluster centres in the embedding, used by ``fallback='nearest'``.
    n_clusters : int, default=None
        Number of clusters when ``fit`` receives cluster ids; if None, it is
        the number of rows of ``cluster_centers``, or else the largest id
        plus one. Not used with soft assignments, whose number of columns is
        the number of clusters.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Sorted labels seen in ``fit``, without ``unknown_label``.
    n_clusters_ : int
        Number of clusters.
    mapping_ : dict
        ``{cluster id: label}`` for every cluster (``unknown_label`` for a
        cluster mapped to no label), with Python scalars.
    cluster_label_proba_ : ndarray of shape ``(n_clusters_, n_classes)``
        Label distribution of each cluster; rows sum to one.
    confidence_ : ndarray of shape ``(n_clusters_,)``
        Weighted share, among the cluster's labelled members, of those whose
        label is the cluster's mapped label (with ``'probabilistic'`` and soft
        assignments, the soft-weighted share); 0 for a cluster without
        labelled members or mapped to ``unknown_label``.
    n_labelled_ : ndarray of shape ``(n_clusters_,)``
        Number of labelled subjects whose (hard) cluster is this cluster.
    fallback_clusters_ : ndarray of int
        Clusters whose row and label come from the fallback.
    n_features_in_ : int
        Number of columns of the soft assignments; defined only when ``fit``
        received a 2-D matrix.

    See Also
    --------
    skdec.metrics.cluster_mapping : One-to-one matching against full labels.
    skdec.aggregate_votes : Labels and confidences from several volunteers.

    Examples
    --------
    >>> import numpy as np
    >>> from skdec import ClusterLabelMapper
    >>> clusters = np.array([0, 0, 0, 1, 1, 2, 2, 2])
    >>> labels = np.array([5, 5, -1, 7, -1, 5, 7, 5])
    >>> mapper = ClusterLabelMapper(fallback="unknown").fit(clusters, labels)
    >>> mapper.mapping_
    {0: 5, 1: 7, 2: 5}
    >>> mapper.predict([2, 1, 0]), mapper.confidence_.round(2)
    (array([5, 7, 5]), array([1.  , 1.  , 0.67]))

    A cluster without labelled members borrows the label of the nearest
    labelled cluster:

    >>> centers = np.array([[0.0, 0.0], [5.0, 5.0], [4.5, 5.0]])
    >>> mapper = ClusterLabelMapper(cluster_centers=centers)
    >>> mapper.fit([0, 0, 1, 2], [3, 3, 8, -1]).mapping_
    {0: 3, 1: 8, 2: 8}
    """

    _parameter_constraints: dict = {
        "strategy": [StrOptions({"majority", "hungarian", "probabilistic"})],
        "fallback": [StrOptions({"nearest", "unknown"})],
        "unknown_label": [Integral, str],
        "cluster_centers": ["array-like", None],
        "n_clusters": [Interval(Integral, 1, None, closed="left"), None],
    }

    def __init__(
        self,
        strategy="majority",
        *,
        fallback="nearest",
        unknown_label=-1,
        cluster_centers=None,
        n_clusters=None,
    ):
        self.strategy = strategy
        self.fallback = fallback
        self.unknown_label = unknown_label
        self.cluster_centers = cluster_centers
        self.n_clusters = n_clusters

    # ------------------------------------------------------------------ input
    def _check_ids(self, ids, n_clusters, where):
        """Validate a 1-D vector of cluster ids; return it as int64."""
        if ids.dtype.kind == "f":
            if not np.isfinite(ids).all():
                row = int(np.flatnonzero(~np.isfinite(ids))[0])
                raise ValueError(f"{where}: cluster id at row {row} is not finite.")
            bad = np.flatnonzero(ids != np.round(ids))
            if bad.size:
                raise ValueError(
                    f"{where}: a 1-D `clusters` must hold integer cluster ids; "
                    f"row {bad[0]} holds {ids[bad[0]]!r}. Reshape your data to a 2-D "
                    "(n_samples, n_clusters) matrix to pass soft assignments."
                )
        elif ids.dtype.kind not in "iub":
            raise TypeError(
                f"{where}: a 1-D `clusters` must hold integer cluster ids, got "
                f"dtype {ids.dtype}."
            )
        ids = ids.astype(np.int64)
        bad = np.flatnonzero((ids < 0) | (ids >= n_clusters if n_clusters else False))
        if bad.size:
            raise ValueError(
                f"{where}: cluster id {ids[bad[0]]} at row {bad[0]} is outside "
                f"[0, {n_clusters}) ({bad.size} such row(s))."
                if n_clusters
                else f"{where}: cluster id {ids[bad[0]]} at row {bad[0]} is negative."
            )
        return ids

    def _check_soft(self, Q):
        """Hard clusters and (for 'probabilistic') normalised weights of a 2-D Q."""
        hard = np.argmax(Q, axis=1)
        if self.strategy != "probabilistic":
            return hard, None
        if (Q < 0).any():
            row = int(np.flatnonzero((Q < 0).any(axis=1))[0])
            raise ValueError(
                "strategy='probabilistic' needs non-negative soft assignments; "
                f"row {row} has a negative entry."
            )
        totals = Q.sum(axis=1, keepdims=True)
        if (totals <= 0).any():
            row = int(np.flatnonzero(totals[:, 0] <= 0)[0])
            raise ValueError(
                f"Soft assignments of row {row} sum to zero; cannot weight it."
            )
        return hard, Q / totals

    def _resolve_centers(self):
        if self.cluster_centers is None:
            return None
        centers = check_array(
            self.cluster_centers, dtype=np.float64, input_name="cluster_centers"
        )
        return centers

    # -------------------------------------------------------------------- fit
    def fit(self, clusters, labels, sample_weight=None):
        """Learn each cluster's label distribution from the labelled subjects.

        Parameters
        ----------
        clusters : array-like of shape (n_samples,) or (n_samples, n_clusters)
            Cluster id of each subject, or its soft assignments (any
            per-cluster scores for 'majority' and 'hungarian', which use the
            largest; non-negative weights for 'probabilistic').
        labels : array-like of shape (n_samples,)
            Label of each subject; ``unknown_label`` marks unlabelled ones.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weight of each subject's label, for instance the
            confidence of aggregated volunteer votes
            (:func:`skdec.aggregate_votes`).

        Returns
        -------
        self : ClusterLabelMapper
            Fitted mapper.
        """
        self._validate_params()
        centers = self._resolve_centers()
        X = np.asarray(clusters) if not hasattr(clusters, "iloc") else clusters
        if getattr(X, "ndim", 2) == 1:
            X = check_array(
                clusters, ensure_2d=False, dtype=None, input_name="clusters"
            )
            if hasattr(self, "n_features_in_"):
                del self.n_features_in_
            n_clusters = self.n_clusters
            if centers is not None:
                if n_clusters is not None and n_clusters != centers.shape[0]:
                    raise ValueError(
                        f"n_clusters={n_clusters} but cluster_centers has "
                        f"{centers.shape[0]} rows."
                    )
                n_clusters = centers.shape[0]
            hard = self._check_ids(X, n_clusters, "fit")
            if n_clusters is None:
                n_clusters = int(hard.max()) + 1 if hard.size else 0
            weights = None
        else:
            X = validate_data(self, clusters, dtype=np.float64, ensure_min_samples=1)
            n_clusters = X.shape[1]
            if centers is not None and len(centers) != n_clusters:
                raise ValueError(
                    f"Soft assignments have {n_clusters} columns but "
                    f"cluster_centers has {len(centers)} rows."
                )
            hard, weights = self._check_soft(X)
        n_samples = X.shape[0]

        y = column_or_1d(labels, warn=True)
        if y.shape[0] != n_samples:
            raise ValueError(
                f"`labels` has {y.shape[0]} entries but `clusters` describes "
                f"{n_samples} subjects; give one label (or {self.unknown_label!r} "
                "for unlabelled) per subject."
            )
        sample_weight = _check_sample_weight(sample_weight, X, dtype=np.float64)
        if (sample_weight < 0).any():
            row = int(np.flatnonzero(sample_weight < 0)[0])
            raise ValueError(f"sample_weight is negative at row {row}.")

        labelled = ~unlabelled_mask(y, self.unknown_label)
        if not labelled.any():
            raise ValueError(
                f"No labelled subject: every label equals unknown_label="
                f"{self.unknown_label!r}. Label at least one subject."
            )
        check_classification_targets(y[labelled])
        self.classes_, y_idx = np.unique(y[labelled], return_inverse=True)
        n_classes = self.classes_.size
        self.n_clusters_ = int(n_clusters)
        w = sample_weight[labelled]
        hard_l = hard[labelled]

        self.n_labelled_ = np.bincount(hard_l, minlength=n_clusters).astype(np.int64)
        counts = np.zeros((n_clusters, n_classes))
        if weights is None:
            np.add.at(counts, (hard_l, y_idx), w)
        else:
            onehot = np.zeros((y_idx.size, n_classes))
            onehot[np.arange(y_idx.size), y_idx] = w
            counts = weights[labelled].T @ onehot
        self._fit_mapping(counts, centers)
        return self

    def _fit_mapping(self, counts, centers):
        n_clusters, n_classes = counts.shape
        has_members = (self.n_labelled_ > 0) & (counts.sum(axis=1) > 0)
        label_idx = np.full(n_clusters, -1)
        proba = np.zeros((n_clusters, n_classes))
        if self.strategy == "hungarian":
            rows = np.flatnonzero(has_members)
            r, c = linear_sum_assignment(counts[rows], maximize=True)
            keep = counts[rows[r], c] > 0
            label_idx[rows[r[keep]]] = c[keep]
            mapped = label_idx >= 0
            proba[mapped, label_idx[mapped]] = 1.0
        else:
            mapped = has_members
            totals = counts[mapped].sum(axis=1, keepdims=True)
            proba[mapped] = counts[mapped] / totals
            label_idx[mapped] = np.argmax(counts[mapped], axis=1)

        fallback = np.flatnonzero(~mapped)
        if fallback.size and self.fallback == "nearest":
            if centers is None:
                raise ValueError(
                    f"Cluster(s) {fallback.tolist()} have no mapped label and "
                    "fallback='nearest' needs `cluster_centers` (for instance "
                    "DECClusterer.cluster_centers_) to find the nearest mapped "
                    "cluster; pass them, or use fallback='unknown'."
                )
            src = np.flatnonzero(mapped)
            nearest = src[nearest_center(centers[fallback], centers[src])]
            proba[fallback] = proba[nearest]
            label_idx[fallback] = label_idx[nearest]
        elif fallback.size:
            proba[fallback] = 1.0 / n_classes

        totals = counts.sum(axis=1)
        share = np.zeros(n_clusters)
        ok = (label_idx >= 0) & (totals > 0)
        share[ok] = counts[ok, label_idx[ok]] / totals[ok]
        self.confidence_ = share
        self.cluster_label_proba_ = proba
        self.fallback_clusters_ = fallback
        self._label_idx = label_idx
        self.mapping_ = {
            k: (
                _as_python(self.classes_[i])
                if i >= 0
                else _as_python(self.unknown_label)
            )
            for k, i in enumerate(label_idx.tolist())
        }

    # ---------------------------------------------------------------- predict
    def _check_test(self, clusters):
        """Hard clusters and normalised soft weights (or None) of test input."""
        check_is_fitted(self)
        X = np.asarray(clusters) if not hasattr(clusters, "iloc") else clusters
        if getattr(X, "ndim", 2) == 1:
            X = check_array(
                clusters, ensure_2d=False, dtype=None, input_name="clusters"
            )
            return self._check_ids(X, self.n_clusters_, "predict"), None
        if hasattr(self, "n_features_in_"):
            X = validate_data(self, clusters, dtype=np.float64, reset=False)
        else:
            X = check_array(clusters, dtype=np.float64, input_name="clusters")
            if X.shape[1] != self.n_clusters_:
                raise ValueError(
                    f"Soft assignments have {X.shape[1]} columns but the mapper "
                    f"was fitted with {self.n_clusters_} clusters."
                )
        return self._check_soft(X)

    def predict_proba(self, clusters):
        """Probability of each label for each subject.

        Parameters
        ----------
        clusters : array-like of shape (n_samples,) or (n_samples, n_clusters)
            Cluster ids or soft assignments.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            The row of ``cluster_label_proba_`` of the subject's cluster; with
            ``'probabilistic'`` and soft assignments, the clusters' rows mixed
            by the soft assignment. Columns follow ``classes_``.
        """
        hard, weights = self._check_test(clusters)
        if weights is not None:
            return weights @ self.cluster_label_proba_
        return self.cluster_label_proba_[hard]

    def predict(self, clusters):
        """Label of each subject.

        Parameters
        ----------
        clusters : array-like of shape (n_samples,) or (n_samples, n_clusters)
            Cluster ids or soft assignments.

        Returns
        -------
        labels : ndarray of shape (n_samples,)
            ``mapping_`` of the subject's cluster; with ``'probabilistic'``
            and soft assignments, the most probable label of
            :meth:`predict_proba`. Subjects whose cluster is mapped to no
            label get ``unknown_label``.
        """
        hard, weights = self._check_test(clusters)
        idx = self._label_idx[hard]
        if weights is not None:
            best = np.argmax(weights @ self.cluster_label_proba_, axis=1)
            idx = np.where(idx >= 0, best, -1)
        unknown = idx < 0
        if not unknown.any():
            return self.classes_[idx]
        out = self.classes_[np.where(unknown, 0, idx)].astype(object)
        out[unknown] = self.unknown_label
        try:
            return out.astype(np.result_type(self.classes_, self.unknown_label))
        except (TypeError, ValueError):
            return out
