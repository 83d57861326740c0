import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.base import clone

from skdec import ClusterLabelMapper

CLUSTERS = np.array([0, 0, 0, 1, 1, 2, 2, 2])
LABELS = np.array([5, 5, -1, 7, -1, 5, 7, 5])


@st.composite
def labelled_clusterings(draw, max_size=40, max_clusters=6, max_classes=5):
    """Cluster ids and labels (some -1) where every cluster has a labelled member."""
    k = draw(st.integers(1, max_clusters))
    n_classes = draw(st.integers(1, max_classes))
    n = draw(st.integers(k, max_size))
    rest = draw(st.lists(st.integers(0, k - 1), min_size=n - k, max_size=n - k))
    clusters = np.array(list(range(k)) + rest)
    labels = np.array(
        draw(st.lists(st.integers(0, n_classes - 1), min_size=n, max_size=n))
    )
    hidden = np.array(draw(st.lists(st.booleans(), min_size=n, max_size=n)))
    hidden[:k] = False  # the first member of each cluster stays labelled
    labels[hidden] = -1
    return clusters, labels


def test_majority_mapping_confidence_and_counts():
    mapper = ClusterLabelMapper(fallback="unknown").fit(CLUSTERS, LABELS)
    assert mapper.mapping_ == {0: 5, 1: 7, 2: 5}
    np.testing.assert_array_equal(mapper.classes_, [5, 7])
    np.testing.assert_array_equal(mapper.n_labelled_, [2, 1, 3])
    np.testing.assert_allclose(mapper.confidence_, [1, 1, 2 / 3])
    np.testing.assert_allclose(
        mapper.cluster_label_proba_, [[1, 0], [0, 1], [2 / 3, 1 / 3]]
    )
    np.testing.assert_array_equal(mapper.predict(CLUSTERS), [5, 5, 5, 7, 7, 5, 5, 5])
    assert mapper.n_clusters_ == 3


def test_hungarian_is_one_to_one():
    clusters = np.array([0, 0, 1, 1, 1, 2, 2])
    labels = np.array([1, 1, 1, 1, 0, 0, -1])
    many = ClusterLabelMapper(fallback="unknown").fit(clusters, labels)
    assert many.mapping_ == {0: 1, 1: 1, 2: 0}
    one = ClusterLabelMapper("hungarian", fallback="unknown").fit(clusters, labels)
    # cluster 1 has 2 votes for 1; cluster 0 has 2 for 1 too; only one gets 1,
    # label 0 goes where it is supported; the third cluster stays unmatched.
    values = [v for v in one.mapping_.values() if v != -1]
    assert len(values) == len(set(values)) == 2
    assert -1 in one.mapping_.values()
    np.testing.assert_allclose(one.cluster_label_proba_.sum(axis=1), 1)
    for k, label in one.mapping_.items():
        if label != -1:
            assert one.cluster_label_proba_[k, list(one.classes_).index(label)] == 1


def test_hungarian_never_assigns_unsupported_label():
    # cluster 1 only holds label 0, which cluster 0 wins; it must not get 1.
    clusters = np.array([0, 0, 0, 1, 2])
    labels = np.array([0, 0, 0, 0, 1])
    one = ClusterLabelMapper("hungarian", fallback="unknown").fit(clusters, labels)
    assert one.mapping_ == {0: 0, 1: -1, 2: 1}
    np.testing.assert_allclose(one.cluster_label_proba_[1], [0.5, 0.5])
    assert one.confidence_[1] == 0


def test_probabilistic_weights_by_soft_assignment():
    Q = np.array([[0.9, 0.1], [0.8, 0.2], [0.3, 0.7], [0.5, 0.5]])
    labels = np.array([0, 1, 1, -1])
    mapper = ClusterLabelMapper("probabilistic").fit(Q, labels)
    # cluster 0 receives 0.9 of label 0 and 0.8 + 0.3 of label 1
    np.testing.assert_allclose(
        mapper.cluster_label_proba_[0], [0.9 / 2.0, 1.1 / 2.0], atol=1e-12
    )
    np.testing.assert_allclose(mapper.cluster_label_proba_[1], [0.1, 0.9])
    proba = mapper.predict_proba(Q)
    np.testing.assert_allclose(proba, Q @ mapper.cluster_label_proba_)
    np.testing.assert_array_equal(mapper.predict(Q), np.argmax(proba, axis=1))
    # hard clusters use the cluster's row
    np.testing.assert_allclose(
        mapper.predict_proba([0, 1]), mapper.cluster_label_proba_
    )


def test_sample_weight_changes_majority():
    clusters = np.array([0, 0, 0])
    labels = np.array([1, 2, 2])
    assert ClusterLabelMapper().fit(clusters, labels).mapping_ == {0: 2}
    weighted = ClusterLabelMapper().fit(clusters, labels, sample_weight=[5, 1, 1])
    assert weighted.mapping_ == {0: 1}
    np.testing.assert_allclose(weighted.confidence_, [5 / 7])


def test_fallback_nearest_uses_centers():
    centers = np.array([[0.0, 0.0], [10.0, 0.0], [9.0, 1.0], [1.0, 0.5]])
    clusters = np.array([0, 0, 1, 1, 2, 3])
    labels = np.array([4, 4, 9, 9, -1, -1])
    mapper = ClusterLabelMapper(cluster_centers=centers).fit(clusters, labels)
    assert mapper.mapping_ == {0: 4, 1: 9, 2: 9, 3: 4}
    np.testing.assert_array_equal(mapper.fallback_clusters_, [2, 3])
    np.testing.assert_allclose(mapper.confidence_, [1, 1, 0, 0])
    np.testing.assert_array_equal(mapper.n_labelled_, [2, 2, 0, 0])
    np.testing.assert_allclose(
        mapper.cluster_label_proba_[2], mapper.cluster_label_proba_[1]
    )


def test_fallback_unknown_predicts_unknown_label():
    mapper = ClusterLabelMapper(fallback="unknown", unknown_label=-7, n_clusters=3)
    mapper.fit([0, 0, 1, 2], [3, 3, -7, -7])
    assert mapper.mapping_ == {0: 3, 1: -7, 2: -7}
    np.testing.assert_array_equal(mapper.predict([0, 1, 2]), [3, -7, -7])
    np.testing.assert_allclose(mapper.predict_proba([2]), [[1.0]])


def test_string_labels_and_unknown_string():
    mapper = ClusterLabelMapper(fallback="unknown", unknown_label="?")
    mapper.fit([0, 1, 1, 2], ["cat", "dog", "?", "?"])
    assert mapper.mapping_ == {0: "cat", 1: "dog", 2: "?"}
    assert list(mapper.predict([0, 1, 2])) == ["cat", "dog", "?"]


def test_nearest_without_centers_raises():
    with pytest.raises(ValueError, match=r"Cluster\(s\) \[1\].*cluster_centers"):
        ClusterLabelMapper(n_clusters=2).fit([0, 0, 1], [1, 1, -1])


@pytest.mark.parametrize(
    "clusters, labels, match",
    [
        ([0, 1, 2], [1, 2], "3 subjects"),
        ([0, 1], [-1, -1], "No labelled subject"),
        ([0, -2, 1], [1, 1, 1], "row 1"),
        ([0, 1.5, 1], [1, 1, 1], "row 1"),
        ([0, 1, 1], [0.5, 1.2, 3.3], "Unknown label type"),
    ],
)
def test_bad_input(clusters, labels, match):
    with pytest.raises(ValueError, match=match):
        ClusterLabelMapper(fallback="unknown").fit(clusters, labels)


def test_bad_test_input_names_row():
    mapper = ClusterLabelMapper(fallback="unknown").fit([0, 1], [0, 1])
    with pytest.raises(ValueError, match="cluster id 5 at row 2"):
        mapper.predict([0, 1, 5])
    with pytest.raises(ValueError, match="3 columns"):
        mapper.predict(np.ones((2, 3)))
    with pytest.raises(ValueError, match="non-negative"):
        ClusterLabelMapper("probabilistic").fit([[1.0, -1.0]], [0])
    with pytest.raises(ValueError, match="cluster_centers has 2 rows"):
        mapper = ClusterLabelMapper(cluster_centers=np.zeros((2, 1)))
        mapper.fit(np.ones((2, 3)), [0, 1])


@settings(max_examples=60, deadline=None)
@given(labelled_clusterings(), st.sampled_from(["majority", "probabilistic"]))
def test_majority_agrees_with_member_votes(data, strategy):
    clusters, labels = data
    mapper = ClusterLabelMapper(strategy, fallback="unknown").fit(clusters, labels)
    proba = mapper.cluster_label_proba_
    np.testing.assert_allclose(proba.sum(axis=1), 1)
    for k in range(mapper.n_clusters_):
        member = labels[(clusters == k) & (labels != -1)]
        values, counts = np.unique(member, return_counts=True)
        # the mapped label is among the most frequent labels of the cluster
        assert mapper.mapping_[k] in values[counts == counts.max()]
        assert mapper.confidence_[k] == pytest.approx(counts.max() / counts.sum())
        assert mapper.n_labelled_[k] == member.size
    # every subject's prediction is its cluster's label
    expected = [mapper.mapping_[k] for k in clusters]
    np.testing.assert_array_equal(mapper.predict(clusters), expected)


@settings(max_examples=60, deadline=None)
@given(labelled_clusterings(), st.randoms(use_true_random=False))
def test_mapping_equivariant_to_cluster_renaming(data, rnd):
    clusters, labels = data
    k = int(clusters.max()) + 1
    perm = np.array(rnd.sample(range(k), k))
    for strategy in ("majority", "hungarian"):
        base = ClusterLabelMapper(strategy, fallback="unknown").fit(clusters, labels)
        renamed = ClusterLabelMapper(strategy, fallback="unknown").fit(
            perm[clusters], labels
        )
        if strategy == "majority":
            for c in range(k):
                assert renamed.mapping_[int(perm[c])] == base.mapping_[c]

        # the number of subjects given each label is a property of the data, up
        # to Hungarian ties: compare the matched weight instead of the labels
        def matched(m, ids):
            pred = m.predict(ids)
            return int(((pred == labels) & (labels != -1)).sum())

        assert matched(renamed, perm[clusters]) == matched(base, clusters)


@settings(max_examples=60, deadline=None)
@given(labelled_clusterings())
def test_hungarian_uses_each_label_at_most_once(data):
    clusters, labels = data
    mapper = ClusterLabelMapper("hungarian", fallback="unknown").fit(clusters, labels)
    used = [v for v in mapper.mapping_.values() if v != -1]
    assert len(used) == len(set(used))
    n_classes = np.unique(labels[labels != -1]).size
    assert len(used) <= min(n_classes, mapper.n_clusters_)
    # the Hungarian matching agrees with at least as many labelled subjects as
    # any one-to-one map restricted to the majority labels
    labelled = labels != -1
    agree = (mapper.predict(clusters) == labels) & labelled
    majority = ClusterLabelMapper(fallback="unknown").fit(clusters, labels)
    maj_pred = majority.predict(clusters)
    assert agree.sum() <= ((maj_pred == labels) & labelled).sum()


@settings(max_examples=40, deadline=None)
@given(labelled_clusterings(), st.integers(0, 2**31 - 1))
def test_relabelling_labels_relabels_mapping(data, seed):
    clusters, labels = data
    rng = np.random.default_rng(seed)
    values = np.unique(labels[labels != -1])
    new = rng.choice(1000, size=values.size, replace=False) + 100
    lookup = dict(zip(values.tolist(), new.tolist()))
    lookup[-1] = -1
    relabelled = np.array([lookup[v] for v in labels.tolist()])
    base = ClusterLabelMapper(fallback="unknown").fit(clusters, labels)
    other = ClusterLabelMapper(fallback="unknown").fit(clusters, relabelled)
    # ties may be broken differently after relabelling; the confidences cannot
    np.testing.assert_allclose(other.confidence_, base.confidence_)
    for k, v in base.mapping_.items():
        if base.confidence_[k] > 0.5:
            assert other.mapping_[k] == lookup[v]


def test_clone_and_refit_with_fewer_clusters():
    mapper = ClusterLabelMapper(fallback="unknown").fit(np.eye(3), [0, 1, 2])
    assert mapper.n_features_in_ == 3
    refit = clone(mapper).fit([0, 0], [1, 1])
    assert not hasattr(refit, "n_features_in_") and refit.n_clusters_ == 1
