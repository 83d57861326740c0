import contextlib
import pickle
import warnings

import joblib
import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.datasets import make_blobs
from sklearn.metrics import adjusted_rand_score
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler

from skdec import (
    ConvAutoencoder,
    DECClusterer,
    MLPAutoencoder,
    PretrainedEncoder,
    ShiftRotate,
    StackedAutoencoder,
)
from skdec.net import (
    ClusterCollapseWarning,
    EmptyClusterWarning,
    TrainingDivergedError,
)
from skdec.nn import RandomShiftRotate


@pytest.fixture(scope="module")
def blobs():
    X, y = make_blobs(300, n_features=10, centers=4, cluster_std=0.3, random_state=1)
    return MinMaxScaler().fit_transform(X).astype(np.float32), y


@pytest.fixture(scope="module")
def fitted(blobs):
    from conftest import FAST_DEC

    return DECClusterer(4, random_state=0, **FAST_DEC).fit(blobs[0])


def test_recovers_well_separated_blobs_exactly(blobs, fitted):
    X, y = blobs
    assert adjusted_rand_score(y, fitted.labels_) == 1.0
    np.testing.assert_array_equal(fitted.labels_, fitted.predict(X))


def test_fitted_attributes(blobs, fitted):
    X, _ = blobs
    assert fitted.cluster_centers_.shape == (4, 3)
    assert fitted.labels_.shape == (300,)
    assert fitted.n_features_in_ == 10
    assert 0 < fitted.n_iter_ <= 60
    assert isinstance(fitted.converged_, bool)
    assert fitted.history_[0]["iteration"] == 0
    assert np.isnan(fitted.history_[0]["delta_label"])
    assert all(0 <= h["delta_label"] <= 1 for h in fitted.history_[1:])
    assert set(fitted.timings_) == {"pretrain", "init", "cluster"}
    assert len(fitted.pretrain_history_) == 1
    losses = fitted.pretrain_history_[0][:, "train_loss"]
    assert losses[-1] < losses[0]
    assert fitted.dec_net_.module_ is fitted.module_


def test_prediction_api(blobs, fitted):
    X, _ = blobs
    proba = fitted.predict_proba(X)
    assert proba.shape == (300, 4)
    np.testing.assert_allclose(proba.sum(1), 1, rtol=1e-5)
    np.testing.assert_array_equal(proba.argmax(1), fitted.predict(X))
    Z = fitted.transform(X)
    assert Z.shape == (300, 3) and Z.dtype == np.float64
    score = fitted.score(X)
    assert np.isfinite(score) and score <= 0


def test_same_random_state_same_labels(blobs, fast_dec_params):
    X, _ = blobs
    a = DECClusterer(4, random_state=3, **fast_dec_params).fit(X)
    b = DECClusterer(4, random_state=3, **fast_dec_params).fit(X)
    np.testing.assert_array_equal(a.labels_, b.labels_)
    np.testing.assert_array_equal(a.cluster_centers_, b.cluster_centers_)


def test_fit_does_not_touch_global_torch_rng(blobs, fast_dec_params):
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    DECClusterer(4, random_state=0, **fast_dec_params).fit(blobs[0])
    assert torch.equal(torch.rand(3), expected)


@pytest.mark.parametrize("dump", ["pickle", "joblib"])
def test_serialisation_round_trip(blobs, fitted, tmp_path, dump):
    X, _ = blobs
    if dump == "pickle":
        restored = pickle.loads(pickle.dumps(fitted))
    else:
        joblib.dump(fitted, tmp_path / "dec.joblib")
        restored = joblib.load(tmp_path / "dec.joblib")
    np.testing.assert_array_equal(restored.predict(X), fitted.predict(X))
    np.testing.assert_array_equal(restored.predict_proba(X), fitted.predict_proba(X))
    _assert_shared_as_fitted(restored)


def _assert_shared_as_fitted(model):
    """The objects a fit shares between the estimator and its nets are shared."""
    assert model.dec_net_.module_ is model.module_
    assert model.dec_net_.module is model.module_  # skorch's parameter
    params = {id(p) for p in model.module_.parameters()}
    optimised = model.dec_net_.optimizer_.param_groups[0]["params"]
    assert {id(p) for p in optimised} == params  # training goes on in module_


def _distinct_tensor_bytes(model):
    """Bytes of the distinct tensors of a fitted model: the weights of its
    modules and the state of its nets' optimisers."""
    tensors = list(model.module_.state_dict().values())
    for state in model.dec_net_.optimizer_.state.values():
        tensors += [v for v in state.values() if torch.is_tensor(v)]
    storages = {t.untyped_storage().data_ptr(): t.untyped_storage() for t in tensors}
    return sum(s.nbytes() for s in storages.values())


@pytest.mark.parametrize("kind", [MLPAutoencoder, StackedAutoencoder])
def test_pickle_stores_shared_weights_once(tmp_path, kind):
    # the default architecture on digits-size rows: 1.3 million weights
    X = np.random.RandomState(0).rand(200, 64).astype(np.float32)
    ae = kind(epochs=1) if kind is MLPAutoencoder else kind(layer_epochs=1, epochs=1)
    model = DECClusterer(
        4,
        autoencoder=ae,
        max_iter=3,
        init="kmeans",
        n_init=1,
        random_state=0,
    ).fit(X)
    data = pickle.dumps(model)
    joblib.dump(model, tmp_path / "dec.joblib")
    expected = _distinct_tensor_bytes(model)
    # each tensor once (skorch alone stored module_ two or three times:
    # 1.43 times as much with end-to-end pretraining, 1.46 with layer-wise;
    # the pretraining nets are not kept at all now, only their histories)
    for size in (len(data), (tmp_path / "dec.joblib").stat().st_size):
        assert size < 1.02 * expected + 200_000
    for restored in (pickle.loads(data), joblib.load(tmp_path / "dec.joblib")):
        _assert_shared_as_fitted(restored)
        np.testing.assert_array_equal(restored.predict_proba(X), model.predict_proba(X))


def test_clone_pipeline_and_grid_search(blobs, fast_dec_params):
    X, y = blobs
    dec = DECClusterer(4, random_state=0, **fast_dec_params)
    params = clone(dec).get_params()
    assert params.pop("autoencoder") is not dec.autoencoder  # cloned too
    assert params == {k: v for k, v in dec.get_params().items() if k != "autoencoder"}
    pipe = make_pipeline(MinMaxScaler(), dec)
    assert adjusted_rand_score(y, pipe.fit_predict(X)) == 1.0
    grid = GridSearchCV(
        dec,
        {"init": ["kmeans", "spherical-kmeans", "gmm", "random"]},
        cv=2,
        n_jobs=2,
    ).fit(X)
    assert grid.best_params_["init"] in {"kmeans", "spherical-kmeans", "gmm", "random"}
    assert np.isfinite(grid.cv_results_["mean_test_score"]).all()


def test_memory_pretrains_once_per_fold_same_labels(
    blobs, fast_dec_params, tmp_path, monkeypatch
):
    X, _ = blobs
    calls = []
    original = MLPAutoencoder.pretrain

    def counting(self, X, **kwargs):
        calls.append(len(X))
        return original(self, X, **kwargs)

    monkeypatch.setattr(MLPAutoencoder, "pretrain", counting)
    params = dict(fast_dec_params, random_state=0)
    plain = DECClusterer(4, **params).fit(X)
    cached = DECClusterer(4, memory=str(tmp_path), **params)
    np.testing.assert_array_equal(cached.fit(X).labels_, plain.labels_)
    np.testing.assert_array_equal(cached.fit(X).labels_, plain.labels_)  # a hit
    assert len(calls) == 2
    calls.clear()
    grid = {"init": ["kmeans", "gmm"], "alpha": [1.0, 2.0]}
    GridSearchCV(cached, grid, cv=2).fit(X)
    # one pretraining per fold; the refit on all of X is the hit of above
    assert len(calls) == 2
    calls.clear()
    GridSearchCV(cached, {"autoencoder__epochs": [3, 4]}, cv=2).fit(X)
    assert len(calls) == 2 * 2 + 1  # the autoencoder's parameters are the key


def test_nested_autoencoder_parameters(blobs, fast_dec_params):
    dec = DECClusterer(4, **fast_dec_params)
    dec.set_params(autoencoder__epochs=2, autoencoder__hidden_dims=(8,))
    assert dec.get_params()["autoencoder__epochs"] == 2
    dec.fit(blobs[0])
    assert len(dec.pretrain_history_[0]) == 2
    assert fast_dec_params["autoencoder"].epochs == 2  # set_params is in place...
    assert dec.module_.encoder[0].out_features == 8  # ...and fit uses it


@pytest.mark.parametrize("init", ["kmeans", "spherical-kmeans", "gmm"])
def test_every_data_driven_init_recovers_blobs(blobs, fast_dec_params, init):
    X, y = blobs
    dec = DECClusterer(4, init=init, random_state=0, **fast_dec_params).fit(X)
    assert adjusted_rand_score(y, dec.init_labels_) == 1.0
    assert adjusted_rand_score(y, dec.labels_) == 1.0


def test_random_init_better_than_chance(blobs, fast_dec_params):
    # random centres can fall in the same blob (4 draws in 4 blobs are all
    # distinct only 9% of the time), which self-training cannot undo: only a
    # clustering clearly above chance and a valid model are promised
    X, y = blobs
    dec = DECClusterer(4, init="random", random_state=0, **fast_dec_params).fit(X)
    assert adjusted_rand_score(y, dec.labels_) > 0.2
    assert np.isfinite(dec.cluster_centers_).all()
    assert set(np.unique(dec.labels_)) <= set(range(4))


def test_init_array_and_empty_cluster_reseeded(blobs, fast_dec_params):
    X, _ = blobs
    fast_dec_params["autoencoder"].set_params(epochs=0)
    dec = DECClusterer(4, random_state=0, **fast_dec_params)
    Z = dec.set_params(max_iter=0).fit(X).transform(X)
    centers = np.vstack([Z[:3], Z.mean(0) + 1e4])  # the last centre is far away
    with pytest.warns(EmptyClusterWarning, match="re-seeded"):
        dec.set_params(init=centers, max_iter=40).fit(X)
    assert dec.history_[0]["n_reseeded"] == 1
    assert np.abs(dec.cluster_centers_).max() < 1e3  # moved back among the data


def test_init_array_wrong_shape_fails_before_pretraining(
    blobs, fast_dec_params, monkeypatch
):
    def no_pretraining(*args, **kwargs):
        raise AssertionError("pretraining ran before the init array was checked")

    monkeypatch.setattr(MLPAutoencoder, "pretrain", no_pretraining)
    with pytest.raises(ValueError, match=r"init array has shape \(2, 3\)"):
        DECClusterer(4, init=np.zeros((2, 3)), **fast_dec_params).fit(blobs[0])
    encoder = PretrainedEncoder(torch.nn.Linear(10, 5))
    with pytest.raises(ValueError, match=r"expected \(4, 5\)"):
        DECClusterer(4, init=np.zeros((4, 3)), autoencoder=encoder).fit(blobs[0])


def test_layerwise_pretraining(blobs, fast_dec_params):
    X, y = blobs
    ae = StackedAutoencoder((16, 8), 3, layer_epochs=5, epochs=15, batch_size=64)
    params = dict(fast_dec_params, autoencoder=ae)
    dec = DECClusterer(4, random_state=0, **params).fit(X)
    assert len(dec.pretrain_history_) == 3 + 1  # three layer pairs, fine-tuning
    assert adjusted_rand_score(y, dec.labels_) > 0.5


def test_user_encoder_without_pretraining(blobs, fast_dec_params):
    X, y = blobs
    torch.manual_seed(0)
    encoder = torch.nn.Sequential(
        torch.nn.Linear(10, 16), torch.nn.ReLU(), torch.nn.Linear(16, 5)
    )
    before = [p.detach().clone() for p in encoder.parameters()]
    fast_dec_params["autoencoder"] = PretrainedEncoder(encoder)
    dec = DECClusterer(4, random_state=0, **fast_dec_params).fit(X)
    assert dec.cluster_centers_.shape == (4, 5)  # width taken from the encoder
    assert dec.pretrain_history_ == [] and dec.pretrain_losses_ == []
    for p, q in zip(before, encoder.parameters()):
        assert torch.equal(p, q)  # the user's module is copied, never trained
    assert adjusted_rand_score(y, dec.labels_) > 0.5


def test_user_encoder_pretrained_with_decoder_and_idec(blobs, fast_dec_params):
    X, _ = blobs
    encoder = torch.nn.Sequential(
        torch.nn.Linear(10, 16), torch.nn.ReLU(), torch.nn.Linear(16, 3)
    )
    decoder = torch.nn.Sequential(
        torch.nn.Linear(3, 16), torch.nn.ReLU(), torch.nn.Linear(16, 10)
    )
    fast_dec_params["autoencoder"] = PretrainedEncoder(encoder, decoder, epochs=5)
    dec = DECClusterer(4, gamma=0.1, random_state=0, **fast_dec_params).fit(X)
    assert dec.module_.decoder is not None
    assert len(dec.pretrain_history_) == 1
    assert len(dec.pretrain_history_[0]) == 5


@pytest.mark.parametrize(
    "params, message",
    [
        (
            {"autoencoder": PretrainedEncoder(torch.nn.Linear(10, 2), epochs=3)},
            "needs its `decoder`",
        ),
        (
            {"autoencoder": PretrainedEncoder(torch.nn.Linear(10, 2)), "gamma": 0.5},
            "needs a decoder",
        ),
        (
            {"autoencoder": PretrainedEncoder(torch.nn.Linear(7, 2))},
            "does not accept rows of 10 features",
        ),
        (
            {"autoencoder": PretrainedEncoder(torch.nn.Linear(7, 2)), "init": [[0]]},
            "does not accept rows of 10 features",
        ),
        (
            {"autoencoder": MLPAutoencoder(hidden_dims=(8, -1))},
            "hidden_dims must be a non-empty sequence of positive",
        ),
        ({"autoencoder": ConvAutoencoder()}, "needs the rows' image_shape"),
        (
            {"device": "cuda:0" if not torch.cuda.is_available() else "nonsense"},
            "device",
        ),
    ],
)
def test_inconsistent_parameters(blobs, params, message):
    with pytest.raises(ValueError, match=message):
        DECClusterer(4, **params).fit(blobs[0])


@pytest.mark.parametrize(
    "params, name",
    [
        ({"n_clusters": 0}, "n_clusters"),
        ({"init": "k-means++"}, "init"),
        ({"autoencoder": "mlp"}, "autoencoder"),
        ({"memory": 3}, "memory"),
        ({"alpha": 0}, "alpha"),
        ({"tol": 2.0}, "tol"),
        ({"optimizer": "rmsprop"}, "optimizer"),
        ({"autoencoder": MLPAutoencoder(activation="swish")}, "activation"),
        ({"autoencoder": MLPAutoencoder(epochs=-1)}, "epochs"),
        ({"autoencoder": StackedAutoencoder(layer_epochs=1.5)}, "layer_epochs"),
        ({"augment": ShiftRotate(max_shift=2), "image_shape": (2, 5)}, "max_shift"),
    ],
)
def test_invalid_hyperparameters(blobs, params, name):
    with pytest.raises(ValueError, match=f"The '{name}' parameter"):
        DECClusterer(**params).fit(blobs[0])


def test_bad_input(blobs, fitted, fast_dec_params):
    X, _ = blobs
    bad = X.copy()
    bad[3, 2] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        DECClusterer(4, **fast_dec_params).fit(bad)
    bad[3, 2] = np.inf
    with pytest.raises(ValueError, match="infinity"):
        DECClusterer(4, **fast_dec_params).fit(bad)
    with pytest.raises(ValueError, match="2D array"):
        DECClusterer(4, **fast_dec_params).fit(X[:, 0])
    with pytest.raises(ValueError, match="n_samples=3 should be >= n_clusters=4"):
        DECClusterer(4, **fast_dec_params).fit(X[:3])
    with pytest.raises(ValueError, match="X has 9 features"):
        fitted.predict(X[:, :9])


def test_divergence_raises_clear_error(blobs, fast_dec_params):
    X, _ = blobs
    fast_dec_params["autoencoder"].set_params(lr=1e12, optimizer="sgd")
    with pytest.raises(TrainingDivergedError, match="autoencoder's `lr`"):
        DECClusterer(4, **fast_dec_params).fit(X * 1e6)


def test_verbose_progress(blobs, fast_dec_params, capsys):
    X, _ = blobs
    DECClusterer(4, random_state=0, **fast_dec_params).fit(X)
    assert capsys.readouterr().out == ""
    dec = DECClusterer(4, random_state=0, verbose=1, **fast_dec_params).fit(X)
    out = capsys.readouterr().out
    # not a terminal: plain lines, a tenth of pretraining each, one per update
    assert "\x1b" not in out and "\r" not in out  # no control codes in a log
    lines = out.splitlines()
    pretraining = [line for line in lines if line.startswith("[pretraining] epoch")]
    assert len(pretraining) == 8  # 15 epochs, a line every 2, and the last
    assert pretraining[-1].startswith("[pretraining] epoch 15/15  loss ")
    updates = [line for line in lines if line.startswith("[clustering] iteration")]
    # a line per target update (the first only when it holds the start)
    first = 1 if dec.history_[0]["start_target"] else 0
    assert len(updates) == len(dec.history_) - 1 + first
    assert "label change" in updates[-1] and lines[-1].startswith("[DEC] done")
    # the start says it has begun before it says how long it took
    begun = [i for i, line in enumerate(lines) if "[DEC] initial partition" in line]
    ended = [i for i, line in enumerate(lines) if "[DEC] initial centres" in line]
    assert len(begun) == len(ended) == 1 and begun[0] < ended[0]
    assert f"on {len(X)} samples in " in lines[begun[0]]


def test_progress_bar_on_a_terminal():
    import io

    from skdec.net._progress import Progress

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    out = Terminal()
    progress = Progress("pretraining", 4, "epoch", file=out)
    for _ in range(4):
        progress.update(1, loss="0.5")
    progress.note(done="yes")
    progress.close()
    text = out.getvalue()
    assert "pretraining" in text and "4/4" in text and "\r" in text  # a tqdm bar
    assert "[pretraining]" not in text  # no plain lines besides the bar


def test_tol_stops_early_and_max_iter_caps(blobs, fast_dec_params):
    X, _ = blobs
    params = dict(fast_dec_params, max_iter=500, update_interval=10)
    dec = DECClusterer(4, tol=0.5, random_state=0, **params).fit(X)
    assert dec.converged_ and dec.n_iter_ == 10
    np.testing.assert_array_equal(dec.labels_, dec.predict(X))
    dec = DECClusterer(4, tol=0.0, random_state=0, **dict(params, max_iter=25)).fit(X)
    assert not dec.converged_ and dec.n_iter_ == 25
    np.testing.assert_array_equal(dec.labels_, dec.predict(X))


@pytest.mark.cuda
def test_cuda_matches_api(blobs, fast_dec_params):
    X, y = blobs
    dec = DECClusterer(4, device="cuda", random_state=0, **fast_dec_params).fit(X)
    assert adjusted_rand_score(y, dec.labels_) == 1.0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert dec.predict(X).shape == (300,)


def test_augmentation_on_images(fast_dec_params):
    rng = np.random.RandomState(0)
    images = np.zeros((90, 6, 6), dtype=np.float32)
    y = np.repeat([0, 1, 2], 30)
    images[y == 0, :, 2:4] = 1  # vertical bar
    images[y == 1, 2:4, :] = 1  # horizontal bar
    images[y == 2] = np.eye(6)  # diagonal
    X = images.reshape(90, -1) + 0.05 * rng.rand(90, 36).astype(np.float32)
    fast_dec_params["autoencoder"].set_params(batch_size=30, epochs=40)
    params = dict(fast_dec_params, batch_size=30)
    dec = DECClusterer(
        3, augment=True, image_shape=(6, 6), random_state=0, **params
    ).fit(X)
    assert isinstance(dec.augmenter_, RandomShiftRotate)
    assert dec.dec_net_.augmenter is dec.augmenter_
    assert adjusted_rand_score(y, dec.labels_) == 1.0


def test_augment_auto_follows_image_shape(blobs, fast_dec_params):
    X, _ = blobs
    fast_dec_params["autoencoder"].set_params(epochs=1)
    params = dict(fast_dec_params, max_iter=0)
    assert DECClusterer().augment == "auto"
    plain = DECClusterer(4, random_state=0, **params).fit(X)
    assert plain.augmenter_ is None
    # images too small for a pixel's shift (5% of the smaller side) are not
    # augmented by 'auto'; True augments them all the same
    small = DECClusterer(4, image_shape=(2, 5), random_state=0, **params).fit(X)
    assert small.augmenter_ is None
    np.testing.assert_array_equal(small.labels_, plain.labels_)  # the plain fit
    forced = DECClusterer(4, image_shape=(2, 5), augment=True, **params).fit(X)
    assert forced.augmenter_.max_shift == pytest.approx(0.1)  # 0.05 of 2 pixels
    rng = np.random.RandomState(0)
    pictures = rng.rand(40, 2 * 20 * 21).astype(np.float32)
    images = DECClusterer(4, image_shape=(2, 20, 21), random_state=0, **params)
    images.fit(pictures)
    assert images.augmenter_.image_shape == (2, 20, 21)
    assert images.augmenter_.max_shift == pytest.approx(1.0)  # 0.05 of 20 pixels
    assert images.augmenter_.max_rotation == pytest.approx(5.0)
    narrow = DECClusterer(4, image_shape=(19, 44), random_state=0, **params)
    assert narrow.fit(pictures[:, : 19 * 44]).augmenter_ is None
    off = DECClusterer(4, image_shape=(2, 5), augment=None, random_state=0, **params)
    assert off.fit(X).augmenter_ is None
    own = ShiftRotate(max_shift=0.5, max_rotation=0)
    mine = DECClusterer(4, image_shape=(2, 5), augment=own, random_state=0, **params)
    assert mine.fit(X).augmenter_.max_shift == pytest.approx(1.0)
    assert mine.get_params()["augment__max_rotation"] == 0


def test_published_dec_recipe(blobs, fast_dec_params):
    # the paper's algorithm, one documented setting away from the defaults:
    # layer-wise denoising pretraining, k-means centres, the sharpened target
    # from the first update, SGD, no augmentation and no collapse guard
    X, y = blobs
    ae = StackedAutoencoder((16, 8), 3, layer_epochs=5, epochs=15, batch_size=64)
    params = dict(fast_dec_params, autoencoder=ae)
    paper = DECClusterer(
        4,
        init="kmeans",
        augment=False,
        collapse_share=None,
        random_state=0,
        **params,
    ).fit(X)
    # the self-training hyperparameters the defaults share with the paper
    default = DECClusterer().get_params()
    published = dict(optimizer="sgd", lr=0.01, momentum=0.9, update_interval=140)
    published.update(tol=1e-3, alpha=1.0, n_init=20, gamma=0.0)
    assert {k: default[k] for k in published} == published
    assert StackedAutoencoder().get_params()["corruption"] == 0.2
    assert len(paper.pretrain_history_) == 3 + 1  # layer pairs, then fine-tuning
    assert not any(h["start_target"] for h in paper.history_)
    assert not any(h["rolled_back"] for h in paper.history_)
    assert paper.augmenter_ is None
    assert adjusted_rand_score(y, paper.labels_) > 0.5


@pytest.mark.parametrize(
    "params, message",
    [
        ({"augment": True}, "augment needs image_shape"),
        ({"augment": ShiftRotate()}, "augment needs image_shape"),
        ({"augment": True, "image_shape": (3, 3)}, r"holds 9 values but X has 10"),
        ({"image_shape": (3, 3)}, r"holds 9 values but X has 10"),
        ({"image_shape": (10,)}, r"image_shape must be \(height, width\)"),
        ({"augment": "yes"}, "augment"),
    ],
)
def test_augmentation_errors(blobs, params, message):
    with pytest.raises(ValueError, match=message):
        DECClusterer(4, **params).fit(blobs[0])


def test_init_labels_are_the_labels_before_self_training(blobs, fast_dec_params):
    X, _ = blobs
    dec = DECClusterer(4, random_state=0, **dict(fast_dec_params, max_iter=0))
    dec.fit(X)
    assert dec.n_iter_ == 0
    np.testing.assert_array_equal(dec.init_labels_, dec.labels_)


def test_best_of_several_pretraining_runs(blobs, fast_dec_params):
    from skdec._autoencoders import reconstruction_error
    from skdec.nn import EncoderDecoder

    X, _ = blobs
    ae = fast_dec_params["autoencoder"].set_params(n_init=3)
    dec = DECClusterer(4, random_state=0, **dict(fast_dec_params, max_iter=0)).fit(X)
    assert len(dec.pretrain_losses_) == 3
    assert len(set(dec.pretrain_losses_)) == 3  # different initial weights
    torch.manual_seed(0)
    run = ae.pretrain(X)
    kept = reconstruction_error(EncoderDecoder(run.encoder, run.decoder), X, "cpu")
    assert kept == pytest.approx(min(run.reconstruction_errors))
    assert len(run.histories) == 1  # the kept run's net only


def test_degenerate_clustering_warns(fast_dec_params):
    from skdec._dec import DegenerateClusteringWarning

    rng = np.random.RandomState(0)
    X = np.vstack([np.full((290, 10), 0.5), rng.rand(10, 10)]).astype(np.float32)
    # k-means: UMAP spreads identical points apart and its partition splits them
    dec = DECClusterer(3, init="kmeans", random_state=0, **fast_dec_params)
    with pytest.warns(DegenerateClusteringWarning, match="largest cluster holds"):
        dec.fit(X)  # 290 identical samples must share one cluster
    assert max(h["largest_cluster"] for h in dec.history_) > 0.8


def test_umap_init(blobs, fast_dec_params):
    X, y = blobs
    dec = DECClusterer(4, init="umap", random_state=0, **fast_dec_params).fit(X)
    assert adjusted_rand_score(y, dec.init_labels_) == 1.0
    assert adjusted_rand_score(y, dec.labels_) == 1.0
    np.testing.assert_array_equal(dec.labels_, dec.predict(X))
    # the start partition was the first target, held until the net reproduced it
    assert dec.history_[0]["start_target"]
    assert not dec.history_[-1]["start_target"]


def test_umap_is_the_default_init():
    assert DECClusterer().init == "umap"


def test_umap_start_keeps_a_non_convex_partition(fast_dec_params):
    # two rings around one centre: their member means nearly coincide, so the
    # nearest-centre partition of the means would split the rings in half; the
    # start partition (held as the target) must survive the clustering stage
    from skdec.net import TargetDistributionUpdate

    rng = np.random.RandomState(0)
    angle = rng.uniform(0, 2 * np.pi, 400)
    radius = np.r_[np.full(200, 1.0), np.full(200, 3.0)] + rng.normal(0, 0.05, 400)
    X = np.c_[radius * np.cos(angle), radius * np.sin(angle)].astype(np.float32)
    rings = np.r_[np.zeros(200, int), np.ones(200, int)]
    target = np.eye(2)[rings]
    import torch

    from skdec.net import DECNet
    from skdec.nn import ClusteringLayer, DECModule

    torch.manual_seed(0)
    encoder = torch.nn.Sequential(
        torch.nn.Linear(2, 32), torch.nn.ReLU(), torch.nn.Linear(32, 2)
    )
    centers = torch.tensor([X[rings == k].mean(0) for k in (0, 1)])
    callback = TargetDistributionUpdate(
        update_interval=20, tol=1e-3, max_iter=600, initial_target=target
    )
    net = DECNet(
        DECModule(encoder, ClusteringLayer(2, 2, 1.0, centers)),
        lr=1e-2,
        optimizer=torch.optim.Adam,
        batch_size=64,
        max_epochs=200,
        callbacks=[("target", callback)],
        verbose=0,
    )
    net.fit(X, np.arange(len(X)))
    assert callback.updates_[0]["start_target"]
    agree = adjusted_rand_score(rings, callback.labels_.numpy())
    assert agree > 0.9  # the nearest-mean partition of the rings scores ~0
    held = [r["start_target"] for r in callback.updates_]
    assert held[0] and held == sorted(held, reverse=True)  # held, then released


def test_umap_init_without_umap_names_the_package(blobs, fast_dec_params, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "umap", None)  # makes `import umap` fail
    with pytest.raises(ImportError, match=r"pip install 'umap-learn>=0\.5\.5"):
        DECClusterer(4, init="umap", **fast_dec_params).fit(blobs[0])


def _layerwise_collapse_fit(blobs, fast_dec_params, **params):
    # weak layer-wise pretraining of a tiny network: SGD at lr=0.01 empties a
    # cluster within 60 iterations on this seed (5 of seeds 3, 5, 6, 7 that do)
    # unless the collapse is undone
    # (a float32 trajectory: bfloat16 steps take another path)
    X, _ = blobs
    ae = StackedAutoencoder((16, 8), 3, layer_epochs=5, epochs=15, batch_size=64)
    base = dict(fast_dec_params, autoencoder=ae, precision="float32")
    base.update(params)
    dec = DECClusterer(4, random_state=5, **base)
    return dec.fit(X)


def test_collapse_is_rolled_back(blobs, fast_dec_params):
    _, y = blobs
    paper = _layerwise_collapse_fit(blobs, fast_dec_params, collapse_share=None)
    start = np.bincount(paper.init_labels_, minlength=4)
    assert (np.bincount(paper.labels_, minlength=4) < 0.5 * start).any()
    assert not any(h["rolled_back"] for h in paper.history_)

    with pytest.warns(ClusterCollapseWarning, match="rolled back to its state at"):
        dec = _layerwise_collapse_fit(blobs, fast_dec_params)
    assert np.array_equal(dec.init_labels_, paper.init_labels_)
    back = [h for h in dec.history_ if h["rolled_back"]]
    assert back and back[0]["lr"] == pytest.approx(0.005)
    assert all(np.isnan(h["delta_label"]) for h in back)
    assert dec.history_[-1]["lr"] < 0.01
    kept = np.bincount(dec.labels_, minlength=4) / start
    assert kept.min() >= 0.5
    assert adjusted_rand_score(y, dec.labels_) > adjusted_rand_score(y, paper.labels_)


def test_collapse_beyond_max_recoveries_ends_training(fast_dec_params):
    # collapse_share=1 counts any lost member as a collapse: after 3 halvings
    # training must end at the last state whose clusters kept every member
    X = np.random.RandomState(0).rand(300, 10).astype(np.float32)
    params = dict(fast_dec_params, lr=0.1, max_iter=400, init="kmeans")
    dec = DECClusterer(4, collapse_share=1.0, random_state=0, **params)
    with pytest.warns(ClusterCollapseWarning, match="training ends there"):
        dec.fit(X)
    back = [h for h in dec.history_ if h["rolled_back"]]
    assert len(back) == 4
    assert [h["lr"] for h in back] == pytest.approx([0.05, 0.025, 0.0125, 0.0125])
    assert dec.n_iter_ < 400 and not dec.converged_
    counts = np.bincount(dec.labels_, minlength=4)
    assert np.array_equal(counts, np.bincount(dec.init_labels_, minlength=4))
    assert np.array_equal(dec.labels_, dec.predict(X))


def test_pretrain_epochs_auto(blobs, fast_dec_params, monkeypatch):
    import skdec._autoencoders as ae_module

    X, _ = blobs
    fast_dec_params["autoencoder"].set_params(epochs="auto")
    params = dict(fast_dec_params, max_iter=0)
    dec = DECClusterer(4, random_state=0, **params).fit(X[:100])
    assert MLPAutoencoder().epochs == "auto"
    assert len(dec.pretrain_history_[0]) == 100  # small data: 100 epochs
    monkeypatch.setattr(ae_module, "AUTO_SAMPLES", 1000)
    dec.fit(X)  # 300 samples, at most 1000 presented: ceil(1000 / 300) epochs
    assert len(dec.pretrain_history_[0]) == 4


def test_autoencoder_owns_its_batch_size(blobs, fast_dec_params):
    X, _ = blobs
    fast_dec_params["autoencoder"].set_params(batch_size=100)
    params = dict(fast_dec_params, batch_size=32, max_iter=0)
    dec = DECClusterer(4, random_state=0, **params).fit(X)
    # drop_last: whole batches only, so the batch count shows the size used
    assert dec.pretrain_history_[0][-1, "train_batch_count"] == len(X) // 100
    assert dec.dec_net_.batch_size == 32


def test_optimisers_are_fused(blobs, fast_dec_params, monkeypatch):
    X, _ = blobs
    params = dict(fast_dec_params, max_iter=5)
    dec = DECClusterer(4, random_state=0, **params).fit(X)
    seen = []
    original = torch.optim.Adam.__init__

    def spy(self, *args, **kwargs):
        seen.append(kwargs.get("fused"))
        original(self, *args, **kwargs)

    monkeypatch.setattr(torch.optim.Adam, "__init__", spy)
    DECClusterer(4, random_state=0, **params).fit(X)
    assert seen == [True]  # the pretraining optimiser
    cluster_opt = dec.dec_net_.optimizer_
    assert isinstance(cluster_opt, torch.optim.SGD)
    assert cluster_opt.defaults["fused"] is True
    assert cluster_opt.defaults["momentum"] == dec.momentum


def test_collapse_at_the_closing_update_ends_without_halving(fast_dec_params):
    # max_iter=30 with updates every 20 iterations: the update that closes the
    # record at iteration 30 finds a collapse; training is over, so the model
    # is restored and the learning rate is left as it was
    X = np.random.RandomState(0).rand(300, 10).astype(np.float32)
    params = dict(
        fast_dec_params, lr=0.1, max_iter=30, update_interval=20, init="kmeans"
    )
    dec = DECClusterer(4, collapse_share=1.0, random_state=0, **params)
    with pytest.warns(ClusterCollapseWarning, match="training ends there"):
        dec.fit(X)
    last = dec.history_[-1]
    assert last["iteration"] == 30 and last["rolled_back"]
    assert last["lr"] == dec.history_[-2]["lr"]
    counts = np.bincount(dec.labels_, minlength=4)
    assert np.array_equal(counts, np.bincount(dec.init_labels_, minlength=4))


@contextlib.contextmanager
def _output_dtypes(training_only=False):
    """Collect the dtype of every tensor a module returns inside the block."""
    seen = []

    def record(module, inputs, output):
        if isinstance(output, torch.Tensor) and (module.training or not training_only):
            seen.append(output.dtype)

    with torch.nn.modules.module.register_module_forward_hook(record):
        yield seen


def test_bfloat16_training_steps(blobs, fast_dec_params):
    X, y = blobs
    dec = DECClusterer(4, precision="bfloat16", random_state=0, **fast_dec_params)
    with _output_dtypes(training_only=True) as seen:
        dec.fit(X)
    assert dec.precision_ == "bfloat16"
    assert torch.bfloat16 in seen  # the training steps ran under autocast
    assert adjusted_rand_score(y, dec.labels_) == 1.0
    # parameters stay float32, and prediction runs in float32
    assert all(p.dtype == torch.float32 for p in dec.module_.parameters())
    with _output_dtypes() as predicted:
        dec.predict_proba(X)
    assert predicted and set(predicted) == {torch.float32}


def test_float32_training_steps_have_no_autocast(blobs, fast_dec_params):
    dec = DECClusterer(4, precision="float32", random_state=0, **fast_dec_params)
    with _output_dtypes() as seen:
        dec.fit(blobs[0])
    assert dec.precision_ == "float32" and set(seen) == {torch.float32}


@pytest.mark.parametrize("native", [True, False])
def test_precision_auto_follows_native_bfloat16(
    blobs, fast_dec_params, monkeypatch, native
):
    import skdec.net._device as device_module

    monkeypatch.setattr(device_module, "_cpu_has_native_bfloat16", lambda: native)
    fast_dec_params["autoencoder"].set_params(epochs=1)
    params = dict(fast_dec_params, max_iter=0)
    dec = DECClusterer(4, precision="auto", random_state=0, **params).fit(blobs[0])
    assert dec.precision_ == ("bfloat16" if native else "float32")


def test_precision_auto_on_cuda_asks_for_native_bfloat16(monkeypatch):
    from skdec.net._device import resolve_precision as _resolve_precision

    # a GPU that only emulates bfloat16 (before Ampere): slower than float32
    monkeypatch.setattr(
        torch.cuda,
        "is_bf16_supported",
        lambda including_emulation=True: including_emulation,
    )
    assert _resolve_precision("auto", torch.device("cuda")) == "float32"
    monkeypatch.setattr(
        torch.cuda, "is_bf16_supported", lambda including_emulation=True: True
    )
    assert _resolve_precision("auto", torch.device("cuda")) == "bfloat16"
    assert _resolve_precision("float32", torch.device("cuda")) == "float32"
