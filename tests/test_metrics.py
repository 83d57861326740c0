import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.base import BaseEstimator, ClusterMixin
from sklearn.cluster import KMeans
from sklearn.datasets import make_blobs
from sklearn.metrics import get_scorer
from sklearn.model_selection import GridSearchCV, cross_val_score

from skdec.metrics import (
    SCORERS,
    accuracy_scorer,
    adjusted_rand_score,
    ari_scorer,
    cluster_accuracy,
    cluster_mapping,
    clustering_report,
    nmi_scorer,
    normalized_mutual_info_score,
)


@st.composite
def labelings(draw, max_size=40, max_labels=6):
    """Two labelings of the same samples, with independent label sets."""
    n = draw(st.integers(1, max_size))
    n_true = draw(st.integers(1, max_labels))
    n_pred = draw(st.integers(1, max_labels))
    y_true = draw(st.lists(st.integers(0, n_true - 1), min_size=n, max_size=n))
    y_pred = draw(st.lists(st.integers(0, n_pred - 1), min_size=n, max_size=n))
    return np.array(y_true), np.array(y_pred)


@st.composite
def relabelling(draw, labels):
    """An injective renaming of the values in ``labels`` to arbitrary ints."""
    values = np.unique(labels)
    new = draw(
        st.lists(
            st.integers(-1000, 1000),
            min_size=values.size,
            max_size=values.size,
            unique=True,
        )
    )
    lookup = dict(zip(values.tolist(), new))
    return np.array([lookup[v] for v in labels.tolist()])


def brute_force_accuracy(y_true, y_pred):
    """Best accuracy over all injective cluster->class maps (small inputs)."""
    clusters, classes = np.unique(y_pred), np.unique(y_true)
    best = 0
    if clusters.size <= classes.size:
        for image in itertools.permutations(classes, clusters.size):
            mapping = dict(zip(clusters, image))
            best = max(best, sum(mapping[p] == t for p, t in zip(y_pred, y_true)))
    else:
        for image in itertools.permutations(clusters, classes.size):
            mapping = dict(zip(classes, image))
            best = max(best, sum(mapping[t] == p for p, t in zip(y_pred, y_true)))
    return best / y_true.size


def contingency(y_true, y_pred):
    _, t = np.unique(y_true, return_inverse=True)
    _, p = np.unique(y_pred, return_inverse=True)
    table = np.zeros((p.max() + 1, t.max() + 1), dtype=int)
    np.add.at(table, (p, t), 1)
    return table


def test_examples():
    assert cluster_accuracy([0, 0, 1, 1], [1, 1, 0, 0]) == 1.0
    assert cluster_accuracy([0, 0, 1, 1], [0, 0, 0, 0]) == 0.5
    assert cluster_accuracy([0, 1, 2, 3], [0, 0, 0, 0]) == 0.25
    assert cluster_accuracy([0, 0, 0, 0], [0, 1, 2, 3]) == 0.25
    # 3 clusters, 2 classes: the surplus cluster counts as wrong.
    assert cluster_accuracy([0, 0, 0, 1, 1, 1], [0, 0, 2, 1, 1, 1]) == 5 / 6
    assert cluster_accuracy(["x", "y", "y"], [7.5, 2.5, 2.5]) == 1.0
    assert isinstance(cluster_accuracy([0], [0]), float)


def test_one_to_one_is_not_majority_vote():
    # Majority voting would map both clusters to class 0 (purity 0.8);
    # a one-to-one matching cannot.
    y_true = [0, 0, 0, 0, 1]
    y_pred = [0, 0, 0, 1, 1]
    assert cluster_accuracy(y_true, y_pred) == 0.8
    y_true = [0, 0, 0, 0, 0, 1]
    y_pred = [0, 0, 0, 1, 1, 1]
    assert cluster_accuracy(y_true, y_pred) == 4 / 6


def test_cluster_mapping():
    y_true = np.array(["a", "a", "b", "b", "c", "c", "c"])
    y_pred = np.array([2, 2, 0, 0, 1, 1, 5])
    mapping = cluster_mapping(y_true, y_pred)
    assert mapping == {0: "b", 1: "c", 2: "a"}
    assert all(type(k) is int and type(v) is str for k, v in mapping.items())
    # Fewer clusters than classes: every cluster is mapped, some class is not.
    assert cluster_mapping([0, 0, 1, 2], [4, 4, 4, 3]) == {3: 2, 4: 0}


@settings(max_examples=200, deadline=None)
@given(labelings())
def test_accuracy_matches_brute_force(pair):
    y_true, y_pred = pair
    assert cluster_accuracy(y_true, y_pred) == pytest.approx(
        brute_force_accuracy(y_true, y_pred)
    )


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_invariant_to_relabelling(data):
    y_true, y_pred = data.draw(labelings())
    new_true = data.draw(relabelling(y_true))
    new_pred = data.draw(relabelling(y_pred))
    acc = cluster_accuracy(y_true, y_pred)
    assert cluster_accuracy(new_true, y_pred) == acc
    assert cluster_accuracy(y_true, new_pred) == acc
    assert cluster_accuracy(new_true, new_pred) == acc


@settings(max_examples=200, deadline=None)
@given(labelings())
def test_symmetric(pair):
    y_true, y_pred = pair
    assert cluster_accuracy(y_true, y_pred) == cluster_accuracy(y_pred, y_true)


@settings(max_examples=200, deadline=None)
@given(labelings())
def test_bounds(pair):
    y_true, y_pred = pair
    n = y_true.size
    acc = cluster_accuracy(y_true, y_pred)
    table = contingency(y_true, y_pred)
    purity = table.max(axis=1).sum() / n  # many clusters may share a class
    inverse_purity = table.max(axis=0).sum() / n
    assert 0 < acc <= 1
    # Any single (cluster, class) pair is a valid matching ...
    assert acc >= table.max() / n
    # ... and one-to-one can do no better than many-to-one in either direction.
    assert acc <= min(purity, inverse_purity) + 1e-12


@settings(max_examples=200, deadline=None)
@given(labelings(max_labels=4))
def test_perfect_iff_bijection(pair):
    y_true, y_pred = pair
    n_pairs = len(set(zip(y_true.tolist(), y_pred.tolist())))
    bijection = n_pairs == np.unique(y_true).size == np.unique(y_pred).size
    assert (cluster_accuracy(y_true, y_pred) == 1.0) == bijection


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_bijective_relabelling_is_perfect(data):
    y_true, _ = data.draw(labelings())
    assert cluster_accuracy(y_true, data.draw(relabelling(y_true))) == 1.0


@settings(max_examples=200, deadline=None)
@given(labelings())
def test_mapping_realises_accuracy(pair):
    y_true, y_pred = pair
    mapping = cluster_mapping(y_true, y_pred)
    n_clusters, n_classes = np.unique(y_pred).size, np.unique(y_true).size
    assert len(mapping) == min(n_clusters, n_classes)
    assert len(set(mapping.values())) == len(mapping)  # one-to-one
    assert set(mapping) <= set(y_pred.tolist())
    assert set(mapping.values()) <= set(y_true.tolist())
    mapped = np.array([mapping.get(c, None) for c in y_pred.tolist()], dtype=object)
    assert np.mean(mapped == y_true) == pytest.approx(cluster_accuracy(y_true, y_pred))


def test_clustering_report():
    y_true = [0, 0, 1, 1, 2, 2]
    y_pred = [1, 1, 0, 0, 0, 2]
    report = clustering_report(y_true, y_pred)
    assert report == {
        "acc": pytest.approx(5 / 6),
        "nmi": pytest.approx(normalized_mutual_info_score(y_true, y_pred)),
        "ari": pytest.approx(adjusted_rand_score(y_true, y_pred)),
    }
    assert list(report) == ["acc", "nmi", "ari"]
    assert all(type(v) is float for v in report.values())


@pytest.mark.parametrize("func", [cluster_accuracy, cluster_mapping, clustering_report])
@pytest.mark.parametrize(
    "y_true, y_pred, match",
    [
        ([0, 1, 1], [0, 1], "same length; got 3 and 2"),
        ([], [], "y_true is empty"),
        ([[0, 1], [1, 0]], [0, 1], r"y_true must be a 1-D array.*\(2, 2\)"),
        ([0, 1], [[0], [1]], r"y_pred must be a 1-D array.*\(2, 1\)"),
        (0, [0], r"y_true must be a 1-D array.*\(\)"),
    ],
)
def test_invalid_input(func, y_true, y_pred, match):
    with pytest.raises(ValueError, match=match):
        func(y_true, y_pred)


def test_scorers_registry():
    assert SCORERS == {
        "cluster_accuracy": accuracy_scorer,
        "nmi": nmi_scorer,
        "ari": ari_scorer,
    }


class FixedLabels(ClusterMixin, BaseEstimator):
    """Minimal clusterer whose predict returns given labels."""

    def __init__(self, labels=None):
        self.labels = labels

    def fit(self, X, y=None):
        return self

    def predict(self, X):
        return self.labels


def test_scorers_compare_predict_with_y():
    y = np.array([0, 0, 1, 1, 2, 2])
    pred = np.array([2, 2, 0, 0, 0, 1])
    est, X = FixedLabels(pred), np.zeros((6, 1))
    assert accuracy_scorer(est, X, y) == cluster_accuracy(y, pred)
    assert nmi_scorer(est, X, y) == normalized_mutual_info_score(y, pred)
    assert ari_scorer(est, X, y) == adjusted_rand_score(y, pred)


def test_grid_search_with_accuracy_scorer():
    X, y = make_blobs(n_samples=300, centers=3, cluster_std=0.5, random_state=0)
    search = GridSearchCV(
        KMeans(n_init=3, random_state=0),
        param_grid={"n_clusters": [2, 3, 4]},
        scoring=accuracy_scorer,
        cv=3,
    ).fit(X, y)
    assert search.best_params_ == {"n_clusters": 3}
    assert search.best_score_ == pytest.approx(1.0)
    scores = search.cv_results_["mean_test_score"]
    assert scores[1] > scores[0] and scores[1] > scores[2]


def test_multimetric_grid_search_with_scorers_dict():
    X, y = make_blobs(n_samples=150, centers=3, cluster_std=0.5, random_state=1)
    search = GridSearchCV(
        KMeans(n_init=3, random_state=0),
        param_grid={"n_clusters": [2, 3]},
        scoring=SCORERS,
        refit="nmi",
        cv=3,
    ).fit(X, y)
    assert search.best_params_ == {"n_clusters": 3}
    for name in SCORERS:
        assert f"mean_test_{name}" in search.cv_results_
    ari = cross_val_score(KMeans(3, n_init=3, random_state=0), X, y, scoring=ari_scorer)
    assert np.all(ari > 0.9)
    assert get_scorer(ari_scorer) is ari_scorer
