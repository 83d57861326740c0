"""The start partition of init='umap': a consensus of several UMAP runs."""

import numpy as np
import pytest
import torch
from sklearn.datasets import make_blobs
from sklearn.metrics import adjusted_rand_score

from skdec import _centers
from skdec._centers import UMAP_RUNS, consensus_partition, initial_clustering


def _one_hot(labels, n_clusters, confidence=0.9):
    proba = np.full((len(labels), n_clusters), (1 - confidence) / (n_clusters - 1))
    proba[np.arange(len(labels)), labels] = confidence
    return proba


def test_consensus_follows_the_majority_and_aligns_the_posteriors():
    truth = np.repeat(np.arange(3), 20)
    # the same partition under three namings, one run wrong on 6 samples
    runs = [np.array([2, 0, 1])[truth], np.array([1, 2, 0])[truth], truth.copy()]
    runs[2][:6] = 1
    partitions = [(labels, _one_hot(labels, 3)) for labels in runs]
    labels, posteriors = consensus_partition(partitions, 3, seed=0)
    assert adjusted_rand_score(truth, labels) == 1.0
    np.testing.assert_allclose(posteriors.sum(axis=1), 1.0)
    # a sample the third run got wrong: 0.9 twice and 0.05 once on its cluster
    np.testing.assert_allclose(posteriors[3, labels[3]], (0.9 + 0.9 + 0.05) / 3)
    np.testing.assert_allclose(posteriors[3].max(), (0.9 + 0.9 + 0.05) / 3)
    # one all three runs got right
    np.testing.assert_allclose(posteriors[10, labels[10]], 0.9)
    np.testing.assert_allclose(posteriors[30, labels[30]], 0.9)


@pytest.fixture(scope="module")
def embedding():
    Z, y = make_blobs(400, n_features=6, centers=5, cluster_std=1.5, random_state=3)
    return Z, y


def test_umap_start_is_the_consensus_of_its_runs(embedding, monkeypatch):
    Z, y = embedding
    runs = []

    def recording_consensus(partitions, n_clusters, seed):
        runs.extend(partitions)
        return consensus_partition(partitions, n_clusters, seed)

    monkeypatch.setattr(_centers, "consensus_partition", recording_consensus)
    centers, labels, target = initial_clustering(
        Z, 5, "umap", 2, np.random.RandomState(0)
    )
    assert len(runs) == UMAP_RUNS
    np.testing.assert_array_equal(labels, target.argmax(axis=1))
    np.testing.assert_allclose(target.sum(axis=1), 1.0)
    np.testing.assert_allclose(centers[0], Z[labels == 0].mean(axis=0))
    assert adjusted_rand_score(y, labels) > 0.9
    for run_labels, _ in runs:
        assert adjusted_rand_score(labels, run_labels) > 0.8


def test_umap_start_does_not_depend_on_the_thread_count(embedding):
    Z, _ = embedding
    before = torch.get_num_threads()
    try:
        starts = []
        for threads in (1, 2):
            torch.set_num_threads(threads)
            starts.append(initial_clustering(Z, 5, "umap", 2, np.random.RandomState(7)))
    finally:
        torch.set_num_threads(before)
    np.testing.assert_array_equal(starts[0][1], starts[1][1])
    np.testing.assert_array_equal(starts[0][2], starts[1][2])
