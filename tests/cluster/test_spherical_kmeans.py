import time

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.metrics import adjusted_rand_score
from sklearn.utils.estimator_checks import check_estimator

from skdec.cluster import SphericalKMeans, spherical_kmeans


def directional_blobs(n_per_cluster=100, n_clusters=5, n_features=10, seed=0):
    """Samples scattered tightly around orthogonal directions, any magnitude."""
    rng = np.random.RandomState(seed)
    q, _ = np.linalg.qr(rng.randn(n_features, n_clusters))
    directions = q.T  # orthonormal rows
    y = np.repeat(np.arange(n_clusters), n_per_cluster)
    X = directions[y] + 0.05 * rng.randn(y.size, n_features)
    X *= rng.uniform(0.01, 100.0, size=(y.size, 1))
    perm = rng.permutation(y.size)
    return X[perm], y[perm], directions


def normalized(X):
    return X / np.linalg.norm(X, axis=1, keepdims=True)


def test_check_estimator_fast_settings():
    check_estimator(SphericalKMeans(n_init=2, max_iter=50))


@pytest.mark.parametrize("init", ["k-means++", "random"])
def test_recovers_well_separated_directions(init):
    X, y, directions = directional_blobs()
    skm = SphericalKMeans(n_clusters=5, init=init, random_state=0).fit(X)
    assert adjusted_rand_score(y, skm.labels_) == 1.0
    # Each found centre is (close to) one of the true directions.
    similarity = skm.cluster_centers_ @ directions.T
    assert_array_equal(np.sort(similarity.argmax(axis=1)), np.arange(5))
    assert similarity.max(axis=1).min() > 0.99


def test_fitted_attributes_are_consistent():
    X, _, _ = directional_blobs(n_clusters=4, seed=1)
    skm = SphericalKMeans(n_clusters=4, random_state=0).fit(X)
    assert skm.cluster_centers_.shape == (4, X.shape[1])
    assert_allclose(np.linalg.norm(skm.cluster_centers_, axis=1), 1.0)
    assert skm.labels_.shape == (X.shape[0],)
    assert skm.labels_.dtype == np.int32
    assert 1 <= skm.n_iter_ <= skm.max_iter
    assert skm.n_features_in_ == X.shape[1]
    cos = np.sum(normalized(X) * skm.cluster_centers_[skm.labels_], axis=1)
    assert skm.inertia_ == pytest.approx(np.sum(1 - cos))
    assert_array_equal(skm.predict(X), skm.labels_)
    assert skm.score(X) == pytest.approx(X.shape[0] - skm.inertia_)


def test_converged_centres_are_normalised_means():
    rng = np.random.RandomState(3)
    X = rng.randn(300, 6)
    skm = SphericalKMeans(n_clusters=4, tol=0, random_state=0).fit(X)
    assert skm.n_iter_ < skm.max_iter
    Xn = normalized(X)
    for k in range(4):
        assert_allclose(
            skm.cluster_centers_[k], normalized(Xn[skm.labels_ == k].sum(0)[None])[0]
        )


def test_transform_is_cosine_distance():
    rng = np.random.RandomState(0)
    X = rng.randn(50, 3)
    skm = SphericalKMeans(n_clusters=3, random_state=0).fit(X)
    D = skm.transform(X)
    assert D.shape == (50, 3)
    assert_allclose(D, 1 - normalized(X) @ skm.cluster_centers_.T, atol=1e-12)
    assert D.min() >= 0 and D.max() <= 2
    assert_array_equal(D.argmin(axis=1), skm.labels_)
    assert_allclose(skm.fit_transform(X), D)
    assert_array_equal(
        skm.get_feature_names_out(), [f"sphericalkmeans{i}" for i in range(3)]
    )


def test_invariant_to_positive_row_scaling():
    rng = np.random.RandomState(0)
    X = rng.randn(200, 5)
    scales = rng.uniform(1e-3, 1e3, size=(200, 1))
    a = SphericalKMeans(n_clusters=4, random_state=7).fit(X)
    b = SphericalKMeans(n_clusters=4, random_state=7).fit(X * scales)
    assert_array_equal(a.labels_, b.labels_)
    assert_allclose(a.cluster_centers_, b.cluster_centers_, atol=1e-10)
    assert a.inertia_ == pytest.approx(b.inertia_)
    assert_array_equal(a.predict(X[:20] * 1e6), a.labels_[:20])


def test_reproducible_with_random_state():
    rng = np.random.RandomState(0)
    X = rng.randn(300, 8)
    a = SphericalKMeans(n_clusters=6, n_init=3, random_state=42).fit(X)
    b = SphericalKMeans(n_clusters=6, n_init=3, random_state=42).fit(X)
    assert_array_equal(a.labels_, b.labels_)
    assert_array_equal(a.cluster_centers_, b.cluster_centers_)
    assert a.inertia_ == b.inertia_
    c = SphericalKMeans(n_clusters=6, n_init=3, random_state=np.random.RandomState(42))
    assert_array_equal(c.fit(X).labels_, a.labels_)


def test_more_inits_never_worse():
    # The first run of n_init=10 uses the same draws as n_init=1.
    rng = np.random.RandomState(5)
    X = rng.randn(400, 4)
    one = SphericalKMeans(n_clusters=7, n_init=1, random_state=3).fit(X)
    ten = SphericalKMeans(n_clusters=7, n_init=10, random_state=3).fit(X)
    assert ten.inertia_ <= one.inertia_ + 1e-12


def test_float32_is_preserved():
    X, _, _ = directional_blobs(n_clusters=3, seed=2)
    X32 = X.astype(np.float32)
    skm = SphericalKMeans(n_clusters=3, random_state=0).fit(X32)
    assert skm.cluster_centers_.dtype == np.float32
    assert skm.transform(X32).dtype == np.float32
    skm64 = SphericalKMeans(n_clusters=3, random_state=0).fit(X)
    assert adjusted_rand_score(skm.labels_, skm64.labels_) == 1.0


def test_array_init_is_normalised_and_runs_once():
    X, y, directions = directional_blobs(n_clusters=3, seed=4)
    init = 5.0 * directions
    with pytest.warns(RuntimeWarning, match="performing only one init"):
        skm = SphericalKMeans(n_clusters=3, init=init, n_init=4).fit(X)
    assert_array_equal(skm.labels_, y)  # the order of init is kept
    skm1 = SphericalKMeans(n_clusters=3, init=init.tolist(), n_init=1).fit(X)
    assert_array_equal(skm1.labels_, y)


def test_empty_cluster_is_reseeded_to_worst_point():
    # All samples are in the upper half plane; the third initial centre
    # points down so no sample picks it: it must be re-seeded.
    rng = np.random.RandomState(0)
    angles = np.concatenate(
        [rng.uniform(0.1, 0.3, 30), rng.uniform(1.4, 1.7, 30), [2.9, 3.0]]
    )
    X = np.c_[np.cos(angles), np.sin(angles)]
    init = np.array([[1.0, 0.2], [0.0, 1.0], [0.0, -1.0]])
    skm = SphericalKMeans(n_clusters=3, init=init, n_init=1).fit(X)
    assert_array_equal(np.bincount(skm.labels_), [30, 30, 2])
    assert_allclose(np.linalg.norm(skm.cluster_centers_, axis=1), 1.0)


def test_cluster_summing_to_zero_gets_a_direction():
    X = np.array([[1.0, 0.0], [-1.0, 0.0]])
    skm = SphericalKMeans(n_clusters=1, init=[[0.0, 1.0]], n_init=1).fit(X)
    assert np.all(np.isfinite(skm.cluster_centers_))
    assert_allclose(np.linalg.norm(skm.cluster_centers_, axis=1), 1.0)
    assert skm.inertia_ == pytest.approx(2.0)


def test_zero_rows_go_to_first_cluster_and_leave_centres_alone():
    X, _, _ = directional_blobs(n_clusters=3, seed=6)
    X_zero = np.vstack([X[:10], np.zeros((2, X.shape[1])), X[10:]])
    ref = SphericalKMeans(n_clusters=3, random_state=0).fit(X)
    with pytest.warns(UserWarning, match="2 row"):
        skm = SphericalKMeans(n_clusters=3, random_state=0).fit(X_zero)
    assert_allclose(skm.cluster_centers_, ref.cluster_centers_)
    assert_array_equal(skm.labels_[10:12], [0, 0])
    assert_array_equal(np.delete(skm.labels_, [10, 11]), ref.labels_)
    assert skm.inertia_ == pytest.approx(ref.inertia_ + 2)
    zeros = np.zeros((3, X.shape[1]))
    assert_array_equal(skm.predict(zeros), [0, 0, 0])
    assert_allclose(skm.transform(zeros), 1.0)
    assert skm.score(zeros) == 0.0


def test_duplicate_directions_warn():
    X = np.array([[1.0, 0.0], [2.0, 0.0], [0.0, 1.0], [0.0, 3.0]])
    with pytest.warns(ConvergenceWarning, match="distinct clusters"):
        SphericalKMeans(n_clusters=3, random_state=0).fit(X)


def test_functional_interface_matches_estimator():
    X, _, _ = directional_blobs(n_clusters=3, seed=8)
    centers, labels, inertia = spherical_kmeans(X, 3, random_state=1)
    skm = SphericalKMeans(n_clusters=3, random_state=1).fit(X)
    assert_array_equal(centers, skm.cluster_centers_)
    assert_array_equal(labels, skm.labels_)
    assert inertia == skm.inertia_
    *_, n_iter = spherical_kmeans(X, 3, random_state=1, return_n_iter=True)
    assert n_iter == skm.n_iter_


def test_fast_enough_on_10k_by_64():
    X = np.random.RandomState(0).randn(10_000, 64)
    start = time.perf_counter()
    SphericalKMeans(n_clusters=10, n_init=2, random_state=0).fit(X)
    # About 0.1 s per init on a laptop; a generous bound against regressions.
    assert time.perf_counter() - start < 4.0


def test_fewer_samples_than_clusters():
    with pytest.raises(ValueError, match=r"n_samples=3 should be >= n_clusters=4"):
        SphericalKMeans(n_clusters=4).fit(np.eye(3))


def test_too_few_nonzero_rows():
    X = np.vstack([np.eye(2), np.zeros((5, 2))])
    with pytest.raises(ValueError, match="2 row.*not all zeros.*n_clusters=3"):
        SphericalKMeans(n_clusters=3).fit(X)
    with pytest.raises(ValueError, match="0 row.*not all zeros.*5 row"):
        SphericalKMeans(n_clusters=1).fit(np.zeros((5, 2)))


@pytest.mark.parametrize(
    "params, match",
    [
        ({"n_clusters": 0}, "n_clusters"),
        ({"n_clusters": 1.5}, "n_clusters"),
        ({"init": "kmeans"}, "init"),
        ({"n_init": 0}, "n_init"),
        ({"max_iter": 0}, "max_iter"),
        ({"tol": -1.0}, "tol"),
        ({"random_state": "seed"}, "random_state"),
    ],
)
def test_invalid_parameters(params, match):
    with pytest.raises(ValueError, match=match):
        SphericalKMeans(**params).fit(np.eye(10))


@pytest.mark.parametrize(
    "init, match",
    [
        (np.ones((2, 3)), r"initial centers \(2, 3\).*\(3, 3\)"),
        (np.ones((3, 4)), r"initial centers \(3, 4\).*\(3, 3\)"),
        (np.array([[1.0, 0, 0], [0, 0, 0], [0, 0, 1]]), "init contains 1 row"),
        (np.array([[1.0, 0, 0], [0, np.nan, 0], [0, 0, 1]]), "NaN"),
    ],
)
def test_invalid_array_init(init, match):
    with pytest.raises(ValueError, match=match):
        SphericalKMeans(n_clusters=3, init=init, n_init=1).fit(np.eye(3))


def test_bad_input_data():
    skm = SphericalKMeans(n_clusters=2)
    with pytest.raises(NotFittedError):
        skm.predict(np.eye(2))
    with pytest.raises(ValueError, match="NaN"):
        clone(skm).fit(np.array([[1.0, np.nan], [0.0, 1.0]]))
    with pytest.raises(ValueError, match="Expected 2D array"):
        clone(skm).fit(np.ones(5))
    skm.fit(np.eye(4))
    with pytest.raises(ValueError, match="4 features"):
        skm.transform(np.ones((2, 3)))
    with pytest.raises(TypeError, match="[Ss]parse"):
        clone(skm).fit(sp.csr_matrix(np.eye(4)))
