"""The start of several pretraining runs: the consensus of their partitions."""

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import make_blobs
from sklearn.metrics import adjusted_rand_score

from skdec import DECClusterer, MLPAutoencoder
from skdec._autoencoders import auto_runs
from skdec._centers import consensus_partition, initial_clustering, start_partition


def _soft(labels, n_clusters, confidence=0.9):
    proba = np.full((len(labels), n_clusters), (1 - confidence) / (n_clusters - 1))
    proba[np.arange(len(labels)), labels] = confidence
    return proba


def test_consensus_follows_the_majority():
    truth = np.repeat(np.arange(3), 20)
    # the same partition under three namings, one run wrong on 6 samples
    runs = [np.array([2, 0, 1])[truth], np.array([1, 2, 0])[truth], truth.copy()]
    runs[2][:6] = 1
    partitions = [(labels, _soft(labels, 3)) for labels in runs]
    labels, posteriors = consensus_partition(partitions, 3, seed=0)
    assert adjusted_rand_score(truth, labels) == 1.0
    np.testing.assert_allclose(posteriors.sum(axis=1), 1.0)
    # a sample the third run got wrong is less certain than one it got right
    assert posteriors[3].max() < posteriors[30].max()
    assert posteriors[3].argmax() == labels[3]


def test_consensus_keeps_the_clusters_two_runs_merge_differently():
    # one run finds the four groups; the two others merge groups 0 and 1 and
    # each splits another group (2, then 3) in two. Matching each run's
    # clusters one to one to the consensus and taking the majority loses
    # group 1 (ARI 0.71); the k-means of the one-hot labels keeps every group.
    truth = np.repeat(np.arange(4), 30)

    def merge_and_split(split):
        labels = np.where(truth == 1, 0, truth)
        labels[np.flatnonzero(truth == split)[:15]] = 1
        return labels

    runs = [truth, merge_and_split(2), merge_and_split(3)]
    partitions = [(labels, np.eye(4)[labels]) for labels in runs]
    labels, posteriors = consensus_partition(partitions, 4, seed=0)
    assert adjusted_rand_score(truth, labels) == 1.0
    np.testing.assert_allclose(posteriors.sum(axis=1), 1.0)


def test_consensus_posteriors_are_never_negative():
    # k-means's centres can end a rounding error below zero; the target of
    # the KL divergence must not (seed 0 on sklearn digits diverged so)
    rng = np.random.RandomState(0)
    truth = rng.randint(0, 10, 300)
    runs = [
        np.where(rng.rand(300) < 0.3, rng.randint(0, 10, 300), truth) for _ in range(3)
    ]
    partitions = [(labels, np.eye(10)[labels]) for labels in runs]
    _, posteriors = consensus_partition(partitions, 10, seed=0)
    assert posteriors.min() >= 0.0


@pytest.mark.parametrize(
    ("n_samples", "epochs", "expected"),
    [
        (1797, 100, 2),
        (5000, 100, 2),
        (8750, 100, 2),
        (8751, 100, 1),
        (10_000, 100, 1),
        (70_000, 25, 1),
        (1_000_000, 2, 1),
        (100, 0, 1),
    ],
)
def test_auto_runs_keeps_the_pretraining_budget(n_samples, epochs, expected):
    assert auto_runs(n_samples, epochs) == expected


@pytest.fixture(scope="module")
def embeddings():
    Z, y = make_blobs(300, n_features=4, centers=4, cluster_std=1.0, random_state=3)
    noise = np.random.RandomState(1).normal(scale=0.3, size=Z.shape)
    # three "runs": the same clusters, rotated and noisier, and one shuffled
    rotation = np.linalg.qr(np.random.RandomState(2).normal(size=(4, 4)))[0]
    bad = np.random.RandomState(4).permutation(Z)
    return [Z, Z @ rotation + noise, bad], y


def test_one_run_starts_as_initial_clustering(embeddings):
    (Z, *_), _ = embeddings
    run, centers, labels, target = start_partition(
        [Z], 4, "kmeans", 3, np.random.RandomState(0)
    )
    expected = initial_clustering(Z, 4, "kmeans", 3, np.random.RandomState(0))
    assert run == 0 and target is None
    np.testing.assert_array_equal(centers, expected[0])
    np.testing.assert_array_equal(labels, expected[1])


@pytest.mark.parametrize("init", ["kmeans", "gmm", "umap"])
def test_several_runs_start_from_their_consensus(embeddings, init):
    Zs, y = embeddings
    run, centers, labels, target = start_partition(
        Zs, 4, init, 3, np.random.RandomState(0)
    )
    # two runs hold the clusters: the consensus follows them, the shuffled
    # run is never the one to self-train
    assert run in (0, 1)
    assert adjusted_rand_score(y, labels) > 0.95
    Z = Zs[run]
    assert centers.shape == (4, 4)
    if init == "umap":
        np.testing.assert_array_equal(labels, target.argmax(axis=1))
        np.testing.assert_allclose(target.sum(axis=1), 1.0)
        np.testing.assert_allclose(centers[0], Z[labels == 0].mean(axis=0))
    else:
        assert target is None
        nearest = ((Z[:, None] - centers[None]) ** 2).sum(-1).argmin(1)
        np.testing.assert_array_equal(labels, nearest)


@pytest.fixture(scope="module")
def blobs_rows():
    X, y = make_blobs(240, n_features=8, centers=3, cluster_std=0.6, random_state=0)
    X = (X - X.min()) / (X.max() - X.min())
    return X.astype(np.float32), y


def _dec(**autoencoder):
    ae = MLPAutoencoder((16,), 3, epochs=10, batch_size=64, **autoencoder)
    return DECClusterer(
        3,
        autoencoder=ae,
        max_iter=20,
        update_interval=10,
        batch_size=64,
        init="kmeans",
        n_init=3,
        random_state=0,
    )


def test_dec_self_trains_the_run_closest_to_the_consensus(blobs_rows):
    X, y = blobs_rows
    dec = _dec(n_init=3).fit(X)
    assert len(dec.pretrain_losses_) == 3
    assert dec.pretrain_run_ in (0, 1, 2)
    assert len(dec.pretrain_history_) == 1
    assert adjusted_rand_score(y, dec.labels_) > 0.9
    again = _dec(n_init=3).fit(X)
    np.testing.assert_array_equal(dec.labels_, again.labels_)
    assert again.pretrain_run_ == dec.pretrain_run_


def test_given_centres_use_the_run_with_the_lowest_error(blobs_rows):
    X, _ = blobs_rows
    centers = np.random.RandomState(0).rand(3, 3)
    dec = _dec(n_init=3).set_params(init=centers, max_iter=0).fit(X)
    assert dec.pretrain_run_ == int(np.argmin(dec.pretrain_losses_))


def test_auto_trains_two_runs_on_small_data(blobs_rows):
    X, _ = blobs_rows
    assert len(_dec().set_params(max_iter=0).fit(X).pretrain_losses_) == 2


def test_a_consensus_start_ends_training_once_reproduced(blobs_rows):
    X, y = blobs_rows
    # tol=0: the partition is released only at the iteration cap, which is
    # max_iter when training ends at the release (half of it otherwise)
    dec = _dec(n_init=3).set_params(init="umap", max_iter=200, tol=0.0).fit(X)
    held = [record["start_target"] for record in dec.history_]
    assert held[:-1] == [True] * (len(held) - 1) and not held[-1]
    assert dec.history_[-1]["iteration"] == 200
    assert adjusted_rand_score(dec.init_labels_, dec.labels_) > 0.9


def test_verbose_numbers_the_pretraining_runs(blobs_rows, capsys):
    X, _ = blobs_rows
    _dec(n_init=2).set_params(max_iter=0, verbose=1).fit(X)
    out = capsys.readouterr().out
    assert "[MLPAutoencoder] pretraining run 1 of 2" in out
    assert out.index("run 1 of 2") < out.index("run 2 of 2") < out.index("[DEC]")


def test_the_start_is_the_same_in_worker_processes(blobs_rows):
    # the runs' UMAP partitions in two worker processes or in this one
    X, _ = blobs_rows
    dec = _dec(n_init=3).set_params(init="umap", max_iter=0, n_jobs=1).fit(X)
    workers = clone(dec).set_params(n_jobs=2).fit(X)
    np.testing.assert_array_equal(dec.init_labels_, workers.init_labels_)
    np.testing.assert_array_equal(dec.labels_, workers.labels_)
    assert workers.pretrain_run_ == dec.pretrain_run_


def test_one_run_searches_neighbours_on_any_number_of_threads(embeddings):
    (Z, *_), y = embeddings
    one, two = (
        initial_clustering(Z, 4, "umap", 3, np.random.RandomState(0), n_jobs=n)
        for n in (1, 2)
    )
    np.testing.assert_array_equal(one[1], two[1])
    np.testing.assert_array_equal(one[2], two[2])
    assert adjusted_rand_score(y, one[1]) > 0.95


def test_n_jobs_zero_is_refused_before_pretraining(blobs_rows):
    X, _ = blobs_rows
    with pytest.raises(ValueError, match="n_jobs=0"):
        _dec().set_params(n_jobs=0).fit(X)


def test_the_default_start_runs_in_this_process():
    # worker processes only on request: each imports skdec and compiles UMAP
    import torch

    assert DECClusterer()._start_jobs() == (1, torch.get_num_threads())
    assert DECClusterer(n_jobs=2)._start_jobs() == (2, 2)
