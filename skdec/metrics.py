"""Metrics comparing a clustering with reference classes.

``cluster_accuracy`` is the usual unsupervised clustering accuracy: the
fraction of samples correctly labelled under the best one-to-one matching of
clusters to classes (the Hungarian algorithm on the contingency matrix).
``normalized_mutual_info_score`` and ``adjusted_rand_score`` are
scikit-learn's, re-exported so that the three usual deep clustering metrics
come from one place. The ``*_scorer`` objects plug them into
:class:`~sklearn.model_selection.GridSearchCV` and friends: they compare
``estimator.predict(X)`` with ``y``.
"""

import numpy as np
from scipy.optimize import linear_sum_assignment
from sklearn.metrics import (
    adjusted_rand_score,
    make_scorer,
    normalized_mutual_info_score,
)

__all__ = [
    "SCORERS",
    "accuracy_scorer",
    "adjusted_rand_score",
    "ari_scorer",
    "cluster_accuracy",
    "cluster_mapping",
    "clustering_report",
    "nmi_scorer",
    "normalized_mutual_info_score",
]


def _check_labelings(y_true, y_pred):
    """Validate two labelings; return them as 1-D arrays."""
    labelings = []
    for name, y in (("y_true", y_true), ("y_pred", y_pred)):
        y = np.asarray(y)
        if y.ndim != 1:
            raise ValueError(
                f"{name} must be a 1-D array of labels; got an array of shape "
                f"{y.shape}."
            )
        if y.size == 0:
            raise ValueError(f"{name} is empty; at least one label is needed.")
        labelings.append(y)
    y_true, y_pred = labelings
    if y_true.shape[0] != y_pred.shape[0]:
        raise ValueError(
            "y_true and y_pred must have the same length; got "
            f"{y_true.shape[0]} and {y_pred.shape[0]}."
        )
    return y_true, y_pred


def _best_matching(y_true, y_pred):
    """Clusters, classes, matched index pairs and number of matched samples."""
    y_true, y_pred = _check_labelings(y_true, y_pred)
    classes, true_idx = np.unique(y_true, return_inverse=True)
    clusters, pred_idx = np.unique(y_pred, return_inverse=True)
    n_classes = classes.size
    contingency = np.bincount(
        pred_idx.ravel() * n_classes + true_idx.ravel(),
        minlength=clusters.size * n_classes,
    ).reshape(clusters.size, n_classes)
    rows, cols = linear_sum_assignment(contingency, maximize=True)
    n_correct = int(contingency[rows, cols].sum())
    return clusters, classes, rows, cols, n_correct, y_true.shape[0]


def cluster_accuracy(y_true, y_pred):
    """Clustering accuracy under the best one-to-one cluster-to-class matching.

    Clusters are matched to classes so that as many samples as possible fall
    in a cluster matched to their own class (Hungarian algorithm, via
    :func:`scipy.optimize.linear_sum_assignment` on the contingency matrix);
    the accuracy is the fraction of such samples. The number of clusters may
    differ from the number of classes: the surplus clusters (or classes)
    stay unmatched and their samples count as errors. No sample is ignored.

    The score is invariant to any renaming of the clusters or of the
    classes, symmetric in its two arguments, lies in ``(0, 1]``, and is 1
    exactly when clusters and classes are in one-to-one correspondence.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        Reference class labels (any hashable, sortable values).

    y_pred : array-like of shape (n_samples,)
        Cluster labels to evaluate.

    Returns
    -------
    accuracy : float
        Fraction of samples correctly labelled under the best matching.

    See Also
    --------
    cluster_mapping : The cluster-to-class matching itself.

    Examples
    --------
    >>> from skdec.metrics import cluster_accuracy
    >>> cluster_accuracy([0, 0, 1, 1, 2, 2], [1, 1, 0, 0, 2, 2])
    1.0
    >>> cluster_accuracy(["a", "a", "b", "b"], [0, 0, 0, 1])
    0.75
    """
    *_, n_correct, n_samples = _best_matching(y_true, y_pred)
    return n_correct / n_samples


def cluster_mapping(y_true, y_pred):
    """Best one-to-one matching of clusters to classes, as a dict.

    This is the matching used by :func:`cluster_accuracy`. When there are
    more clusters than classes, the surplus clusters are absent from the
    dict (their samples count as errors in the accuracy); when there are
    more classes than clusters, some classes are not used.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        Reference class labels.

    y_pred : array-like of shape (n_samples,)
        Cluster labels.

    Returns
    -------
    mapping : dict
        ``{cluster: class}`` for every matched cluster, with Python scalars
        as keys and values.

    Examples
    --------
    >>> from skdec.metrics import cluster_mapping
    >>> cluster_mapping(["cat", "cat", "dog", "dog"], [1, 1, 0, 0])
    {0: 'dog', 1: 'cat'}
    >>> cluster_mapping([0, 0, 1, 1], [0, 1, 2, 2])
    {0: 0, 2: 1}
    """
    clusters, classes, rows, cols, _, _ = _best_matching(y_true, y_pred)
    return dict(zip(clusters[rows].tolist(), classes[cols].tolist()))


def clustering_report(y_true, y_pred):
    """Clustering accuracy, NMI and ARI of a clustering in one dict.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        Reference class labels.

    y_pred : array-like of shape (n_samples,)
        Cluster labels.

    Returns
    -------
    report : dict
        ``{'acc': cluster_accuracy, 'nmi': normalized_mutual_info_score,
        'ari': adjusted_rand_score}``, all Python floats.

    Examples
    --------
    >>> from skdec.metrics import clustering_report
    >>> clustering_report([0, 0, 1, 1], [1, 1, 0, 0])
    {'acc': 1.0, 'nmi': 1.0, 'ari': 1.0}
    """
    y_true, y_pred = _check_labelings(y_true, y_pred)
    return {
        "acc": float(cluster_accuracy(y_true, y_pred)),
        "nmi": float(normalized_mutual_info_score(y_true, y_pred)),
        "ari": float(adjusted_rand_score(y_true, y_pred)),
    }


#: Scorer of :func:`cluster_accuracy` between ``estimator.predict(X)`` and ``y``.
accuracy_scorer = make_scorer(cluster_accuracy)
#: Scorer of :func:`normalized_mutual_info_score` on ``estimator.predict(X)``.
nmi_scorer = make_scorer(normalized_mutual_info_score)
#: Scorer of :func:`adjusted_rand_score` on ``estimator.predict(X)``.
ari_scorer = make_scorer(adjusted_rand_score)

#: Scorers by name, for ``scoring=`` of model selection tools.
SCORERS = {
    "cluster_accuracy": accuracy_scorer,
    "nmi": nmi_scorer,
    "ari": ari_scorer,
}
