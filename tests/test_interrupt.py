"""Ctrl-C (SIGINT) stops a whole fit, through skorch's training loops."""

import signal
import threading

import numpy as np
import pytest
import torch
from sklearn.datasets import make_blobs
from sklearn.exceptions import NotFittedError
from sklearn.utils.validation import check_is_fitted

from skdec import (
    DECClusterer,
    LabelHeadClassifier,
    MLPAutoencoder,
    dissolve_cluster,
)
from skdec._cli import EXIT_INTERRUPTED, main
from skdec.net import AutoencoderNet, DECNet, LabelHeadNet, interruptible

FAST = dict(
    autoencoder=MLPAutoencoder((16,), 2, epochs=4, batch_size=16),
    max_iter=30,
    update_interval=10,
    batch_size=16,
    init="kmeans",
    n_init=2,
    random_state=0,
)


@pytest.fixture
def X():
    X, _ = make_blobs(120, n_features=5, centers=3, random_state=0)
    return (X - X.min()) / (X.max() - X.min())


@pytest.fixture(autouse=True)
def _keep_sigint_handler():
    """Whatever a test does, the next one starts with the same handler."""
    handler = signal.getsignal(signal.SIGINT)
    yield handler
    signal.signal(signal.SIGINT, handler)


def _ctrl_c_at(monkeypatch, net_class, at):
    """Send SIGINT to this process at the ``at``-th training batch of every
    net of ``net_class``; returns the list of training batches started."""
    batches = []
    original = net_class.on_batch_begin

    def on_batch_begin(self, net, batch=None, training=False, **kwargs):
        original(self, net, batch=batch, training=training, **kwargs)
        if training:
            batches.append(type(self).__name__)
            if len(batches) == at:
                signal.raise_signal(signal.SIGINT)  # what Ctrl-C sends

    monkeypatch.setattr(net_class, "on_batch_begin", on_batch_begin)
    return batches


def _count_batches(monkeypatch, net_class):
    return _ctrl_c_at(monkeypatch, net_class, at=-1)


def test_interrupt_in_pretraining_stops_the_fit(monkeypatch, X):
    handler = signal.getsignal(signal.SIGINT)
    pretrain = _ctrl_c_at(monkeypatch, AutoencoderNet, at=3)
    cluster = _count_batches(monkeypatch, DECNet)
    dec = DECClusterer(**FAST)
    with pytest.raises(KeyboardInterrupt):
        dec.fit(X)
    assert len(pretrain) == 3  # skorch did not go on with the next batch
    assert cluster == []  # and the clustering stage never started
    with pytest.raises(NotFittedError):
        check_is_fitted(dec)
    assert vars(dec) == vars(DECClusterer(**FAST))  # nothing of the fit is left
    assert signal.getsignal(signal.SIGINT) is handler


def test_interrupt_in_clustering_keeps_the_previous_fit(monkeypatch, X):
    dec = DECClusterer(**FAST).fit(X)
    before = dict(vars(dec))
    labels, Z = dec.predict(X), dec.transform(X)
    cluster = _ctrl_c_at(monkeypatch, DECNet, at=5)
    with pytest.raises(KeyboardInterrupt):
        dec.set_params(random_state=1).fit(X)
    assert len(cluster) == 5
    dec.set_params(random_state=0)
    assert vars(dec).keys() == before.keys()
    assert all(vars(dec)[k] is v for k, v in before.items())
    assert dec.module_ is dec.dec_net_.module_
    np.testing.assert_array_equal(dec.predict(X), labels)
    np.testing.assert_array_equal(dec.transform(X), Z)


def test_previous_handler_is_called_and_restored(monkeypatch, X):
    calls = []

    def raising(signum, frame):
        calls.append("raising")
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, raising)
    _ctrl_c_at(monkeypatch, AutoencoderNet, at=2)
    with pytest.raises(KeyboardInterrupt):
        DECClusterer(**FAST).fit(X)
    assert calls == ["raising"]
    assert signal.getsignal(signal.SIGINT) is raising


def test_a_handler_that_raises_nothing_does_not_interrupt(monkeypatch, X):
    calls = []
    signal.signal(signal.SIGINT, lambda signum, frame: calls.append(signum))
    _ctrl_c_at(monkeypatch, AutoencoderNet, at=2)
    dec = DECClusterer(**FAST).fit(X)
    assert calls == [signal.SIGINT]
    check_is_fitted(dec)


def test_ignored_sigint_is_left_alone():
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    with interruptible():
        assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
        signal.raise_signal(signal.SIGINT)  # ignored
    assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN


def test_nested_blocks_restore_both_estimators():
    class Est:
        pass

    before = signal.getsignal(signal.SIGINT)
    outer, inner = Est(), Est()
    outer.kept_ = inner.kept_ = 1
    with pytest.raises(KeyboardInterrupt):
        with interruptible(outer):
            outer.new_ = 2
            with interruptible(inner):
                handler = signal.getsignal(signal.SIGINT)
                inner.new_ = 2
                signal.raise_signal(signal.SIGINT)
    assert vars(outer) == vars(inner) == {"kept_": 1}
    assert signal.getsignal(signal.SIGINT) is before
    assert handler is not before


def test_fit_in_another_thread(X):
    handler = signal.getsignal(signal.SIGINT)
    result = {}

    def fit():
        try:
            result["dec"] = DECClusterer(**FAST).fit(X)
        except BaseException as exc:  # noqa: BLE001 - reported below
            result["error"] = exc

    thread = threading.Thread(target=fit)
    thread.start()
    thread.join()
    assert "error" not in result, result.get("error")
    check_is_fitted(result["dec"])
    assert signal.getsignal(signal.SIGINT) is handler


@pytest.mark.parametrize("net_class", [AutoencoderNet, LabelHeadNet])
def test_label_head_interrupted_in_either_stage(monkeypatch, X, net_class):
    y = np.repeat([0, 1, 2], 40)
    batches = _ctrl_c_at(monkeypatch, net_class, at=2)
    clf = LabelHeadClassifier(
        dec_params={k: v for k, v in FAST.items() if k != "random_state"},
        max_epochs=5,
        random_state=0,
    )
    with pytest.raises(KeyboardInterrupt):
        clf.fit(X, y)
    assert len(batches) == 2
    with pytest.raises(NotFittedError):
        check_is_fitted(clf)


def test_surgery_in_place_interrupted_leaves_the_model(monkeypatch, X):
    dec = DECClusterer(3, **FAST).fit(X)
    labels, Z = dec.predict(X), dec.transform(X)
    weights = {k: v.clone() for k, v in dec.module_.state_dict().items()}
    _ctrl_c_at(monkeypatch, DECNet, at=4)
    with pytest.raises(KeyboardInterrupt):
        dissolve_cluster(dec, 0, "delete", X, refine_iter=20, copy=False)
    assert dec.n_clusters == 3 and dec.cluster_centers_.shape[0] == 3
    state = dec.module_.state_dict()
    assert all(torch.equal(state[k], v) for k, v in weights.items())
    np.testing.assert_array_equal(dec.predict(X), labels)
    np.testing.assert_array_equal(dec.transform(X), Z)


def _cli_args(tmp_path, X):
    np.save(tmp_path / "x.npy", X)
    return [
        "cluster",
        "--data",
        str(tmp_path / "x.npy"),
        "--n-clusters",
        "3",
        "--output",
        str(tmp_path / "out"),
        "--hidden-dims",
        "16",
        "--pretrain-epochs",
        "4",
        "--max-iter",
        "30",
        "--batch-size",
        "16",
        "--init",
        "kmeans",
        "--quiet",
    ]


def test_cli_interrupted_exits_130_without_results(monkeypatch, tmp_path, X, capsys):
    _ctrl_c_at(monkeypatch, AutoencoderNet, at=3)
    assert main(_cli_args(tmp_path, X)) == EXIT_INTERRUPTED == 130
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "interrupted" in err
    out = tmp_path / "out"
    assert not any((out / name).exists() for name in ("labels.csv", "metrics.json"))
    assert not (out / "dec.png").exists()


def test_cli_interrupted_while_writing_removes_partial_results(
    monkeypatch, tmp_path, X
):
    def interrupted_figure(*args, **kwargs):
        signal.raise_signal(signal.SIGINT)

    monkeypatch.setattr("skdec._cli._save_figure", interrupted_figure)
    assert main(_cli_args(tmp_path, X)) == 130
    out = tmp_path / "out"
    assert not any(out.iterdir())  # labels.csv and metrics.json were removed
