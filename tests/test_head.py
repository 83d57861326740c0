"""Tests of the label head: ClusterLabelLayer, LabelHeadModule, LabelHeadClassifier."""

import copy
import pickle

import joblib
import numpy as np
import pytest
import torch
from sklearn.exceptions import NotFittedError

from skdec import (
    ClusterLabelMapper,
    DECClusterer,
    LabelHeadClassifier,
    MLPAutoencoder,
)
from skdec.datasets import load_digits
from skdec.nn import ClusteringLayer, ClusterLabelLayer, LabelHeadModule

N_TRAIN = 300


# small nets train faster on one thread than on two busy cores
pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X[:N_TRAIN], y[:N_TRAIN], X[N_TRAIN:600], y[N_TRAIN:600]


@pytest.fixture(scope="module")
def fitted_dec(digits):
    X, _, _, _ = digits
    return DECClusterer(
        10,
        autoencoder=MLPAutoencoder((32,), 5, epochs=30, batch_size=64),
        max_iter=40,
        update_interval=20,
        batch_size=64,
        n_init=2,
        random_state=0,
    ).fit(X)


def _volunteer_labels(y, n_labelled, seed=0):
    rng = np.random.RandomState(seed)
    labels = np.full_like(y, -1)
    idx = rng.choice(y.size, n_labelled, replace=False)
    labels[idx] = y[idx]
    return labels


@pytest.fixture(scope="module")
def fitted_mapper(digits, fitted_dec):
    X, y, _, _ = digits
    labels = _volunteer_labels(y, 100)
    mapper = ClusterLabelMapper(cluster_centers=fitted_dec.cluster_centers_)
    return mapper.fit(fitted_dec.predict_proba(X), labels)


# ----------------------------------------------------------------- torch layer
def test_label_layer_reproduces_mixture_at_sharpness_one():
    mapping = torch.tensor([[0.8, 0.2, 0.0], [0.1, 0.1, 0.8]])
    layer = ClusterLabelLayer(mapping, smoothing=0.0)
    q = torch.tensor([[0.3, 0.7], [1.0, 0.0]])
    with torch.no_grad():
        proba = layer(q).exp()
    torch.testing.assert_close(proba, q @ mapping)
    torch.testing.assert_close(proba.sum(dim=1), torch.ones(2))


def test_label_layer_large_sharpness_is_hard_mapping():
    mapping = torch.tensor([[0.8, 0.2], [0.1, 0.9]])
    layer = ClusterLabelLayer(mapping, smoothing=0.0, sharpness=200.0)
    q = torch.tensor([[0.45, 0.55], [0.6, 0.4]])
    with torch.no_grad():
        proba = layer(q).exp()
    torch.testing.assert_close(proba, mapping[[1, 0]], atol=1e-4, rtol=0)


def test_label_layer_smoothing_keeps_logs_finite():
    layer = ClusterLabelLayer(torch.tensor([[1.0, 0.0], [0.0, 1.0]]))
    out = layer(torch.tensor([[1.0, 0.0]]))
    assert torch.isfinite(out).all()
    torch.testing.assert_close(layer.mapping().sum(dim=1), torch.ones(2))


@pytest.mark.parametrize(
    "mapping, kwargs, match",
    [
        (torch.ones(3), {}, "2-D"),
        (torch.tensor([[1.0, -0.5]]), {}, "non-negative"),
        (torch.tensor([[1.0, float("nan")]]), {}, "finite"),
        (torch.tensor([[0.0, 0.0]]), {"smoothing": 0.0}, "positive entry"),
        (torch.ones(2, 2), {"smoothing": -1.0}, "smoothing"),
        (torch.ones(2, 2), {"sharpness": 0.0}, "sharpness"),
    ],
)
def test_label_layer_rejects_bad_mapping(mapping, kwargs, match):
    with pytest.raises(ValueError, match=match):
        ClusterLabelLayer(mapping, **kwargs)


def test_label_head_module_trains_every_part():
    head = LabelHeadModule(
        torch.nn.Linear(4, 2),
        ClusteringLayer(3, 2, centers=torch.randn(3, 2)),
        ClusterLabelLayer(torch.rand(3, 2)),
    )
    logits = head(torch.randn(8, 4))
    assert logits.shape == (8, 2)
    torch.nn.functional.cross_entropy(logits, torch.randint(0, 2, (8,))).backward()
    for name, param in head.named_parameters():
        assert param.grad is not None and param.grad.abs().sum() > 0, name
    assert head.soft_assignment(torch.randn(5, 4)).shape == (5, 3)


def test_label_head_module_checks_cluster_count():
    with pytest.raises(ValueError, match="maps 4 clusters"):
        LabelHeadModule(
            torch.nn.Linear(4, 2),
            ClusteringLayer(3, 2),
            ClusterLabelLayer(torch.ones(4, 2)),
        )


# ------------------------------------------------------------------ classifier
def _head(dec, mapper, **params):
    params.setdefault("max_epochs", 30)
    params.setdefault("random_state", 0)
    return LabelHeadClassifier(dec, mapper, **params)


def test_untrained_head_predicts_like_the_mapper(digits, fitted_dec, fitted_mapper):
    X, _, X_test, _ = digits
    labels = _volunteer_labels(digits[1], 100)
    # A learning rate of ~0 keeps the initial network: the mapper's labels.
    clf = _head(fitted_dec, fitted_mapper, max_epochs=1, lr=1e-12).fit(X, labels)
    # sharpness='auto' promises 90% agreement with the mapper on the training
    # subjects; unseen ones agree nearly as often
    for rows, least in ((X, 0.9), (X_test, 0.8)):
        expected = fitted_mapper.predict(fitted_dec.predict_proba(rows))
        assert np.mean(clf.predict(rows) == expected) >= least
    np.testing.assert_allclose(clf.initial_mapping_, fitted_mapper.cluster_label_proba_)


def test_fine_tuning_beats_mapper_and_scratch(digits, fitted_dec, fitted_mapper):
    X, y, X_test, y_test = digits
    labels = _volunteer_labels(y, 100)
    mapper_acc = fitted_mapper.score(fitted_dec.predict_proba(X_test), y_test)
    head = _head(fitted_dec, fitted_mapper, max_epochs=60).fit(X, labels)
    scratch = _head(fitted_dec, fitted_mapper, max_epochs=60, init="random")
    scratch.fit(X, labels)
    assert head.score(X_test, y_test) > mapper_acc
    assert head.score(X_test, y_test) > scratch.score(X_test, y_test)
    # After one epoch the head is still close to the mapper; scratch is not.
    head_1 = _head(fitted_dec, fitted_mapper, max_epochs=1).fit(X, labels)
    scratch_1 = _head(fitted_dec, fitted_mapper, max_epochs=1, init="random")
    scratch_1.fit(X, labels)
    assert head_1.score(X_test, y_test) > scratch_1.score(X_test, y_test) + 0.05


def test_prefitted_dec_and_mapper_are_not_modified(digits, fitted_dec, fitted_mapper):
    X, y, _, _ = digits
    before = copy.deepcopy(fitted_dec.module_.state_dict())
    proba_before = fitted_mapper.cluster_label_proba_.copy()
    clf = _head(fitted_dec, fitted_mapper, max_epochs=5).fit(
        X, _volunteer_labels(y, 50)
    )
    assert clf.dec_ is fitted_dec and clf.mapper_ is fitted_mapper
    for key, value in fitted_dec.module_.state_dict().items():
        torch.testing.assert_close(value, before[key])
    np.testing.assert_array_equal(fitted_mapper.cluster_label_proba_, proba_before)
    assert not np.allclose(clf.mapping_, clf.initial_mapping_)


def test_unlabelled_samples_do_not_enter_the_loss(digits, fitted_dec, fitted_mapper):
    X, y, _, _ = digits
    labels = _volunteer_labels(y, 60)
    unlabelled = labels == -1
    X_other = X.copy()
    X_other[unlabelled] = np.random.RandomState(1).rand(unlabelled.sum(), X.shape[1])
    a = _head(fitted_dec, fitted_mapper, sharpness=8.0, max_epochs=5).fit(X, labels)
    b = _head(fitted_dec, fitted_mapper, sharpness=8.0, max_epochs=5)
    b.fit(X_other, labels)
    assert a.n_labelled_ == b.n_labelled_ == 60
    np.testing.assert_allclose(a.predict_proba(X), b.predict_proba(X), atol=1e-6)


def test_same_seed_same_model_and_fitted_attributes(digits, fitted_dec, fitted_mapper):
    X, y, X_test, _ = digits
    labels = _volunteer_labels(y, 80)
    a = _head(fitted_dec, fitted_mapper, max_epochs=8, random_state=3).fit(X, labels)
    b = _head(fitted_dec, fitted_mapper, max_epochs=8, random_state=3).fit(X, labels)
    np.testing.assert_array_equal(a.predict_proba(X_test), b.predict_proba(X_test))
    proba = a.predict_proba(X_test)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-6)
    np.testing.assert_array_equal(a.classes_, np.arange(10))
    assert a.n_epochs_ == len(a.history_) == len(a.net_.history) == 8
    assert set(a.history_[0]) == {"epoch", "train_loss"}
    assert 1 <= a.best_epoch_ <= a.n_epochs_
    assert a.mapping_.shape == (10, 10)
    assert a.module_ is a.net_.module_


def test_pickle_keeps_the_module_shared(digits, fitted_dec, fitted_mapper, tmp_path):
    X, y, X_test, _ = digits
    clf = _head(fitted_dec, fitted_mapper, max_epochs=2, random_state=0)
    clf.fit(X, _volunteer_labels(y, 80))
    data = pickle.dumps(clf)
    joblib.dump(clf, tmp_path / "head.joblib")
    for restored in (pickle.loads(data), joblib.load(tmp_path / "head.joblib")):
        assert restored.net_.module_ is restored.module_ is restored.net_.module
        assert restored.dec_.dec_net_.module_ is restored.dec_.module_
        np.testing.assert_array_equal(
            restored.predict_proba(X_test), clf.predict_proba(X_test)
        )


def test_validation_history_and_early_stopping(digits, fitted_dec, fitted_mapper):
    X, y, _, _ = digits
    labels = _volunteer_labels(y, 100)
    clf = _head(
        fitted_dec,
        fitted_mapper,
        validation_fraction=0.3,
        n_iter_no_change=3,
        tol=0.5,
        max_epochs=50,
    ).fit(X, labels)
    assert clf.n_epochs_ < 50
    assert clf.best_epoch_ == clf.n_epochs_ - 3
    assert set(clf.history_[0]) == {"epoch", "train_loss", "valid_loss", "valid_acc"}
    assert all(0.0 <= row["valid_acc"] <= 1.0 for row in clf.history_)


def test_string_labels_with_object_unlabelled_marker(digits, fitted_dec):
    X, y, X_test, _ = digits
    names = np.array(
        [
            "zero",
            "one",
            "two",
            "three",
            "four",
            "five",
            "six",
            "seven",
            "eight",
            "nine",
        ],
        dtype=object,
    )
    labels = names[y].copy()
    labels[_volunteer_labels(y, 80) == -1] = -1
    clf = _head(fitted_dec, None, max_epochs=3).fit(X, labels)
    assert set(clf.classes_) == set(names)
    assert set(clf.predict(X_test)) <= set(names)
    assert clf.n_labelled_ == 80


def test_prefitted_mapper_may_know_more_classes(digits, fitted_dec, fitted_mapper):
    X, y, _, _ = digits
    labels = _volunteer_labels(y, 100)
    labels[labels >= 5] = -1  # the fine-tuning labels cover only 0-4
    clf = _head(fitted_dec, fitted_mapper, max_epochs=3).fit(X, labels)
    np.testing.assert_array_equal(clf.classes_, np.arange(10))


def test_dec_none_fits_dec_with_dec_params(digits):
    X, y, _, _ = digits
    clf = LabelHeadClassifier(
        dec_params=dict(
            autoencoder=MLPAutoencoder((16,), 3, epochs=2), max_iter=5, n_init=1
        ),
        max_epochs=2,
        random_state=0,
    ).fit(X[:120], _volunteer_labels(y[:120], 40))
    assert clf.dec_.n_clusters == clf.classes_.size
    assert clf.dec_.random_state is not None
    assert isinstance(clf.mapper_, ClusterLabelMapper)


# ------------------------------------------------------------------ bad input
def test_wrong_length_labels(digits, fitted_dec, fitted_mapper):
    X, y, _, _ = digits
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        _head(fitted_dec, fitted_mapper).fit(X, y[:-1])


def test_all_unlabelled(digits, fitted_dec, fitted_mapper):
    X, y, _, _ = digits
    with pytest.raises(ValueError, match="no labelled sample"):
        _head(fitted_dec, None).fit(X, np.full_like(y, -1))


def test_single_class(digits, fitted_dec):
    X, y, _, _ = digits
    labels = np.where(y == 3, 3, -1)
    with pytest.raises(ValueError, match="at least 2 classes"):
        _head(fitted_dec, None).fit(X, labels)


def test_dec_params_with_dec(digits, fitted_dec):
    X, y, _, _ = digits
    with pytest.raises(ValueError, match="dec_params is only used when dec is None"):
        LabelHeadClassifier(fitted_dec, dec_params={"n_clusters": 3}).fit(X, y)


def test_mapper_of_another_clustering(digits, fitted_dec):
    X, y, _, _ = digits
    other = ClusterLabelMapper().fit(np.arange(y.size) % 4, y)
    with pytest.raises(ValueError, match="mapper maps 4 clusters but dec has 10"):
        _head(fitted_dec, other).fit(X, y)


def test_validation_fraction_too_large_for_labels(digits, fitted_dec, fitted_mapper):
    X, y, _, _ = digits
    labels = _volunteer_labels(y, 2)
    labels[np.flatnonzero(labels == -1)[:2]] = [0, 1]
    with pytest.raises(ValueError, match="validation_fraction=0.1 of 4 labelled"):
        _head(fitted_dec, fitted_mapper, validation_fraction=0.1).fit(X, labels)


def test_bad_parameters(digits, fitted_dec):
    X, y, _, _ = digits
    with pytest.raises(ValueError, match="'init' parameter"):
        LabelHeadClassifier(fitted_dec, init="zeros").fit(X, y)
    with pytest.raises(ValueError, match="'sharpness' parameter"):
        LabelHeadClassifier(fitted_dec, sharpness=-1.0).fit(X, y)


def test_predict_checks(digits, fitted_dec, fitted_mapper):
    X, y, _, _ = digits
    with pytest.raises(NotFittedError):
        LabelHeadClassifier().predict(X)
    clf = _head(fitted_dec, fitted_mapper, max_epochs=1).fit(X, y)
    with pytest.raises(ValueError, match="features"):
        clf.predict(X[:, :10])


def test_frozen_dec_is_not_refitted_in_a_search(digits, fitted_dec, monkeypatch):
    from sklearn.frozen import FrozenEstimator
    from sklearn.model_selection import GridSearchCV

    X, y, _, _ = digits
    y_vol = _volunteer_labels(y, 100)
    fits = []
    original = DECClusterer.fit

    def counting(self, *args, **kwargs):
        fits.append(1)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(DECClusterer, "fit", counting)
    frozen = FrozenEstimator(fitted_dec)
    head = LabelHeadClassifier(frozen, max_epochs=2, random_state=0)
    grid = GridSearchCV(head, {"lr": [1e-3, 1e-2]}, cv=2).fit(X, y_vol)
    assert fits == []  # neither the folds nor the refit fit DEC again
    assert grid.best_estimator_.dec_ is fitted_dec
    with pytest.raises(TypeError, match="must wrap a fitted DECClusterer"):
        LabelHeadClassifier(FrozenEstimator(ClusterLabelMapper())).fit(X, y_vol)
