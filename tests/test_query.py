import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from skdec import select_queries  # noqa: E402
from skdec.plotting import plot_cluster_montage  # noqa: E402

STRATEGIES = ["random", "central", "uncertain", "stratified"]


def _soft(n=60, k=4, seed=0):
    rng = np.random.RandomState(seed)
    Q = rng.dirichlet(np.ones(k) * 0.5, size=n)
    return Q


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_same_seed_same_selection(strategy):
    Q = _soft()
    a = select_queries(Q, 10, strategy, random_state=3)
    b = select_queries(Q, 10, strategy, random_state=3)
    np.testing.assert_array_equal(a, b)
    assert a.shape == (10,) and np.unique(a).size == 10
    assert a.dtype == np.int64


def test_central_takes_most_central_per_cluster():
    Q = _soft(80, 4)
    hard = Q.argmax(axis=1)
    chosen = select_queries(Q, 8, "central", random_state=0)
    for k in range(4):
        mine = chosen[hard[chosen] == k]
        assert mine.size == 2
        members = np.flatnonzero(hard == k)
        best = members[np.argsort(-Q[members, k])[:2]]
        np.testing.assert_array_equal(np.sort(mine), np.sort(best))


def test_uncertain_picks_highest_entropy_and_margin():
    Q = _soft(50, 3)
    P = Q / Q.sum(axis=1, keepdims=True)
    entropy = -(P * np.log(P)).sum(axis=1)
    chosen = select_queries(Q, 5, "uncertain", random_state=0)
    np.testing.assert_array_equal(np.sort(chosen), np.sort(np.argsort(-entropy)[:5]))
    top2 = np.sort(Q, axis=1)[:, -2:]
    margin = top2[:, 1] - top2[:, 0]
    chosen = select_queries(Q, 5, "uncertain", uncertainty="margin", random_state=0)
    np.testing.assert_array_equal(np.sort(chosen), np.sort(np.argsort(margin)[:5]))


def test_exclude_and_budget_errors():
    Q = _soft(10, 2)
    chosen = select_queries(Q, 8, "random", exclude=[0, 1], random_state=0)
    assert not {0, 1} & set(chosen.tolist())
    with pytest.raises(ValueError, match="budget=9 exceeds the 8 candidate"):
        select_queries(Q, 9, "random", exclude=[0, 1])
    with pytest.raises(ValueError, match="needs soft assignments"):
        select_queries(np.arange(10) % 2, 2, "central")
    with pytest.raises(ValueError, match=r"exclude\[0\]=10"):
        select_queries(Q, 2, exclude=[10])
    with pytest.raises(ValueError, match="negative at row 0"):
        select_queries(-Q, 2)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.integers(0, 5), min_size=1, max_size=60),
    st.integers(1, 60),
    st.integers(0, 1000),
)
def test_stratified_is_balanced(ids, budget, seed):
    ids = np.array(ids)
    budget = min(budget, ids.size)
    chosen = select_queries(ids, budget, "stratified", random_state=seed)
    assert np.unique(chosen).size == budget
    sizes = np.bincount(ids)
    got = np.bincount(ids[chosen], minlength=sizes.size)
    assert (got <= sizes).all()
    # a cluster gets fewer than another only when it is exhausted
    for a in range(sizes.size):
        for b in range(sizes.size):
            if got[a] + 1 < got[b]:
                assert got[a] == sizes[a]


def test_montage_rows_per_cluster():
    rng = np.random.RandomState(0)
    images = rng.rand(40, 64)
    clusters = np.arange(40) % 4
    selected = select_queries(clusters, 6, "stratified", random_state=0)
    fig = plot_cluster_montage(
        images, clusters, selected, n_per_cluster=3, image_shape=(8, 8)
    )
    axes = np.array(fig.axes).reshape(4, 3)
    drawn = np.array([[len(ax.images) for ax in row] for row in axes])
    expected = np.bincount(clusters[selected], minlength=4)
    np.testing.assert_array_equal(drawn.sum(axis=1), np.minimum(expected, 3))
    assert axes[0, 0].get_ylabel() == f"0\n({expected[0]})"
    plt.close(fig)
    with pytest.raises(ValueError, match="image_shape"):
        plot_cluster_montage(images, clusters)
    with pytest.raises(ValueError, match=r"selected\[0\]=99"):
        plot_cluster_montage(images, clusters, [99], image_shape=(8, 8))
