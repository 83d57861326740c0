import pickle
from copy import deepcopy

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from sklearn.cluster import KMeans
from sklearn.datasets import make_blobs
from sklearn.exceptions import NotFittedError
from sklearn.metrics import adjusted_rand_score
from sklearn.preprocessing import MinMaxScaler

from skdec import DECClusterer, dissolve_cluster, merge_clusters
from skdec.nn import ClusteringLayer

HYPOTHESIS = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


@pytest.fixture(scope="module")
def blobs():
    X, y = make_blobs(240, n_features=10, centers=4, cluster_std=0.4, random_state=1)
    return MinMaxScaler().fit_transform(X).astype(np.float32), y


@pytest.fixture(scope="module")
def fitted(blobs):
    from conftest import FAST_DEC

    return DECClusterer(4, random_state=0, **FAST_DEC).fit(blobs[0])


def with_centers(model, centers, X):
    """A copy of the fitted ``model`` whose clustering layer has ``centers``."""
    model = deepcopy(model)
    layer = model.module_.clustering_layer
    model.module_.clustering_layer = ClusteringLayer(
        len(centers), centers.shape[1], layer.alpha, torch.as_tensor(centers)
    )
    model.n_clusters_ = len(centers)
    model.cluster_centers_ = model.module_.clustering_layer.centers.detach().numpy()
    model.cluster_centers_ = model.cluster_centers_.astype(np.float64)
    model.labels_ = model.predict(X)
    return model


@st.composite
def random_centers(draw, min_k=1, max_k=6):
    """Centres near random samples of the embedding, or anywhere in its box."""
    k = draw(st.integers(min_k, max_k))
    seed = draw(st.integers(0, 2**31 - 1))
    spread = draw(st.sampled_from([0.0, 0.1, 1.0, 5.0]))
    return k, seed, spread


def make_centers(Z, k, seed, spread):
    rng = np.random.RandomState(seed)
    centers = Z[rng.choice(len(Z), k, replace=False)]
    return centers + spread * Z.std(axis=0) * rng.standard_normal(centers.shape)


def next_best(model, X, cluster):
    """Argmax of the soft assignment once ``cluster``'s column is removed."""
    q = np.delete(model.predict_proba(X), cluster, axis=1)
    return q.argmax(axis=1)


# ----------------------------------------------------------- property tests
@HYPOTHESIS
@given(
    centers=random_centers(min_k=2),
    strategy=st.sampled_from(["delete", "reinit", "split"]),
    which=st.integers(0, 5),
    n_samples=st.integers(20, 240),
    seed=st.integers(0, 1000),
)
def test_dissolve_invariants(fitted, blobs, centers, strategy, which, n_samples, seed):
    X = blobs[0][:n_samples]
    Z = fitted.transform(X)
    model = with_centers(fitted, make_centers(Z, *centers), X)
    k = model.n_clusters_
    cluster = which % k
    before = model.predict(X)
    members = before == cluster
    if strategy == "split":
        assume(len(np.unique(Z[members], axis=0)) >= 2)
    centers_before = model.cluster_centers_.copy()

    new, report = dissolve_cluster(
        model,
        cluster,
        strategy,
        X,
        refine_iter=0,
        random_state=seed,
        return_report=True,
    )
    # the original model is untouched
    assert model.n_clusters_ == k
    np.testing.assert_array_equal(model.cluster_centers_, centers_before)
    np.testing.assert_array_equal(model.predict(X), before)

    delta = {"delete": -1, "reinit": 0, "split": 1}[strategy]
    assert new.n_clusters_ == k + delta == report["n_clusters_after"]
    assert new.cluster_centers_.shape == (k + delta, Z.shape[1])
    after = new.predict(X)
    assert after.shape == (len(X),) and new.labels_.shape == (len(X),)
    assert new.predict_proba(X).shape == (len(X), k + delta)
    np.testing.assert_array_equal(after, report["labels_surgery"])
    np.testing.assert_array_equal(before, report["labels_before"])
    assert after.min() >= 0 and after.max() < k + delta

    label_map = report["label_map"]
    if strategy in ("delete", "split"):
        # exactly: no sample of another cluster changes cluster
        np.testing.assert_array_equal(after[~members], label_map[before[~members]])
        assert report["stability_surgery"] == 1.0
    if strategy == "delete":
        expected = next_best(model, X, cluster)
        np.testing.assert_array_equal(after[members], expected[members])
        assert (after != label_map[cluster]).all() and label_map[cluster] == -1
    if strategy == "split":
        # members end in one of the two children or a next-best cluster
        assert np.isin(after[members], np.arange(k + 1)).all()
        # both children receive members (only members can move)
        assert (after == cluster).any() and (after == k).any()
    if strategy == "reinit":
        # the new centre is the embedding of one sample of X
        dists = np.linalg.norm(Z - new.cluster_centers_[cluster], axis=1)
        assert dists.min() < 1e-5


@HYPOTHESIS
@given(
    centers=random_centers(min_k=2),
    data=st.data(),
    n_samples=st.integers(20, 240),
)
def test_merge_invariants(fitted, blobs, centers, data, n_samples):
    X = blobs[0][:n_samples]
    model = with_centers(fitted, make_centers(fitted.transform(X), *centers), X)
    k = model.n_clusters_
    ids = data.draw(
        st.lists(st.integers(0, k - 1), min_size=2, max_size=k, unique=True)
    )
    before = model.predict(X)
    new, report = merge_clusters(model, ids, X, refine_iter=0, return_report=True)
    assert model.n_clusters_ == k
    assert new.n_clusters_ == k - (len(ids) - 1)
    after = new.predict(X)
    assert after.shape == (len(X),)
    label_map = report["label_map"]
    assert set(label_map[ids]) == {min(ids)}
    # the other ids stay contiguous and in order
    others = np.setdiff1d(np.arange(k), ids)
    np.testing.assert_array_equal(np.sort(label_map[others]), label_map[others])
    assert set(label_map) == set(range(new.n_clusters_))
    outside = ~np.isin(before, ids)
    np.testing.assert_array_equal(after[outside], label_map[before[outside]])
    assert report["stability"] == 1.0


# --------------------------------------------------------- refined results
@pytest.mark.parametrize("strategy", ["delete", "reinit", "split"])
def test_refined_model_is_a_valid_fitted_estimator(fitted, blobs, strategy):
    X, _ = blobs
    new, report = dissolve_cluster(
        fitted, 1, strategy, X, refine_iter=30, random_state=0, return_report=True
    )
    k = new.n_clusters_
    assert k == new.cluster_centers_.shape[0] == new.predict_proba(X).shape[1]
    assert new.n_clusters == fitted.n_clusters  # the hyperparameter stays
    assert new.dec_net_.module_ is new.module_
    assert new.module_ is not fitted.module_
    assert fitted.n_iter_ < new.n_iter_ <= fitted.n_iter_ + 30
    assert len(new.history_) > len(fitted.history_)
    iterations = [h["iteration"] for h in new.history_]
    assert iterations == sorted(iterations)
    np.testing.assert_array_equal(new.labels_, new.predict(X))
    np.testing.assert_array_equal(report["labels_after"], new.labels_)
    np.testing.assert_allclose(new.predict_proba(X).sum(axis=1), 1, rtol=1e-5)
    assert new.transform(X).shape == (len(X), fitted.cluster_centers_.shape[1])
    assert np.isfinite(new.score(X))
    restored = pickle.loads(pickle.dumps(new))
    np.testing.assert_array_equal(restored.predict(X), new.predict(X))
    assert 0.0 <= report["stability"] <= 1.0
    if strategy != "reinit":
        # well separated blobs: the three untouched clusters barely move (a
        # re-initialised centre, in contrast, must take samples from them)
        assert report["stability"] > 0.9


def test_same_random_state_same_result_and_global_rng_untouched(fitted, blobs):
    X, _ = blobs
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    a = dissolve_cluster(fitted, 2, "reinit", X, refine_iter=25, random_state=7)
    assert torch.equal(torch.rand(3), expected)
    b = dissolve_cluster(fitted, 2, "reinit", X, refine_iter=25, random_state=7)
    np.testing.assert_array_equal(a.cluster_centers_, b.cluster_centers_)
    np.testing.assert_array_equal(a.labels_, b.labels_)


def test_in_place(fitted, blobs):
    X, _ = blobs
    model = deepcopy(fitted)
    out = dissolve_cluster(model, 0, "delete", X, refine_iter=0, copy=False)
    assert out is model and model.n_clusters_ == 3
    out = merge_clusters(model, [0, 1], X, refine_iter=0, copy=False)
    assert out is model and model.n_clusters_ == 2
    assert fitted.n_clusters_ == 4


@pytest.fixture(scope="module")
def merged_blobs(blobs):
    """Three clusters on four blobs: one cluster holds two whole blobs."""
    from conftest import FAST_DEC

    X, y = blobs
    model = DECClusterer(3, random_state=0, **FAST_DEC).fit(X)
    mixed = [c for c in range(3) if len(np.unique(y[model.labels_ == c])) == 2]
    assert len(mixed) == 1, "the fixture expects exactly one mixed cluster"
    return model, mixed[0]


@pytest.mark.parametrize("use_labels", [False, True])
def test_split_separates_a_mixed_cluster(blobs, merged_blobs, use_labels):
    X, y = blobs
    model, mixed = merged_blobs
    assert adjusted_rand_score(y, model.labels_) < 0.9
    y_partial = None
    if use_labels:
        # a few labelled members, the rest unlabelled (-1)
        y_partial = np.full_like(y, -1)
        labelled = np.random.RandomState(0).choice(len(y), 30, replace=False)
        y_partial[labelled] = y[labelled]
    new, report = dissolve_cluster(
        model,
        mixed,
        "split",
        X,
        y=y_partial,
        refine_iter=40,
        random_state=0,
        return_report=True,
    )
    assert new.n_clusters_ == 4
    assert report["stability"] == 1.0
    assert adjusted_rand_score(y, new.labels_) == 1.0


def test_split_by_labels_follows_the_labelled_classes(blobs, merged_blobs):
    X, y = blobs
    model, mixed = merged_blobs
    Z = model.transform(X)
    members = np.flatnonzero(model.labels_ == mixed)
    # arbitrary labels: classes 7 (5 members), 3 (4) and 9 (2); the split
    # heads from the old centre towards the means of the two most frequent
    y_partial = np.full_like(y, -1)
    y_partial[members[:5]] = 7
    y_partial[members[5:9]] = 3
    y_partial[members[9:11]] = 9
    new = dissolve_cluster(model, mixed, "split", X, y=y_partial, refine_iter=0)
    parent = model.cluster_centers_[mixed]
    for child, idx in [(mixed, members[:5]), (3, members[5:9])]:
        step = new.cluster_centers_[child] - parent
        target = Z[idx].mean(axis=0) - parent
        t = step @ target / (target @ target)
        assert 0 < t <= 1 + 1e-4
        np.testing.assert_allclose(step, t * target, atol=1e-5)


@pytest.mark.filterwarnings("ignore::skdec.net.EmptyClusterWarning")
def test_merge_joins_an_over_split_blob(blobs):
    from conftest import FAST_DEC

    X, y = blobs
    model = DECClusterer(5, random_state=0, **FAST_DEC).fit(X)
    majority = np.array([np.bincount(y[model.labels_ == c]).argmax() for c in range(5)])
    shared = [c for c in range(5) if (majority == majority[c]).sum() == 2]
    assert len(shared) == 2, "the fixture expects one blob in two clusters"
    assert adjusted_rand_score(y, model.labels_) < 1.0
    merged, report = merge_clusters(
        model, shared, X, refine_iter=20, random_state=0, return_report=True
    )
    assert merged.n_clusters_ == 4
    assert report["stability"] == 1.0
    assert adjusted_rand_score(y, merged.labels_) == 1.0


def test_delete_sends_members_to_next_best_and_refines(blobs, fitted):
    X, y = blobs
    new, report = dissolve_cluster(
        fitted, 0, "delete", X, refine_iter=20, random_state=0, return_report=True
    )
    members = report["labels_before"] == 0
    np.testing.assert_array_equal(
        report["labels_surgery"][members], next_best(fitted, X, 0)[members]
    )
    assert new.n_clusters_ == 3
    assert report["stability"] > 0.9
    # the other three blobs stay one cluster each
    outside = ~members
    assert adjusted_rand_score(y[outside], new.labels_[outside]) == 1.0


# ---------------------------------------------------------------- bad input
def test_bad_input(blobs, fitted):
    X, y = blobs
    with pytest.raises(ValueError, match=r"cluster=4 does not exist.*ids 0 to 3"):
        dissolve_cluster(fitted, 4, "delete", X)
    with pytest.raises(ValueError, match="cluster=-1 does not exist"):
        dissolve_cluster(fitted, -1, "split", X)
    with pytest.raises(TypeError, match="cluster must be an integer"):
        dissolve_cluster(fitted, 1.0, "delete", X)
    with pytest.raises(TypeError, match="cluster must be an integer"):
        dissolve_cluster(fitted, True, "delete", X)
    with pytest.raises(ValueError, match="strategy must be one of"):
        dissolve_cluster(fitted, 0, "remove", X)
    with pytest.raises(ValueError, match="needs the data X"):
        dissolve_cluster(fitted, 0, "delete")
    with pytest.raises(ValueError, match="X has 9 features"):
        dissolve_cluster(fitted, 0, "delete", X[:, :9])
    with pytest.raises(ValueError, match="y has 10 samples but X has 240"):
        dissolve_cluster(fitted, 0, "split", X, y=y[:10])
    with pytest.raises(TypeError, match="integer class labels"):
        dissolve_cluster(fitted, 0, "split", X, y=y.astype(float))
    with pytest.raises(ValueError, match="refine_iter must be >= 0"):
        dissolve_cluster(fitted, 0, "delete", X, refine_iter=-1)
    with pytest.raises(NotFittedError):
        dissolve_cluster(DECClusterer(4), 0, "delete", X)
    with pytest.raises(NotFittedError):
        merge_clusters(DECClusterer(4), [0, 1], X)
    with pytest.raises(TypeError, match="must be a fitted DECClusterer"):
        dissolve_cluster(KMeans(4).fit(X), 0, "delete", X)
    with pytest.raises(ValueError, match="at least two cluster ids"):
        merge_clusters(fitted, [1], X)
    with pytest.raises(ValueError, match="must be distinct"):
        merge_clusters(fitted, [1, 1], X)
    with pytest.raises(ValueError, match="clusters=7 does not exist"):
        merge_clusters(fitted, [1, 7], X)


@pytest.mark.parametrize("strategy", ["delete", "reinit"])
def test_cannot_dissolve_the_last_cluster(blobs, fitted, strategy):
    X, _ = blobs
    single = with_centers(fitted, fitted.cluster_centers_[:1], X)
    with pytest.raises(ValueError, match="last remaining cluster"):
        dissolve_cluster(single, 0, strategy, X)
    split = dissolve_cluster(single, 0, "split", X, refine_iter=0)
    assert split.n_clusters_ == 2


def test_cannot_split_a_cluster_with_fewer_than_two_members(blobs, fitted):
    X, _ = blobs
    Z = fitted.transform(X)
    far = Z.max(axis=0) + 100.0
    lonely = Z[np.argmax(np.linalg.norm(Z - Z.mean(axis=0), axis=1))]
    model = with_centers(fitted, np.vstack([fitted.cluster_centers_, far]), X)
    with pytest.raises(ValueError, match="it has 0 member"):
        dissolve_cluster(model, 4, "split", X)
    model = with_centers(fitted, np.vstack([fitted.cluster_centers_, lonely]), X)
    # members are counted on the X given: keep one sample of cluster 4
    in_4 = np.flatnonzero(model.labels_ == 4)
    X_one = np.vstack([X[model.labels_ != 4], X[in_4[:1]]])
    with pytest.raises(ValueError, match="it has 1 member"):
        dissolve_cluster(model, 4, "split", X_one)
    assert dissolve_cluster(model, 4, "split", X, refine_iter=0).n_clusters_ == 6
