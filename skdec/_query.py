"""Which subjects to show volunteers: query strategies under a budget."""

from __future__ import annotations

from numbers import Integral

import numpy as np
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions, validate_params
from sklearn.utils.validation import check_array

__all__ = ["QUERY_STRATEGIES", "select_queries"]

QUERY_STRATEGIES = ("random", "central", "uncertain", "stratified")


def _round_robin(orders, budget):
    """Take ``budget`` items from per-cluster priority lists, one cluster at a time.

    Clusters are visited from the largest to the smallest (ties by id), so a
    budget smaller than the number of clusters goes to the largest clusters;
    an exhausted cluster is passed over.
    """
    visit = sorted(range(len(orders)), key=lambda k: (-len(orders[k]), k))
    chosen, depth = [], 0
    while len(chosen) < budget:
        for k in visit:
            if depth < len(orders[k]):
                chosen.append(orders[k][depth])
                if len(chosen) == budget:
                    break
        depth += 1
    return np.asarray(chosen, dtype=np.int64)


def _uncertainty(Q, measure):
    if measure == "entropy":
        P = Q / Q.sum(axis=1, keepdims=True)
        with np.errstate(divide="ignore", invalid="ignore"):
            return -np.where(P > 0, P * np.log(P), 0.0).sum(axis=1)
    if Q.shape[1] == 1:
        return np.zeros(Q.shape[0])
    top2 = np.sort(Q, axis=1)[:, -2:]
    return -(top2[:, 1] - top2[:, 0])  # small margin = uncertain


@validate_params(
    {
        "clusters": ["array-like"],
        "budget": [Interval(Integral, 1, None, closed="left")],
        "strategy": [StrOptions(set(QUERY_STRATEGIES))],
        "uncertainty": [StrOptions({"entropy", "margin"})],
        "exclude": ["array-like", None],
        "random_state": ["random_state"],
    },
    prefer_skip_nested_validation=True,
)
def select_queries(
    clusters,
    budget,
    strategy="central",
    *,
    uncertainty="entropy",
    exclude=None,
    random_state=None,
):
    """Choose ``budget`` subjects to show volunteers.

    Parameters
    ----------
    clusters : array-like of shape (n_samples, n_clusters) or (n_samples,)
        Soft assignments (for instance :meth:`skdec.DECClusterer.predict_proba`)
        or cluster ids. 'central' and 'uncertain' need soft assignments.
    budget : int
        Number of subjects to choose; at most the number of candidates.
    strategy : {'random', 'central', 'stratified', 'uncertain'}, \
            default='central'
        - 'random': uniformly at random.
        - 'central': per cluster, the members with the highest soft assignment
          to it (the most typical subjects), taken in turn from each cluster.
        - 'stratified': per cluster, members at random, taken in turn from
          each cluster, so every cluster gets about ``budget / n_clusters``.
        - 'uncertain': the subjects whose soft assignment is most uncertain
          (see ``uncertainty``); ties are broken at random.

        With the per-cluster strategies, clusters are visited from the
        largest to the smallest, so when ``budget`` is not a multiple of the
        number of clusters the larger clusters get one more subject; a cluster
        with too few members is exhausted and the others fill in.
    uncertainty : {'entropy', 'margin'}, default='entropy'
        'entropy' of the soft assignment, or (minus) the 'margin' between its
        two largest entries; used by 'uncertain'.
    exclude : array-like of int, default=None
        Row indices never chosen (for instance subjects already labelled).
    random_state : int, RandomState instance or None, default=None
        The same value gives the same selection.

    Returns
    -------
    selected : ndarray of shape (budget,)
        Row indices, in the order chosen (most wanted first for 'central'
        and 'uncertain').

    Examples
    --------
    >>> import numpy as np
    >>> from skdec import select_queries
    >>> Q = np.array([[0.9, 0.1], [0.6, 0.4], [0.2, 0.8], [0.45, 0.55], [0.95, 0.05]])
    >>> select_queries(Q, 2, "central", random_state=0)
    array([4, 2])
    >>> select_queries(Q, 2, "uncertain", random_state=0)
    array([3, 1])
    """
    rng = check_random_state(random_state)
    arr = np.asarray(clusters)
    if arr.ndim == 1:
        if strategy in ("central", "uncertain"):
            raise ValueError(
                f"strategy={strategy!r} needs soft assignments, a 2-D (n_samples, "
                "n_clusters) matrix; got a 1-D vector of cluster ids."
            )
        ids = check_array(arr, ensure_2d=False, dtype=None, input_name="clusters")
        if ids.dtype.kind not in "iu" or (ids < 0).any():
            raise ValueError("A 1-D `clusters` must hold non-negative int ids.")
        Q = None
        n_samples = ids.shape[0]
    else:
        Q = check_array(arr, dtype=np.float64, input_name="clusters")
        if (Q < 0).any():
            row = int(np.flatnonzero((Q < 0).any(axis=1))[0])
            raise ValueError(f"Soft assignments are negative at row {row}.")
        ids = np.argmax(Q, axis=1)
        n_samples = Q.shape[0]

    candidate = np.ones(n_samples, dtype=bool)
    if exclude is not None:
        exclude = np.asarray(exclude, dtype=np.int64).ravel()
        bad = np.flatnonzero((exclude < 0) | (exclude >= n_samples))
        if bad.size:
            raise ValueError(
                f"exclude[{bad[0]}]={exclude[bad[0]]} is not a row index "
                f"(n_samples={n_samples})."
            )
        candidate[exclude] = False
    n_candidates = int(candidate.sum())
    if budget > n_candidates:
        raise ValueError(
            f"budget={budget} exceeds the {n_candidates} candidate subjects."
        )

    rows = np.flatnonzero(candidate)
    if strategy == "random":
        return rng.permutation(rows)[:budget].astype(np.int64)
    if strategy == "uncertain":
        score = _uncertainty(Q[rows], uncertainty)
        order = np.lexsort((rng.random_sample(rows.size), -score))
        return rows[order[:budget]].astype(np.int64)
    n_clusters = int(ids.max()) + 1 if Q is None else Q.shape[1]
    orders = []
    for k in range(n_clusters):
        members = rows[ids[rows] == k]
        if strategy == "central":
            tiebreak = rng.random_sample(members.size)
            members = members[np.lexsort((tiebreak, -Q[members, k]))]
        else:
            members = rng.permutation(members)
        orders.append(members.tolist())
    return _round_robin(orders, budget)
