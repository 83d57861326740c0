"""Batched inference: a row's result does not depend on the other rows."""

import numpy as np
import pytest
import torch
from sklearn.datasets import make_blobs

import skdec
from skdec import DECClusterer
from skdec.net import (
    INFERENCE_BATCH_SIZE,
    embed,
    embed_and_assign,
    inference_batches,
    predict_batched,
)
from skdec.nn import ClusteringLayer, DECModule, MLPAutoencoder


@pytest.fixture
def deep_module():
    torch.manual_seed(0)
    encoder = MLPAutoencoder(3, (64, 64, 128), 2, "relu").encoder
    layer = ClusteringLayer(4, 2, 1.0, torch.randn(4, 2))
    return DECModule(encoder, layer, None)


def test_a_row_alone_gives_the_same_bits_as_in_a_batch(deep_module):
    # a one-row matrix product takes another kernel than a batch of 20
    # (on this CPU the embeddings differed by 1.5e-8 before padding)
    X = 3 * np.random.RandomState(0).rand(20, 3)
    z_full, q_full = embed_and_assign(deep_module, X)
    for i in range(len(X)):
        z, q = embed_and_assign(deep_module, X[i : i + 1])
        assert torch.equal(z[0], z_full[i]) and torch.equal(q[0], q_full[i])
    assert torch.equal(embed(deep_module.encoder, X[5:12]), z_full[5:12])


def test_batches_are_padded_to_one_size(deep_module):
    X = np.random.RandomState(0).rand(11, 3)
    shapes = []

    def forward(module, batch):
        shapes.append(tuple(batch.shape))
        return module.encoder(batch)

    rows = [
        len(xb)
        for xb, _ in inference_batches(deep_module, X, forward=forward, batch_size=4)
    ]
    assert rows == [4, 4, 3] and shapes == [(4, 3)] * 3
    by_four = predict_batched(deep_module.encoder, X, batch_size=4)
    assert by_four.shape == (11, 2)
    np.testing.assert_allclose(by_four, embed(deep_module.encoder, X), rtol=1e-5)
    assert INFERENCE_BATCH_SIZE >= 26  # cdist's matrix-product path throughout


def test_training_mode_is_restored(deep_module):
    deep_module.train()
    predict_batched(deep_module.encoder, np.zeros((3, 3)))
    assert deep_module.training and deep_module.encoder.training
    deep_module.eval()
    embed(deep_module.encoder, np.zeros((3, 3)))
    assert not deep_module.encoder.training


def test_no_rows():
    with pytest.raises(ValueError, match="no rows"):
        predict_batched(torch.nn.Linear(3, 2), np.zeros((0, 3)))


def test_fitted_model_is_subset_invariant_and_labels_match_predict():
    X, _ = make_blobs(60, n_features=3, centers=3, random_state=0)
    dec = DECClusterer(
        3,
        autoencoder=skdec.MLPAutoencoder(
            (32, 32), 2, epochs=10, lr=1e-2, batch_size=16
        ),
        max_iter=10,
        update_interval=5,
        batch_size=16,
        init="kmeans",
        n_init=2,
        random_state=0,
    ).fit(X)
    np.testing.assert_array_equal(dec.labels_, dec.predict(X))
    Z, Q = dec.transform(X), dec.predict_proba(X)
    for i in range(0, len(X), 7):
        np.testing.assert_array_equal(dec.transform(X[i : i + 1])[0], Z[i])
        np.testing.assert_array_equal(dec.predict_proba(X[i : i + 1])[0], Q[i])
