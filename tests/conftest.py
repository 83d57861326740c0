import socket

import numpy as np
import pytest
import torch
from sklearn.base import clone

from skdec import MLPAutoencoder

# `skdec cluster --images` on tiny PNG folders (tests/test_cli*.py)
COLOURS = {"blue": 2, "green": 1, "red": 0}  # sub-folder -> the bright channel
TINY = [
    "--hidden-dims",
    "16",
    "--pretrain-epochs",
    "2",
    "--max-iter",
    "20",
    "--init",
    "kmeans",
    "--image-size",
    "8,8",
    "--quiet",
]

FAST_DEC = dict(
    # one pretraining run: several runs' consensus has tests of its own
    autoencoder=MLPAutoencoder(
        hidden_dims=(32,), n_components=3, epochs=15, batch_size=64, n_init=1
    ),
    max_iter=60,
    update_interval=20,
    batch_size=64,
    n_init=3,
)


@pytest.fixture(autouse=True)
def _seed_everything():
    """Tests must not depend on global RNG state left by other tests."""
    np.random.seed(0)  # noqa: NPY002 - legacy global state used by old code
    torch.manual_seed(0)


@pytest.fixture(scope="module")
def one_thread():
    """Torch on one thread for a test module (small nets train faster so)."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture
def no_network(monkeypatch):
    """Make any attempt to open a network connection fail loudly."""

    def refuse(*args, **kwargs):
        raise AssertionError("tests must not use the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


@pytest.fixture
def fast_dec_params():
    # a fresh component per test: tests may set its parameters
    return {**FAST_DEC, "autoencoder": clone(FAST_DEC["autoencoder"])}


def pytest_collection_modifyitems(config, items):
    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="CUDA is not available")
    for item in items:
        if "cuda" in item.keywords:
            item.add_marker(skip)


def pytest_configure(config):
    config.addinivalue_line("markers", "cuda: needs a CUDA device")
    config.addinivalue_line(
        "markers", "distributed: starts processes (two-process training, Dask)"
    )
