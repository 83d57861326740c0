"""Volunteer votes: simulation, aggregation (majority, Dawid-Skene), Zooniverse export.

A *vote table* is a dict of three equally long 1-D arrays, ``'subject'``,
``'volunteer'`` and ``'label'``: one row per answer of one volunteer about one
subject. Functions accepting a vote table also accept a numpy structured array
with those fields.
"""

from __future__ import annotations

import csv
import json
import re
import warnings
from numbers import Integral, Real
from pathlib import Path

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import Bunch, check_random_state
from sklearn.utils._param_validation import Interval, StrOptions, validate_params

__all__ = [
    "aggregate_votes",
    "dawid_skene",
    "read_workflow_answers",
    "read_zooniverse_export",
    "simulate_volunteers",
    "write_zooniverse_export",
]

VOTE_COLUMNS = ("subject", "volunteer", "label")
#: the volunteer models of :func:`dawid_skene`, simplest first
MODELS = ("equal", "pooled", "one-coin", "crowd-errors", "full")
#: the models in which all volunteers answer alike
ALIKE = ("equal", "pooled")


#: the columns of a Zooniverse classification export, in its order
ZOONIVERSE_COLUMNS = (
    "classification_id",
    "user_name",
    "user_id",
    "user_ip",
    "workflow_id",
    "workflow_name",
    "workflow_version",
    "created_at",
    "gold_standard",
    "expert",
    "metadata",
    "annotations",
    "subject_data",
    "subject_ids",
)


def _check_votes(votes, subjects=None):
    """Validate a vote table; return (subject, volunteer, label) arrays.

    With ``subjects``, every voted subject must be one of them.
    """
    try:
        columns = [np.asarray(votes[name]) for name in VOTE_COLUMNS]
    except (KeyError, ValueError, IndexError, TypeError):
        raise TypeError(
            "votes must be a dict (or structured array) with the columns "
            f"{list(VOTE_COLUMNS)}; got {type(votes).__name__}."
        ) from None
    for name, column in zip(VOTE_COLUMNS, columns):
        if column.ndim != 1:
            raise ValueError(f"votes[{name!r}] must be 1-D; got shape {column.shape}.")
    lengths = {name: len(c) for name, c in zip(VOTE_COLUMNS, columns)}
    if len(set(lengths.values())) != 1:
        raise ValueError(f"The vote columns have different lengths: {lengths}.")
    if lengths["subject"] == 0:
        raise ValueError("The vote table is empty; at least one vote is needed.")
    for name, column in zip(VOTE_COLUMNS, columns):
        if column.dtype.kind == "f" and np.isnan(column).any():
            row = int(np.flatnonzero(np.isnan(column))[0])
            raise ValueError(f"votes[{name!r}] is missing (NaN) at row {row}.")
        if column.dtype.kind == "O":
            missing = [i for i, v in enumerate(column) if v is None]
            if missing:
                raise ValueError(
                    f"votes[{name!r}] is missing (None) at row {missing[0]}."
                )
    if subjects is not None:
        known = np.isin(columns[0], subjects)
        if not known.all():
            bad = np.flatnonzero(~known)
            raise ValueError(
                f"Vote at row {bad[0]} is for subject {columns[0][bad[0]].item()!r}, "
                f"which is not in `subjects` ({bad.size} vote(s) for unknown "
                "subjects)."
            )
    return columns


def _label_array(values, unknown_label):
    """Labels with ``unknown_label`` for subjects without votes."""
    try:
        dtype = np.result_type(values.dtype, np.asarray(unknown_label).dtype)
    except TypeError:
        dtype = object
    if dtype.kind in "US" and not isinstance(unknown_label, str):
        dtype = object
    return dtype


def _vote_counts(subject_idx, label_idx, n_subjects, n_classes, weight=None):
    counts = np.zeros((n_subjects, n_classes))
    np.add.at(counts, (subject_idx, label_idx), 1.0 if weight is None else weight)
    return counts


def _finish(result, counts, classes, subject_ids, subjects, unknown_label):
    """Align per-subject results to ``subjects`` (if given) and set labels."""
    proba = result.pop("proba_voted")
    n_classes = classes.size
    if subjects is None:
        out_subjects, rows = subject_ids, np.arange(subject_ids.size)
        full = proba
        n_votes = counts.sum(axis=1).astype(np.int64)
    else:
        out_subjects = np.asarray(subjects)
        rows = np.searchsorted(subject_ids, out_subjects)
        rows = np.clip(rows, 0, max(subject_ids.size - 1, 0))
        voted = subject_ids[rows] == out_subjects
        full = np.full((out_subjects.size, n_classes), 1.0 / n_classes)
        full[voted] = proba[rows[voted]]
        n_votes = np.zeros(out_subjects.size, dtype=np.int64)
        n_votes[voted] = counts[rows[voted]].sum(axis=1)
    best = np.argmax(full, axis=1)
    labels = classes[best].astype(_label_array(classes, unknown_label))
    confidence = full[np.arange(full.shape[0]), best]
    labels[n_votes == 0] = unknown_label
    confidence[n_votes == 0] = 0.0
    return Bunch(
        subjects=out_subjects,
        labels=labels,
        confidence=confidence,
        proba=full,
        classes=classes,
        n_votes=n_votes,
        n_unvoted=int((n_votes == 0).sum()),
        **result,
    )


@validate_params(
    {
        "votes": [dict, np.ndarray],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "smoothing": [Interval(Real, 0, None, closed="neither")],
        "model": [StrOptions(set(MODELS))],
    },
    prefer_skip_nested_validation=True,
)
def dawid_skene(votes, *, max_iter=500, tol=1e-5, smoothing=0.01, model="full"):
    """Dawid-Skene EM: true-label posteriors and per-volunteer confusion matrices.

    Each volunteer ``j`` answers a subject of true class ``k`` with label ``l``
    with probability ``confusion[j, k, l]``; the classes have prior
    ``priors``. EM starts from the vote shares of each subject, then alternates
    estimating the confusion matrices and priors (M step) and the posterior of
    each subject's true class (E step) until the posteriors change by less than
    ``tol`` (Dawid & Skene, 1979).

    Parameters
    ----------
    votes : dict of arrays
        Vote table with columns ``'subject'``, ``'volunteer'``, ``'label'``.
    max_iter : int, default=500
        Maximum number of EM iterations; a ``ConvergenceWarning`` is issued
        when they are used up.
    tol : float, default=1e-5
        Stop when no posterior probability changes by more than this.
    smoothing : float, default=0.01
        Pseudo-count added to every confusion-matrix cell and prior, so that a
        volunteer who never saw a class still has a defined row.
    model : {'full', 'one-coin', 'crowd-errors', 'pooled', 'equal'}, \
            default='full'
        'full': a free confusion matrix per volunteer (Dawid & Skene).
        'one-coin': one accuracy per volunteer, wrong answers uniform over the
        other classes; far fewer parameters, better with many classes and
        few votes per volunteer. 'crowd-errors': one accuracy per volunteer,
        wrong answers spread as the whole crowd's wrong answers for that true
        class (the pooled confusion matrix without its diagonal), for classes
        that are confused with particular others. Two models of volunteers
        who all answer alike, the baselines of
        ``aggregate_votes(method='auto')``: 'pooled', one confusion matrix
        shared by all, and 'equal', one accuracy shared by all with wrong
        answers uniform (majority vote with class priors).

    Returns
    -------
    result : :class:`~sklearn.utils.Bunch`
        ``subjects`` (sorted voted subject ids), ``proba`` (posteriors, shape
        (n_subjects, n_classes)), ``classes``, ``volunteers`` (sorted ids),
        ``confusion`` (shape (n_volunteers, n_classes, n_classes), rows sum to
        one), ``priors``, ``n_iter``, ``converged``, ``log_likelihood`` (of
        the votes, class unknown) and ``n_params``, the model's number of free
        parameters (for model selection by AIC,
        :math:`2 n_{params} - 2 \\log L`).

    References
    ----------
    A. P. Dawid, A. M. Skene. Maximum Likelihood Estimation of Observer
    Error-Rates Using the EM Algorithm. Applied Statistics 28(1), 1979.

    Examples
    --------
    >>> from skdec import dawid_skene, simulate_volunteers
    >>> y = [0, 1, 1, 0, 2, 2, 1, 0]
    >>> votes = simulate_volunteers(y, 5, 3, accuracy=0.9, random_state=0)
    >>> ds = dawid_skene(votes)
    >>> ds.confusion.shape, ds.proba.argmax(axis=1)
    ((5, 3, 3), array([0, 1, 1, 0, 2, 2, 1, 0]))
    """
    subject, volunteer, label = _check_votes(votes)
    subject_ids, s = np.unique(subject, return_inverse=True)
    volunteers, v = np.unique(volunteer, return_inverse=True)
    classes, lab = np.unique(label, return_inverse=True)
    n_subj, n_vol, n_cls = subject_ids.size, volunteers.size, classes.size
    counts = _vote_counts(s, lab, n_subj, n_cls)
    T = counts / counts.sum(axis=1, keepdims=True)
    converged = False
    n_iter = 0
    for n_iter in range(1, max_iter + 1):  # noqa: B007 - reported below
        # M step
        priors = T.sum(axis=0) + float(smoothing)
        priors /= priors.sum()
        conf = np.full((n_vol, n_cls, n_cls), float(smoothing))
        np.add.at(conf.transpose(0, 2, 1), (v, lab), T[s])
        conf = _confusion(conf, model)
        # E step
        log_T = np.tile(np.log(priors), (n_subj, 1))
        np.add.at(log_T, s, np.log(conf[v, :, lab]))
        log_norm = np.logaddexp.reduce(log_T, axis=1, keepdims=True)
        new_T = np.exp(log_T - log_norm)
        delta = np.abs(new_T - T).max()
        T = new_T
        if delta < tol:
            converged = True
            break
    if not converged:
        warnings.warn(
            f"Dawid-Skene EM did not converge in {max_iter} iterations "
            f"(largest posterior change {delta:.2g} > tol={tol}); raise max_iter.",
            ConvergenceWarning,
            stacklevel=3,
        )
    return Bunch(
        subjects=subject_ids,
        proba=T,
        classes=classes,
        volunteers=volunteers,
        confusion=conf,
        priors=priors,
        n_iter=n_iter,
        converged=converged,
        log_likelihood=float(log_norm.sum()),
        n_params=_n_params(model, n_vol, n_cls),
    )


def _confusion(counts, model):
    """Per-volunteer confusion matrices (rows: true class) from the expected
    answer ``counts`` (smoothed, shape (n_volunteers, n_classes, n_classes))
    under the volunteer ``model``."""
    n_vol, n_cls = counts.shape[:2]
    if model == "pooled":
        counts = np.broadcast_to(counts.sum(axis=0), counts.shape)
    if model in ("full", "pooled") or n_cls == 1:
        return counts / counts.sum(axis=2, keepdims=True)
    diagonal = np.eye(n_cls, dtype=bool)
    right = counts[:, diagonal].sum(axis=1)
    total = counts.sum(axis=(1, 2))
    if model == "equal":
        accuracy = np.full(n_vol, right.sum() / total.sum())
    else:
        accuracy = right / total
    if model == "crowd-errors":
        wrong = counts.sum(axis=0)
        wrong[diagonal] = 0.0
        errors = wrong / wrong.sum(axis=1, keepdims=True)
    else:
        errors = (~diagonal) / (n_cls - 1.0)
    conf = (1.0 - accuracy)[:, None, None] * errors[None]
    conf[:, diagonal] = accuracy[:, None]
    return conf


def _n_params(model, n_vol, n_cls):
    """Free parameters of a volunteer model, class priors included."""
    per_model = {
        "equal": 1,
        "pooled": n_cls * (n_cls - 1),
        "one-coin": n_vol,
        "crowd-errors": n_vol + n_cls * (n_cls - 2),
        "full": n_vol * n_cls * (n_cls - 1),
    }
    return (per_model[model] if n_cls > 1 else 0) + n_cls - 1


def _select_model(votes, **em_params):
    """``aggregate_votes(method='auto')``'s choice: the model of least AICc
    among :data:`MODELS` (the simpler on a tie); majority vote when that is a
    model of alike volunteers ('equal' or 'pooled'), or when no subject has
    votes of two volunteers (nothing tells their skills apart). Returns
    (name, its dawid_skene fit or None, the AICc of each model fitted)."""
    subject, volunteer = np.asarray(votes["subject"]), np.asarray(votes["volunteer"])
    pairs = np.unique(np.column_stack([subject, volunteer]), axis=0)
    n_subjects = np.unique(subject).size
    if pairs.shape[0] == n_subjects:  # each subject seen by one volunteer
        return "majority", None, {}
    aicc, fits, caught = {}, {}, {}
    for model in MODELS:
        with warnings.catch_warnings(record=True) as caught[model]:
            warnings.simplefilter("always", ConvergenceWarning)
            fits[model] = dawid_skene(votes, model=model, **em_params)
        k = fits[model].n_params
        spare = n_subjects - k - 1  # AICc is defined for fewer parameters
        correction = 2.0 * k * (k + 1) / spare if spare > 0 else np.inf
        aicc[model] = 2.0 * k - 2.0 * fits[model].log_likelihood + correction
    best = min(MODELS, key=lambda m: (aicc[m], MODELS.index(m)))
    if best in ALIKE:
        return "majority", None, aicc
    for warning in caught[best]:  # only the chosen model's EM matters
        warnings.warn(warning.message, warning.category, stacklevel=3)
    return best, fits[best], aicc


@validate_params(
    {
        "votes": [dict, np.ndarray],
        "method": [StrOptions({"auto", "majority", "dawid-skene"})],
        "subjects": ["array-like", None],
        "unknown_label": [Integral, str],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "smoothing": [Interval(Real, 0, None, closed="neither")],
        "model": [StrOptions(set(MODELS))],
    },
    prefer_skip_nested_validation=True,
)
def aggregate_votes(
    votes,
    method="auto",
    *,
    subjects=None,
    unknown_label=-1,
    max_iter=500,
    tol=1e-5,
    smoothing=0.01,
    model="full",
):
    """One label and its confidence per subject from several volunteers' votes.

    Parameters
    ----------
    votes : dict of arrays
        Vote table with columns ``'subject'``, ``'volunteer'``, ``'label'``
        (see :func:`simulate_volunteers`, :func:`read_zooniverse_export`).
    method : {'auto', 'majority', 'dawid-skene'}, default='auto'
        'majority': the most frequent label (ties go to the smallest label),
        with confidence its share of the subject's votes. 'dawid-skene': the
        most probable label under a volunteer-skill model fitted by EM
        (:func:`dawid_skene` with ``model``), with confidence its posterior
        probability; reliable volunteers count more than unreliable ones.
        'auto': the model the votes support, by Akaike's information
        criterion corrected for small samples (AICc, with the number of
        voted subjects; no true labels involved): each model of
        :func:`dawid_skene` is fitted and the one of least AICc taken; when
        that is a model of alike volunteers ('equal' or 'pooled'), or when
        no subject has the votes of two volunteers, the answer is majority
        vote, else that model's. Simulated votes
        (``benchmarks/bench_votes.py``) show it never below majority vote
        beyond noise, and well above it when volunteers differ in skill,
        where a full Dawid-Skene model with few votes per volunteer can
        score below majority.
    subjects : array-like of shape (n_subjects,), default=None
        All subject ids, in the order wanted for the output (for instance
        ``np.arange(n_samples)`` to index the rows of the data). A vote for a
        subject not listed raises a ``ValueError``; a listed subject without
        votes gets ``unknown_label`` and confidence 0, so the output can go
        straight to :class:`skdec.ClusterLabelMapper`. If None, the sorted
        voted subjects.
    unknown_label : int or str, default=-1
        Label of subjects without votes.
    max_iter, tol, smoothing :
        Passed to :func:`dawid_skene` ('auto' and 'dawid-skene').
    model : {'full', 'one-coin', 'crowd-errors', 'pooled', 'equal'}, \
            default='full'
        The volunteer model of 'dawid-skene' (see :func:`dawid_skene`);
        'auto' chooses its own.

    Returns
    -------
    result : :class:`~sklearn.utils.Bunch`
        ``subjects``, ``labels``, ``confidence`` (0 for subjects without
        votes), ``proba`` (shape (n_subjects, n_classes); uniform for subjects
        without votes), ``classes``, ``n_votes`` per subject and
        ``n_unvoted``. With 'dawid-skene', and with 'auto' when it chose a
        Dawid-Skene model, also ``volunteers``, ``confusion`` (per-volunteer
        confusion matrices, rows: true class, columns: answer), ``priors``,
        ``n_iter``, ``converged`` and ``log_likelihood``. With 'auto' also
        ``model``, the choice ('majority', 'one-coin', 'crowd-errors' or
        'full'), and ``aicc``, a dict of the AICc of each model fitted
        (empty when no subject has two volunteers' votes).

    Examples
    --------
    >>> from skdec import aggregate_votes
    >>> votes = {"subject": [0, 0, 0, 1, 1], "volunteer": ["a", "b", "c", "a", "b"],
    ...          "label": [1, 1, 2, 2, 2]}
    >>> agg = aggregate_votes(votes, "majority", subjects=[0, 1, 2])
    >>> agg.labels, agg.confidence.round(2), agg.n_unvoted
    (array([ 1,  2, -1]), array([0.67, 1.  , 0.  ]), 1)

    With the default, 'auto', volunteers of different skill are told apart:
    here two careful volunteers and three who answer at random.

    >>> import numpy as np
    >>> from skdec import simulate_volunteers
    >>> y = np.random.RandomState(0).randint(0, 4, 300)
    >>> votes = simulate_volunteers(y, 5, 3, accuracy=[0.95, 0.95, 0.25, 0.25, 0.25],
    ...                             random_state=0)
    >>> auto = aggregate_votes(votes)
    >>> majority = aggregate_votes(votes, "majority")
    >>> auto.model
    'one-coin'
    >>> print(f"{(auto.labels == y).mean():.2f} vs {(majority.labels == y).mean():.2f}")
    0.89 vs 0.69
    """
    subject, volunteer, label = _check_votes(votes, subjects)
    if subjects is not None:
        subjects = np.asarray(subjects)
        if subjects.ndim != 1:
            raise ValueError(f"subjects must be 1-D; got shape {subjects.shape}.")
        uniq, first = np.unique(subjects, return_index=True)
        if uniq.size != subjects.size:
            dup = np.setdiff1d(np.arange(subjects.size), first)[0]
            raise ValueError(
                f"subjects lists {subjects[dup]!r} more than once (position {dup})."
            )
    subject_ids, s = np.unique(subject, return_inverse=True)
    classes, lab = np.unique(label, return_inverse=True)
    counts = _vote_counts(s, lab, subject_ids.size, classes.size)
    coded = {"subject": s, "volunteer": volunteer, "label": lab}
    em_params = dict(max_iter=max_iter, tol=tol, smoothing=smoothing)
    chosen = {}
    if method == "auto":
        name, ds, aicc = _select_model(coded, **em_params)
        chosen = {"model": name, "aicc": aicc}
    elif method == "dawid-skene":
        ds = dawid_skene(coded, model=model, **em_params)
    else:
        ds = None
    if ds is None:
        result = {"proba_voted": counts / counts.sum(axis=1, keepdims=True)}
    else:
        # dawid_skene relabels classes as 0..n-1 in the order of ``classes``;
        # a class no one chose never appears, so sizes always agree.
        result = {
            "proba_voted": ds.proba,
            "volunteers": ds.volunteers,
            "confusion": ds.confusion,
            "priors": ds.priors,
            "n_iter": ds.n_iter,
            "converged": ds.converged,
            "log_likelihood": ds.log_likelihood,
        }
    return _finish(
        {**result, **chosen}, counts, classes, subject_ids, subjects, unknown_label
    )


@validate_params(
    {
        "y_true": ["array-like"],
        "n_volunteers": [Interval(Integral, 1, None, closed="left")],
        "votes_per_subject": [Interval(Integral, 1, None, closed="left")],
        "accuracy": [Interval(Real, 0, 1, closed="both"), "array-like"],
        "confusion": ["array-like", None],
        "accuracy_spread": [Interval(Real, 0, 1, closed="both")],
        "subjects": ["array-like", None],
        "random_state": ["random_state"],
    },
    prefer_skip_nested_validation=True,
)
def simulate_volunteers(
    y_true,
    n_volunteers=10,
    votes_per_subject=3,
    *,
    accuracy=0.8,
    confusion=None,
    accuracy_spread=0.0,
    subjects=None,
    random_state=None,
):
    """Noisy votes of simulated volunteers with individual skill.

    Each subject is shown to ``votes_per_subject`` different volunteers drawn
    at random; volunteer ``j`` answers a subject of true class ``k`` with label
    ``l`` with probability ``confusion[j, k, l]``.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True label of each subject; subject ids are the row indices.
    n_volunteers : int, default=10
    votes_per_subject : int, default=3
        At most ``n_volunteers``.
    accuracy : float or array-like of shape (n_volunteers,), default=0.8
        Probability that a volunteer answers correctly; a wrong answer is
        uniform over the other classes. Ignored when ``confusion`` is given.
    confusion : array-like of shape (n_classes, n_classes) or \
            (n_volunteers, n_classes, n_classes), default=None
        Answer probabilities per true class (rows sum to one), shared or one
        per volunteer; classes in the order of ``np.unique(y_true)``.
    accuracy_spread : float, default=0.0
        With a scalar ``accuracy``, each volunteer's accuracy is drawn
        uniformly in ``accuracy +- accuracy_spread`` (clipped to [0, 1]).
    subjects : array-like of int, default=None
        Row indices of the subjects to show (for instance the output of
        :func:`skdec.select_queries`); all subjects if None.
    random_state : int, RandomState instance or None, default=None
        The same value gives the same votes.

    Returns
    -------
    votes : dict of ndarray
        Vote table: ``'subject'`` (int64 row indices), ``'volunteer'`` (int64
        in ``[0, n_volunteers)``) and ``'label'`` (values of ``y_true``), with
        ``votes_per_subject`` rows per subject, plus ``'confusion'``: the
        per-volunteer confusion matrices used, shape (n_volunteers, n_classes,
        n_classes).

    Examples
    --------
    >>> from skdec import simulate_volunteers
    >>> votes = simulate_volunteers([0, 1, 1, 2], 4, 2, accuracy=1.0, random_state=0)
    >>> votes["subject"], votes["label"]
    (array([0, 0, 1, 1, 2, 2, 3, 3]), array([0, 0, 1, 1, 1, 1, 2, 2]))
    """
    y_true = np.asarray(y_true)
    if y_true.ndim != 1 or y_true.size == 0:
        raise ValueError(
            f"y_true must be a non-empty 1-D array; got shape {y_true.shape}."
        )
    if votes_per_subject > n_volunteers:
        raise ValueError(
            f"votes_per_subject={votes_per_subject} exceeds n_volunteers="
            f"{n_volunteers}: each vote on a subject comes from a different "
            "volunteer."
        )
    rng = check_random_state(random_state)
    classes, y_idx = np.unique(y_true, return_inverse=True)
    n_cls = classes.size
    if confusion is not None:
        conf = np.asarray(confusion, dtype=np.float64)
        if conf.ndim == 2:
            conf = np.broadcast_to(conf, (n_volunteers, *conf.shape)).copy()
        if conf.shape != (n_volunteers, n_cls, n_cls):
            raise ValueError(
                f"confusion has shape {np.shape(confusion)}; expected "
                f"({n_cls}, {n_cls}) or ({n_volunteers}, {n_cls}, {n_cls}) for "
                f"{n_cls} classes and {n_volunteers} volunteers."
            )
        if (conf < 0).any() or not np.allclose(conf.sum(axis=2), 1):
            raise ValueError("confusion rows must be non-negative and sum to one.")
    else:
        acc = np.asarray(accuracy, dtype=np.float64)
        if acc.ndim == 0:
            acc = acc + accuracy_spread * rng.uniform(-1, 1, n_volunteers)
            acc = np.clip(acc, 0, 1)
        if acc.shape != (n_volunteers,) or (acc < 0).any() or (acc > 1).any():
            raise ValueError(
                f"accuracy must be a float in [0, 1] or {n_volunteers} of them; "
                f"got {accuracy!r}."
            )
        if n_cls == 1:
            conf = np.ones((n_volunteers, 1, 1))
        else:
            off = (1 - acc) / (n_cls - 1)
            conf = np.repeat(off[:, None, None], n_cls, axis=1).repeat(n_cls, 2)
            conf[:, np.arange(n_cls), np.arange(n_cls)] = acc[:, None]
    if subjects is None:
        rows = np.arange(y_true.size)
    else:
        rows = np.asarray(subjects)
        if rows.ndim != 1 or rows.dtype.kind not in "iu":
            raise ValueError("subjects must be a 1-D array of row indices.")
        bad = np.flatnonzero((rows < 0) | (rows >= y_true.size))
        if bad.size:
            raise ValueError(
                f"subjects[{bad[0]}]={rows[bad[0]]} is not a row of y_true "
                f"(n_samples={y_true.size})."
            )
    n = rows.size
    # votes_per_subject distinct volunteers per subject
    keys = rng.random_sample((n, n_volunteers))
    who = np.argsort(keys, axis=1)[:, :votes_per_subject]
    subject = np.repeat(rows, votes_per_subject)
    volunteer = who.ravel()
    true_idx = y_idx[subject]
    cum = np.cumsum(conf[volunteer, true_idx], axis=1)
    u = rng.random_sample(subject.size)[:, None]
    answer = np.minimum((u > cum).sum(axis=1), n_cls - 1)
    return {
        "subject": subject.astype(np.int64),
        "volunteer": volunteer.astype(np.int64),
        "label": classes[answer],
        "confusion": conf,
    }


#: what joins the answers of a multiple-answer question (or the choices of a
#: survey classification naming several species) into one label
ANSWER_SEPARATOR = "+"
#: export cells (gold_standard, expert) that mean "not set"
_FALSE_TEXT = ("", "false", "0", "null", "none", "no")


def _flag(text) -> bool:
    """An export cell such as ``gold_standard`` or ``expert`` read as a flag:
    empty, 'false', '0' and 'null' are False, anything else True."""
    return str(text if text is not None else "").strip().lower() not in _FALSE_TEXT


def _answer_name(value, names):
    """One answer (an answer index or a survey choice id) as its name in
    ``names`` (a dict of text keys), or as it is without ``names``."""
    if names is None:
        return value
    key = str(value)
    if key not in names:
        known = ", ".join(list(names)[:12])
        raise ValueError(
            f"answer {value!r} is not in the answer list ({known}"
            f"{', ...' if len(names) > 12 else ''})"
        )
    return names[key]


def _scalar_answer(value):
    if isinstance(value, bool) or value is None:
        raise ValueError(f"answer {value!r} is not a label")
    if isinstance(value, int | str):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    raise ValueError(f"answer {value!r} is not a question answer")


def _join(labels):
    """Several answers as one label, in a fixed order (indices by value)."""
    ordered = sorted(labels, key=lambda v: (isinstance(v, str), v))
    return ANSWER_SEPARATOR.join(str(v) for v in ordered)


def _parse_value(value, names=None):
    """A task's ``value`` from the annotations JSON as ``(kind, label,
    survey answers)``; the label is None for an empty answer (a multiple
    question or survey submitted with nothing chosen).

    - question, single answer: an answer index (or text): that answer;
    - question, multiple answers: a list of them: the answers joined with
      ``+`` in sorted order (one label per combination);
    - survey: a list of ``{"choice": ..., "answers": {...}, "filters":
      {...}}``: the choice (choices joined with ``+``), with the answers of
      its questions returned beside it;
    - a drawing task (marks with ``x``, ``y``, ``tool``...) or any other
      value: a ValueError.
    """
    if not isinstance(value, list):
        return "single", _answer_name(_scalar_answer(value), names), None
    if not value:
        return "empty", None, None
    if all(isinstance(v, dict) and "choice" in v for v in value):
        choices = [_answer_name(v["choice"], names) for v in value]
        answers = {str(v["choice"]): v.get("answers", {}) for v in value}
        return "survey", _join(set(choices)), answers
    if any(isinstance(v, dict) for v in value):
        keys = sorted({k for v in value if isinstance(v, dict) for k in v})
        kind = "drawing marks" if {"x", "tool"} & set(keys) else "objects"
        raise ValueError(
            f"the answer holds {kind} (keys {', '.join(keys[:6])}), not a question "
            "or survey answer: skdec reads question and survey tasks only"
        )
    labels = [_answer_name(_scalar_answer(v), names) for v in value]
    return "multiple", _join(set(labels)), None


def _parse_row(row, task, names=None):
    """``(subject, volunteer, label, survey answers)`` of one export row, or
    None when it does not answer ``task`` (or answers it with nothing)."""
    subject = (row.get("subject_ids") or "").strip()
    if not subject:
        raise ValueError("empty subject_ids")
    if any(sep in subject for sep in ",; "):
        raise ValueError(f"several subject ids {subject!r}; expected one")
    volunteer = (row.get("user_name") or "").strip()
    if not volunteer:
        raise ValueError("empty user_name")
    try:
        annotations = json.loads(row.get("annotations") or "")
    except json.JSONDecodeError as exc:
        raise ValueError(f"annotations is not valid JSON ({exc.msg})") from None
    if not isinstance(annotations, list):
        raise ValueError("annotations is not a JSON list of tasks")
    if any(not isinstance(a, dict) or "task" not in a for a in annotations):
        raise ValueError("an annotation is not an object with a 'task' key")
    answers = [a for a in annotations if a["task"] == task]
    if not answers:
        return None, {a["task"] for a in annotations}
    if len(answers) > 1:
        raise ValueError(f"task {task!r} is answered {len(answers)} times")
    if "value" not in answers[0]:
        raise ValueError(f"the {task!r} annotation has no 'value'")
    if answers[0]["value"] is None:  # an optional question left unanswered
        return None, {task}
    try:
        kind, label, survey = _parse_value(answers[0]["value"], names)
    except ValueError as exc:
        raise ValueError(f"task {task!r}: {exc}") from None
    if label is None:
        return None, {task}
    return (subject, volunteer, label, survey, kind), {task}


def _as_ints_if_possible(values):
    try:
        return np.array([int(v) for v in values], dtype=np.int64)
    except (TypeError, ValueError):
        return np.array([str(v) for v in values])


def _row_filter(row, workflow_id, workflow_version, repeats, experts):
    """The reason to leave a row out by the filters of
    :func:`read_zooniverse_export`, or None to read it."""
    if workflow_id is not None:
        if (row.get("workflow_id") or "").strip() != str(workflow_id).strip():
            return "another workflow"
    if workflow_version is not None:
        version = (row.get("workflow_version") or "").strip()
        wanted = str(workflow_version).strip()
        major = version.split(".")[0]
        if version != wanted and ("." in wanted or major != wanted):
            return "another workflow version"
    expert = _flag(row.get("gold_standard")) or _flag(row.get("expert"))
    if experts == "exclude" and expert:
        return "gold standard or expert"
    if experts == "only" and not expert:
        return "not gold standard or expert"
    if repeats == "drop" and row.get("metadata"):
        try:
            metadata = json.loads(row["metadata"])
        except json.JSONDecodeError as exc:
            raise ValueError(f"metadata is not valid JSON ({exc.msg})") from None
        if isinstance(metadata, dict) and metadata.get("seen_before") is True:
            return "seen before (a repeat classification)"
    return None


def read_workflow_answers(
    path, task, *, workflow_id=None, workflow_version=None, contents=None
):
    """The answer names of a question or survey task, from a workflows export.

    The workflows export of a Zooniverse project (``<project>-workflows.csv``,
    Project Builder, "Data Exports") holds one row per workflow version with
    the columns ``workflow_id``, ``version``, ``minor_version``, ``tasks``
    (the JSON definition of every task) and ``strings`` (the JSON of the
    texts the tasks refer to, such as ``"T0.answers.0.label"``; older exports
    keep the texts in ``tasks`` itself). A question's answers are listed in
    order, and its classifications record the index of the one chosen; a
    survey's ``choices`` are keyed by the id its classifications record.

    Some projects keep the texts in a separate workflow contents export
    (``<project>-workflow_contents.csv``, "Request new workflow contents
    export"), with the columns ``id``, ``workflow_id``, ``language``,
    ``created_at``, ``updated_at``, ``current_version_number``, ``version``
    and ``strings``; its ``version`` is the workflow's minor version (the
    contents are versioned apart from the tasks, so a classification's
    ``workflow_version`` ``'12.10'`` is tasks version 12 with contents
    version 10). Pass it as ``contents``.

    Parameters
    ----------
    path : str or path-like
        The workflows export (CSV).
    task : str
        The task id, for example ``'T0'``.
    workflow_id : int or str, default=None
        The workflow; needed when the file holds several.
    workflow_version : str, default=None
        ``'MAJOR.MINOR'`` or ``'MAJOR'``; None takes the latest version.
    contents : str or path-like, default=None
        The workflow contents export (CSV). When given, the texts are taken
        from its row for the workflow and the chosen version's
        ``minor_version`` (the latest contents version of the workflow where
        the workflows export has no ``minor_version`` and
        ``workflow_version`` names none), in English (``language`` ``'en'``)
        where it holds several languages, and the workflows export's
        ``strings`` are not read.

    Returns
    -------
    names : dict
        ``{answer index or choice id (as text): name}``, for
        :func:`read_zooniverse_export`'s ``answers``.

    Examples
    --------
    >>> import csv, json, os, tempfile
    >>> from skdec import read_workflow_answers
    >>> tasks = {"T0": {"type": "single", "question": "T0.question",
    ...                 "answers": [{"label": "T0.answers.0.label"},
    ...                             {"label": "T0.answers.1.label"}]}}
    >>> strings = {"T0.question": "Shape?", "T0.answers.0.label": "Smooth",
    ...            "T0.answers.1.label": "Features or disk"}
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = os.path.join(folder, "workflows.csv")
    ...     with open(path, "w", newline="") as f:
    ...         w = csv.writer(f)
    ...         _ = w.writerow(["workflow_id", "version", "minor_version", "tasks",
    ...                         "strings"])
    ...         _ = w.writerow([12, 3, 1, json.dumps(tasks), json.dumps(strings)])
    ...     read_workflow_answers(path, "T0")
    {'0': 'Smooth', '1': 'Features or disk'}

    The same texts in a workflow contents export:

    >>> strings["T0.answers.1.label"] = "Disk"
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = os.path.join(folder, "workflows.csv")
    ...     with open(path, "w", newline="") as f:
    ...         w = csv.writer(f)
    ...         _ = w.writerow(["workflow_id", "version", "minor_version", "tasks"])
    ...         _ = w.writerow([12, 3, 1, json.dumps(tasks)])
    ...     contents = os.path.join(folder, "workflow_contents.csv")
    ...     with open(contents, "w", newline="") as f:
    ...         w = csv.writer(f)
    ...         _ = w.writerow(["id", "workflow_id", "language", "created_at",
    ...                         "updated_at", "current_version_number",
    ...                         "version", "strings"])
    ...         _ = w.writerow([7, 12, "en", "2016-01-05 10:00:00 UTC",
    ...                         "2016-01-05 10:00:00 UTC", 1, 1,
    ...                         json.dumps(strings)])
    ...     read_workflow_answers(path, "T0", contents=contents)
    {'0': 'Smooth', '1': 'Disk'}
    """
    path = Path(path)
    with path.open(newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        missing = [
            c for c in ("workflow_id", "tasks") if c not in (reader.fieldnames or [])
        ]
        if missing:
            raise ValueError(
                f"{path} lacks the column(s) {missing}: is it the workflows "
                "export of the project?"
            )
        rows = [(reader.line_num, r) for r in reader]
    if workflow_id is not None:
        rows = [(n, r) for n, r in rows if r["workflow_id"].strip() == str(workflow_id)]
    ids = {r["workflow_id"].strip() for _, r in rows}
    if not rows:
        raise ValueError(f"{path} holds no workflow {workflow_id}.")
    if len(ids) > 1:
        raise ValueError(
            f"{path} holds the workflows {', '.join(sorted(ids))}: say which "
            "(--workflow-id)."
        )

    def version(r):
        return (
            int(float(r.get("version") or 0)),
            int(float(r.get("minor_version") or 0)),
        )

    if workflow_version is not None:
        wanted = str(workflow_version).split(".")
        rows = [
            (n, r)
            for n, r in rows
            if [str(v) for v in version(r)][: len(wanted)] == wanted
        ]
        if not rows:
            raise ValueError(
                f"{path} holds no version {workflow_version} of the workflow."
            )
    line, row = max(rows, key=lambda item: version(item[1]))
    where = f"{path.name}, line {line}"
    try:
        tasks = json.loads(row["tasks"] or "{}")
        strings = {} if contents is not None else json.loads(row.get("strings") or "{}")
    except json.JSONDecodeError as exc:
        raise ValueError(
            f"{where}: tasks or strings is not valid JSON ({exc.msg})."
        ) from None
    if contents is not None:
        minor = (row.get("minor_version") or "").strip()
        if not minor and workflow_version is not None:
            minor = (str(workflow_version).split(".") + [""])[1]
        contents, strings = _workflow_contents(
            contents,
            row["workflow_id"].strip(),
            int(float(minor)) if minor else None,
        )
    if task not in tasks:
        raise ValueError(
            f"{where}: the workflow has no task {task!r} (its tasks: "
            f"{', '.join(sorted(tasks))})."
        )
    definition = tasks[task]

    def text(label):
        return strings.get(label, label) if isinstance(label, str) else str(label)

    if definition.get("type") == "survey":
        choices = definition.get("choices", {})
        labels = {str(k): v.get("label", k) for k, v in choices.items()}
    elif "answers" in definition:
        answers = enumerate(definition["answers"])
        labels = {str(i): a.get("label", i) for i, a in answers}
    else:
        raise ValueError(
            f"{where}: task {task!r} is a {definition.get('type')!r} task, not a "
            "question or survey: it has no answer list."
        )
    keys = [
        v
        for v in labels.values()
        if isinstance(v, str)
        and v not in strings
        and re.fullmatch(rf"{re.escape(task)}\.(answers|choices)\..+\.label", v)
    ]
    if keys and contents is not None:
        raise ValueError(
            f"{contents}: the strings for workflow {row['workflow_id'].strip()} "
            f"lack {keys[0]!r}, which task {task!r} names."
        )
    if keys:
        raise ValueError(
            f"{where}: task {task!r} names its answers by keys such as "
            f"{keys[0]!r}, whose texts are not in this export: pass the workflow "
            "contents export (contents=, --workflow-contents)."
        )
    return {k: text(v) for k, v in labels.items()}


def _workflow_contents(path, workflow_id, version):
    """``(path, strings)``: the texts of a workflow contents export's row for
    ``workflow_id`` and contents ``version`` (None: its latest)."""
    path = Path(path)
    with path.open(newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        columns = reader.fieldnames or []
        missing = [c for c in ("workflow_id", "version", "strings") if c not in columns]
        if missing or "tasks" in columns:
            lacks = f"lacks the column(s) {missing}" if missing else "has tasks"
            raise ValueError(
                f"{path} {lacks}: is it the workflow contents export of the project?"
            )
        rows = [
            (reader.line_num, r)
            for r in reader
            if (r["workflow_id"] or "").strip() == workflow_id
        ]
    for line, r in rows:
        try:
            r["version"] = int(float(r["version"])) if r["version"] else None
        except ValueError:
            raise ValueError(
                f"{path.name}, line {line}: version {r['version']!r} is not a number."
            ) from None
    versions = sorted({r["version"] for _, r in rows if r["version"] is not None})
    if not versions:
        raise ValueError(f"{path} holds no contents of workflow {workflow_id}.")
    if version is None:
        version = versions[-1]
    rows = [(n, r) for n, r in rows if r["version"] == version]
    if not rows:
        raise ValueError(
            f"{path} holds no contents version {version} of workflow "
            f"{workflow_id} (the workflow's minor version); its versions: "
            f"{', '.join(map(str, versions))}."
        )
    languages = sorted({(r.get("language") or "").strip() for _, r in rows})
    if len(languages) > 1:
        if "en" not in languages:
            raise ValueError(
                f"{path} holds contents version {version} of workflow "
                f"{workflow_id} in the languages {', '.join(languages)}, none "
                "of them 'en'."
            )
        rows = [(n, r) for n, r in rows if (r.get("language") or "").strip() == "en"]
    line, row = rows[-1]
    try:
        strings = json.loads(row["strings"] or "{}")
    except json.JSONDecodeError as exc:
        raise ValueError(
            f"{path.name}, line {line}: strings is not valid JSON ({exc.msg})."
        ) from None
    if not isinstance(strings, dict):
        raise ValueError(
            f"{path.name}, line {line}: strings is not a JSON object of texts."
        )
    return path, strings


def read_answer_names(path):
    """Answer names written by hand: a CSV with the columns ``answer,name``
    (an answer index or survey choice id, and its name) or a JSON object
    ``{"0": "Smooth", ...}``; as ``{answer (text): name}``."""
    path = Path(path)
    if path.suffix.lower() == ".json":
        try:
            names = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path} is not valid JSON ({exc.msg}).") from None
        if not isinstance(names, dict):
            raise ValueError(f"{path} must hold a JSON object {{answer: name}}.")
        return {str(k).strip(): str(v) for k, v in names.items()}
    names = {}
    with path.open(newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        if reader.fieldnames is None or not {"answer", "name"} <= set(
            reader.fieldnames
        ):
            raise ValueError(
                f"{path} needs the columns answer,name; its header is "
                f"{reader.fieldnames}."
            )
        for row in reader:
            answer, name = (row["answer"] or "").strip(), (row["name"] or "").strip()
            if not answer or not name:
                raise ValueError(
                    f"{path.name}, line {reader.line_num}: empty answer or name."
                )
            if answer in names:
                raise ValueError(
                    f"{path.name}, line {reader.line_num}: answer {answer!r} "
                    "is named twice."
                )
            names[answer] = name
    if not names:
        raise ValueError(f"{path} names no answer.")
    return names


@validate_params(
    {
        "path": [str, Path],
        "task": [str],
        "answers": [dict, None],
        "workflow_id": [Integral, str, None],
        "workflow_version": [str, None],
        "repeats": [StrOptions({"drop", "keep"})],
        "experts": [StrOptions({"exclude", "include", "only"})],
        "on_error": [StrOptions({"raise", "skip"})],
        "return_report": ["boolean"],
    },
    prefer_skip_nested_validation=True,
)
def read_zooniverse_export(
    path,
    task,
    *,
    answers=None,
    workflow_id=None,
    workflow_version=None,
    repeats="drop",
    experts="exclude",
    on_error="raise",
    return_report=False,
):
    """Read the votes for one question or survey task from a Zooniverse
    classification export.

    The export is a CSV file with (at least) the columns ``classification_id``,
    ``user_name``, ``subject_ids`` and ``annotations``, the latter a JSON list
    of ``{"task": ..., "task_label": ..., "value": ...}`` objects; a full
    export also has ``user_id``, ``user_ip``, ``workflow_id``,
    ``workflow_name``, ``workflow_version``, ``created_at``,
    ``gold_standard``, ``expert``, ``metadata`` and ``subject_data``. Each
    row answering ``task`` gives one vote, whose label is read from the
    task's ``value``:

    - a single-answer question records the index of the answer chosen: the
      label is that index (or its name, with ``answers``);
    - a multiple-answer question records a list of indices: the label is
      the combination, the answers joined with ``+`` in sorted order
      (``'0+2'``, ``'Bar+Spiral'``), so that each vote stays one label;
    - a survey task records a list of identifications ``{"choice": "ZEBRA",
      "answers": {"HOWMANY": "2", ...}, "filters": {}}``: the label is the
      choice (several choices joined with ``+``); the answers to the
      choice's questions are kept in ``'survey_answers'``.

    A drawing task (marks) or any other value raises a ``ValueError``.

    Rows are left out, and counted in the report, when they do not answer
    ``task`` (another question of the workflow, an optional question left
    empty, nothing chosen); when ``workflow_id`` or ``workflow_version`` say
    another workflow; when ``metadata`` says ``"seen_before": true`` (a
    volunteer shown a subject again: a repeat, not an independent vote)
    unless ``repeats='keep'``; and, by default, the classifications marked
    ``gold_standard`` or ``expert``: those are the project team's answers,
    not volunteers', so that the aggregation estimates the volunteers'
    skill on volunteers only; ``experts='only'`` reads them alone (expert
    labels, for instance to score the volunteers against) and
    ``experts='include'`` counts them as votes like any other.

    A malformed row (bad JSON, no subject id, no user name, several subject
    ids, an answer that is not a question or survey answer, an answer not in
    ``answers``) raises a ``ValueError`` naming its line and
    ``classification_id``; with ``on_error='skip'`` it is skipped instead.
    Whenever a row is skipped, a ``UserWarning`` says how many and why;
    nothing is dropped silently.

    Parameters
    ----------
    path : str or path-like
        The CSV export.
    task : str
        Id of the question or survey task, for example ``'T0'``.
    answers : dict, default=None
        Answer names: ``{answer index or survey choice id: name}`` (keys
        compared as text), for instance from :func:`read_workflow_answers`.
        Labels are then the names, and an answer missing from it is a
        malformed row. If None, labels are the answers as recorded.
    workflow_id : int or str, default=None
        Read the classifications of this workflow only (a project's export
        holds every workflow's).
    workflow_version : str, default=None
        Read this version only: ``'MAJOR.MINOR'`` exactly, or ``'MAJOR'``
        for every minor version of it (minor versions change texts only).
    repeats : {'drop', 'keep'}, default='drop'
        What to do with classifications whose metadata says
        ``seen_before``.
    experts : {'exclude', 'include', 'only'}, default='exclude'
        What to do with classifications marked ``gold_standard`` or
        ``expert``.
    on_error : {'raise', 'skip'}, default='raise'
        What to do with a malformed row.
    return_report : bool, default=False
        If True, also return the report.

    Returns
    -------
    votes : dict of ndarray
        Vote table: ``'subject'`` (int64 if every id is an integer, else
        str), ``'volunteer'`` (str user names), ``'label'`` (int64 answer
        indices if every label is an integer, else str) and
        ``'classification_id'``; for a survey task also ``'survey_answers'``
        (object array: per vote, ``{choice: its answers}``).
    report : :class:`~sklearn.utils.Bunch`
        Only if ``return_report``: ``n_rows``, ``n_votes``, ``n_skipped``,
        ``skipped`` (a list of ``(line, classification_id, reason)``) and
        ``kind``, the kind of task read ('single', 'multiple', 'survey' or,
        mixed, several joined with ``+``).

    Examples
    --------
    >>> import tempfile, os
    >>> from skdec import read_zooniverse_export
    >>> text = '''classification_id,user_name,subject_ids,annotations
    ... 1,ann,101,"[{""task"": ""T0"", ""value"": 1}]"
    ... 2,bob,101,"[{""task"": ""T0"", ""value"": 0}]"
    ... '''
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = os.path.join(folder, "export.csv")
    ...     with open(path, "w") as f:
    ...         _ = f.write(text)
    ...     votes = read_zooniverse_export(path, "T0")
    ...     named = read_zooniverse_export(path, "T0", answers={0: "smooth",
    ...                                                         1: "featured"})
    >>> votes["subject"], votes["volunteer"], votes["label"]
    (array([101, 101]), array(['ann', 'bob'], dtype='<U3'), array([1, 0]))
    >>> named["label"].tolist()
    ['featured', 'smooth']

    A survey task: the choice is the label, its questions' answers ride along.

    >>> import csv, json
    >>> value = [{"choice": "ZEBRA", "answers": {"HOWMANY": "2"}, "filters": {}}]
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = os.path.join(folder, "export.csv")
    ...     with open(path, "w", newline="") as f:
    ...         w = csv.writer(f)
    ...         _ = w.writerow(["classification_id", "user_name", "subject_ids",
    ...                         "annotations"])
    ...         _ = w.writerow([7, "ann", 205, json.dumps([{"task": "T0",
    ...                                                     "value": value}])])
    ...     survey = read_zooniverse_export(path, "T0")
    >>> survey["label"].tolist(), survey["survey_answers"][0]
    (['ZEBRA'], {'ZEBRA': {'HOWMANY': '2'}})
    """
    path = Path(path)
    names = None if answers is None else {str(k): str(v) for k, v in answers.items()}
    required = ("classification_id", "user_name", "subject_ids", "annotations")
    rows, skipped, tasks_seen, kinds = [], [], set(), set()
    n_rows = 0
    with path.open(newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        header = reader.fieldnames or []
        missing = [c for c in required if c not in header]
        if missing:
            raise ValueError(
                f"{path} lacks the column(s) {missing}; a Zooniverse "
                f"classification export has {list(required)}."
            )
        for column, given in (
            ("workflow_id", workflow_id),
            ("workflow_version", workflow_version),
        ):
            if given is not None and column not in header:
                raise ValueError(f"{path} has no {column} column to filter by.")
        for row in reader:
            n_rows += 1
            line = reader.line_num
            cid = (row.get("classification_id") or "").strip()
            try:
                if None in row:
                    raise ValueError("more fields than the header")
                reason = _row_filter(
                    row, workflow_id, workflow_version, repeats, experts
                )
                if reason is not None:
                    skipped.append((line, cid, reason))
                    continue
                vote, tasks = _parse_row(row, task, names)
            except ValueError as exc:
                if on_error == "raise":
                    raise ValueError(
                        f"{path.name}, line {line} (classification_id {cid!r}): "
                        f"{exc}. Fix the row or pass on_error='skip'."
                    ) from None
                skipped.append((line, cid, f"malformed: {exc}"))
                continue
            tasks_seen |= tasks
            if vote is None:
                skipped.append((line, cid, f"no answer to task {task!r}"))
                continue
            kinds.add(vote[4])
            rows.append((*vote[:4], cid))
    if skipped:
        reasons = {}
        for *_, reason in skipped:
            key = reason.split(":")[0]
            reasons[key] = reasons.get(key, 0) + 1
        warnings.warn(
            f"read_zooniverse_export skipped {len(skipped)} of {n_rows} rows of "
            f"{path.name} ({reasons}); pass return_report=True for the list.",
            UserWarning,
            stacklevel=3,
        )
    if not rows:
        others = sorted(tasks_seen - {task})
        found = f" (its rows answer {', '.join(others)})" if others else ""
        raise ValueError(f"{path} holds no answer to task {task!r}{found}.")
    subject, volunteer, label, survey, cid = zip(*rows)
    votes = {
        "subject": _as_ints_if_possible(subject),
        "volunteer": np.array(volunteer),
        "label": _as_ints_if_possible(label),
        "classification_id": np.array(cid),
    }
    if "survey" in kinds:
        votes["survey_answers"] = np.empty(len(survey), dtype=object)
        votes["survey_answers"][:] = survey
    if return_report:
        report = Bunch(
            n_rows=n_rows,
            n_votes=len(rows),
            n_skipped=len(skipped),
            skipped=skipped,
            kind="+".join(sorted(kinds)),
        )
        return votes, report
    return votes


def _json_scalar(value):
    """A label as JSON writes it: numpy scalars as Python ones."""
    return value.item() if hasattr(value, "item") else value


def _manifest_rows(manifest):
    """The subjects' metadata of a manifest: a CSV file or a list of dicts.

    As the Zooniverse uploader does, every column of a CSV manifest becomes
    metadata (values as text) and a leading ``%`` (an indexed field) is
    dropped from the names.
    """
    if isinstance(manifest, str | Path):
        with Path(manifest).open(newline="", encoding="utf-8") as f:
            reader = csv.reader(f)
            header = next(reader, None)
            if header is None:
                raise ValueError(f"The manifest {manifest} is empty.")
            names = [name.lstrip("%") for name in header]
            rows = [dict(zip(names, row)) for row in reader]
    else:
        rows = [dict(row) for row in manifest]
    if not rows:
        raise ValueError("The manifest lists no subject.")
    return rows


@validate_params(
    {
        "path": [str, Path],
        "manifest": [str, Path, list],
        "y_true": ["array-like"],
        "task": [str],
        "n_volunteers": [Interval(Integral, 1, None, closed="left")],
        "votes_per_subject": [Interval(Integral, 1, None, closed="left")],
        "accuracy": [Interval(Real, 0, 1, closed="both"), "array-like"],
        "confusion": ["array-like", None],
        "accuracy_spread": [Interval(Real, 0, 1, closed="both")],
        "first_subject_id": [Interval(Integral, 1, None, closed="left")],
        "workflow_id": [Interval(Integral, 1, None, closed="left")],
        "workflow_name": [str],
        "random_state": ["random_state"],
    },
    prefer_skip_nested_validation=True,
)
def write_zooniverse_export(
    path,
    manifest,
    y_true,
    *,
    task="T0",
    n_volunteers=10,
    votes_per_subject=3,
    accuracy=0.8,
    confusion=None,
    accuracy_spread=0.0,
    first_subject_id=1000,
    workflow_id=1,
    workflow_name="Classify",
    random_state=None,
):
    """Write the classification export of simulated volunteers on a subject set.

    The subjects are the rows of ``manifest`` (a subject-set manifest as
    uploaded to Zooniverse, for instance the ``manifest.csv`` of
    ``skdec select``), each given the subject id ``first_subject_id + i``
    as Zooniverse assigns ids at upload. Simulated volunteers
    (:func:`simulate_volunteers`) answer a single-choice question task
    ``task``; the file has the columns of a real Zooniverse classification
    export, one row per classification: ``classification_id``,
    ``user_name``, ``user_id``, ``user_ip``, ``workflow_id``,
    ``workflow_name``, ``workflow_version``, ``created_at``,
    ``gold_standard``, ``expert``, ``metadata``, ``annotations`` (a JSON
    list ``[{"task": task, "task_label": ..., "value": answer}]``),
    ``subject_data`` (a JSON object keyed by the subject id holding
    ``"retired"`` and the subject's manifest metadata, as Zooniverse carries
    it back) and ``subject_ids``. :func:`read_zooniverse_export` reads it.

    Parameters
    ----------
    path : str or path-like
        The CSV file to write.
    manifest : str, path-like or list of dict
        A CSV manifest (every column becomes metadata, as the uploader reads
        it, with a leading ``%`` dropped from the names) or one dict of
        metadata per subject.
    y_true : array-like of shape (n_subjects,)
        The true label of each subject, in the order of ``manifest``. The
        answer written is the label itself; a Zooniverse question task
        records the index of the answer chosen, so labels ``0, 1, ...``
        mimic it exactly.
    task : str, default='T0'
        Id of the question task.
    n_volunteers, votes_per_subject, accuracy, confusion, accuracy_spread :
        Passed to :func:`simulate_volunteers`.
    first_subject_id : int, default=1000
        Subject id of the first subject.
    workflow_id : int, default=1
    workflow_name : str, default='Classify'
    random_state : int, RandomState instance or None, default=None
        The same value gives the same file.

    Returns
    -------
    votes : dict of ndarray
        The vote table written: ``'subject'`` (the subject ids),
        ``'volunteer'`` (user names), ``'label'``, ``'classification_id'``
        and ``'confusion'`` (see :func:`simulate_volunteers`), in the order
        of the file.

    Examples
    --------
    >>> import os, tempfile
    >>> from skdec import read_zooniverse_export, write_zooniverse_export
    >>> manifest = [{"image": f"subject_{i}.png", "#row": str(i)} for i in range(4)]
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = os.path.join(folder, "classifications.csv")
    ...     written = write_zooniverse_export(
    ...         path, manifest, [0, 1, 1, 0], n_volunteers=3, votes_per_subject=2,
    ...         accuracy=1.0, random_state=0)
    ...     votes = read_zooniverse_export(path, "T0")
    >>> sorted(zip(votes["subject"].tolist(), votes["label"].tolist()))[:3]
    [(1000, 0), (1000, 0), (1001, 1)]
    """
    import hashlib

    rows = _manifest_rows(manifest)
    y_true = np.asarray(y_true)
    if y_true.ndim != 1 or len(y_true) != len(rows):
        raise ValueError(
            f"y_true must hold one label per subject of the manifest ({len(rows)}); "
            f"got shape {y_true.shape}."
        )
    rng = check_random_state(random_state)
    simulated = simulate_volunteers(
        y_true,
        n_volunteers,
        votes_per_subject,
        accuracy=accuracy,
        confusion=confusion,
        accuracy_spread=accuracy_spread,
        random_state=rng,
    )
    order = rng.permutation(len(simulated["subject"]))
    position = simulated["subject"][order]
    volunteer = simulated["volunteer"][order]
    label = simulated["label"][order]
    subject_ids = first_subject_id + position
    names = np.array([f"volunteer-{j:03d}" for j in range(n_volunteers)])
    start = np.datetime64("2024-01-01T09:00:00")
    seconds = np.cumsum(rng.randint(5, 60, size=len(order)))
    header = list(ZOONIVERSE_COLUMNS)
    classification_ids = np.arange(len(order), dtype=np.int64) + 10_000_000
    with Path(path).open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        for i, (p, j, answer) in enumerate(zip(position, volunteer, label)):
            finished = start + np.timedelta64(int(seconds[i]), "s")
            began = finished - np.timedelta64(4, "s")
            sid = str(subject_ids[i])
            writer.writerow(
                [
                    classification_ids[i],
                    names[j],
                    100_000 + int(j),
                    hashlib.sha1(names[j].encode()).hexdigest()[:20],
                    workflow_id,
                    workflow_name,
                    "1.1",
                    str(finished).replace("T", " ") + " UTC",
                    "",
                    "",
                    json.dumps(
                        {
                            "source": "api",
                            "user_agent": "skdec.write_zooniverse_export",
                            "started_at": str(began) + ".000Z",
                            "finished_at": str(finished) + ".000Z",
                            "utc_offset": "0",
                            "subject_dimensions": [None],
                        }
                    ),
                    json.dumps(
                        [
                            {
                                "task": task,
                                "task_label": "Which class is this subject?",
                                "value": _json_scalar(answer),
                            }
                        ]
                    ),
                    json.dumps({sid: {"retired": None, **rows[p]}}),
                    sid,
                ]
            )
    return {
        "subject": subject_ids.astype(np.int64),
        "volunteer": names[volunteer],
        "label": label,
        "classification_id": classification_ids.astype(str),
        "confusion": simulated["confusion"],
    }
