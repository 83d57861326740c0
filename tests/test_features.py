import pickle
import sys
import warnings

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.cluster import KMeans
from sklearn.pipeline import make_pipeline

from skdec import (
    DECClusterer,
    FeatureExtractor,
    MLPAutoencoder,
    PretrainedEncoder,
)

# torch 2.13 deprecates TorchScript (script, trace, save, load) in favour of
# torch.export; the format is still what pretrained networks are shipped in.
JIT_DEPRECATED = pytest.mark.filterwarnings(
    "ignore:`torch.jit.*deprecated:DeprecationWarning"
)
SHAPE = (3, 8, 8)


def conv_net(pool=True):
    layers = [torch.nn.Conv2d(3, 4, kernel_size=3), torch.nn.ReLU()]
    if pool:
        layers.append(torch.nn.AdaptiveAvgPool2d(2))  # (n, 4, 2, 2)
    return torch.nn.Sequential(*layers)


def mlp(n_in=12, n_out=5):
    return torch.nn.Sequential(
        torch.nn.Linear(n_in, 16), torch.nn.Tanh(), torch.nn.Linear(16, n_out)
    )


def image_rows(n=40, shape=SHAPE, seed=0):
    return np.random.default_rng(seed).random((n, int(np.prod(shape))))


@torch.no_grad()
def reference(net, X, shape=None):
    net.eval()
    x = torch.as_tensor(X, dtype=torch.float32)
    if shape is not None:
        x = x.reshape(len(x), *shape)
    return net(x).reshape(len(x), -1).numpy()


def save_torchscript(net, path, trace_input=None):
    net.eval()
    scripted = (
        torch.jit.script(net)
        if trace_input is None
        else torch.jit.trace(net, trace_input)
    )
    torch.jit.save(scripted, str(path))
    return path


def export_onnx(net, path, example, dynamic_batch=True):
    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")  # torch.onnx.export writes through it
    net.eval()
    axes = {"x": {0: "n"}, "y": {0: "n"}} if dynamic_batch else None
    with warnings.catch_warnings():  # the legacy exporter is deprecated
        warnings.simplefilter("ignore")
        torch.onnx.export(
            net,
            (example,),
            str(path),
            input_names=["x"],
            output_names=["y"],
            dynamic_axes=axes,
            dynamo=False,
        )
    return path


# -- torch modules ---------------------------------------------------------------


def test_conv_net_on_image_rows():
    net = conv_net()
    X = image_rows()
    extractor = FeatureExtractor(net, image_shape=SHAPE, batch_size=16).fit(X)
    Z = extractor.transform(X)
    assert Z.shape == (40, 16) and Z.dtype == np.float32
    assert extractor.n_features_out_ == 16 and extractor.n_features_in_ == 192
    assert extractor.image_shape_ == SHAPE
    np.testing.assert_allclose(Z, reference(net, X, SHAPE), rtol=1e-5, atol=1e-6)
    names = extractor.get_feature_names_out()
    assert list(names[:2]) == ["featureextractor0", "featureextractor1"]
    assert len(names) == 16


def test_feature_map_is_flattened_and_hw_shape_means_one_channel():
    net = torch.nn.Conv2d(1, 2, kernel_size=3)  # (n, 2, 4, 4) from 6x6 images
    X = image_rows(shape=(36,))
    extractor = FeatureExtractor(net, image_shape=(6, 6)).fit(X)
    assert extractor.image_shape_ == (1, 6, 6)
    Z = extractor.transform(X)
    assert Z.shape == (40, 32)
    np.testing.assert_allclose(Z, reference(net, X, (1, 6, 6)), rtol=1e-5, atol=1e-6)


def test_flat_rows_without_image_shape():
    net = mlp()
    X = image_rows(shape=(12,))
    Z = FeatureExtractor(net).fit_transform(X)
    assert Z.shape == (40, 5)
    np.testing.assert_allclose(Z, reference(net, X), rtol=1e-5, atol=1e-6)


def test_per_channel_normalisation():
    net = conv_net()
    X = image_rows()
    mean, std = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]
    Z = FeatureExtractor(net, image_shape=SHAPE, mean=mean, std=std).fit_transform(X)
    images = X.reshape(-1, *SHAPE)
    scaled = (images - np.reshape(mean, (3, 1, 1))) / np.reshape(std, (3, 1, 1))
    np.testing.assert_allclose(
        Z, reference(net, scaled.reshape(len(X), -1), SHAPE), rtol=1e-4, atol=1e-5
    )
    # without image_shape each feature is a channel; a number applies to all
    flat = FeatureExtractor(mlp(), mean=np.full(12, 0.5), std=2.0)
    assert flat.fit_transform(image_rows(shape=(12,))).shape == (40, 5)


@pytest.mark.parametrize(
    "params, match",
    [
        ({"mean": [0.5, 0.5]}, "one value per channel, 3 in all"),
        ({"std": [0.2, 0.0, 0.2]}, "std must be positive"),
        ({"mean": [[0.5, 0.5, 0.5]]}, "one value per channel"),
        ({"std": float("nan")}, "std must be finite"),
    ],
)
def test_bad_mean_std(params, match):
    extractor = FeatureExtractor(conv_net(), image_shape=SHAPE, **params)
    with pytest.raises(ValueError, match=match):
        extractor.fit(image_rows())


def test_model_is_never_modified():
    net = torch.nn.Sequential(
        torch.nn.Linear(12, 8), torch.nn.Dropout(0.5), torch.nn.BatchNorm1d(8)
    )
    net.train()
    before = {k: v.clone() for k, v in net.state_dict().items()}
    X = image_rows(shape=(12,))
    extractor = FeatureExtractor(net, batch_size=8).fit(X)
    Z = extractor.transform(X)
    assert net.training and all(m.training for m in net.modules())
    assert all(p.requires_grad for p in net.parameters())
    for key, value in net.state_dict().items():  # BatchNorm statistics too
        assert torch.equal(value, before[key]), key
    assert extractor.model_ is not net and not extractor.model_.training
    # eval mode: no dropout, running statistics, so the same features twice
    np.testing.assert_array_equal(extractor.transform(X), Z)


@pytest.mark.parametrize("batch_size", [1, 16, 64])
def test_transform_of_a_subset_equals_the_subset_of_the_transform(batch_size):
    # A 784-500 layer is where float32 products differ with the number of
    # rows (about 1e-7, measured on a 2-core AMD EPYC): padded batches make them
    # equal. With 5 to 11 rows a row's position in the batch mattered too
    # (docstring Notes), so those batch sizes are not claimed.
    net = torch.nn.Sequential(
        torch.nn.Linear(784, 500), torch.nn.ReLU(), torch.nn.Linear(500, 10)
    )
    X = image_rows(n=50, shape=(784,))
    extractor = FeatureExtractor(net, batch_size=batch_size).fit(X)
    Z = extractor.transform(X)
    rows = [3, 17, 18, 40]
    np.testing.assert_array_equal(extractor.transform(X[rows]), Z[rows])
    np.testing.assert_array_equal(extractor.transform(X[5:6]), Z[5:6])


def test_pipeline_with_kmeans():
    X = image_rows()
    pipe = make_pipeline(
        FeatureExtractor(conv_net(), image_shape=SHAPE),
        KMeans(n_clusters=3, n_init=2, random_state=0),
    )
    labels = pipe.fit_predict(X)
    assert labels.shape == (40,) and set(labels) <= {0, 1, 2}
    np.testing.assert_array_equal(pipe.predict(X), labels)


def test_pickle_round_trip_and_clone_of_a_module():
    X = image_rows()
    extractor = FeatureExtractor(conv_net(), image_shape=SHAPE).fit(X)
    restored = pickle.loads(pickle.dumps(extractor))
    np.testing.assert_array_equal(restored.transform(X), extractor.transform(X))
    cloned = clone(extractor)
    assert not hasattr(cloned, "model_")
    np.testing.assert_array_equal(cloned.fit_transform(X), extractor.transform(X))


def test_float64_input_is_not_copied_whole_and_int_input_works():
    net = mlp()
    X = image_rows(shape=(12,))
    extractor = FeatureExtractor(net).fit(X)
    np.testing.assert_array_equal(
        extractor.transform(X.astype(np.float32)), extractor.transform(X)
    )
    assert extractor.transform((X * 10).astype(np.int64)).dtype == np.float32


# -- TorchScript files -----------------------------------------------------------


@JIT_DEPRECATED
@pytest.mark.parametrize("suffix", [".pt", ".torchscript", ".bin"])
def test_torchscript_file(tmp_path, suffix):
    net = conv_net()
    X = image_rows()
    path = save_torchscript(net, tmp_path / f"net{suffix}")
    for model in (path, str(path)):
        extractor = FeatureExtractor(model, image_shape=SHAPE).fit(X)
        assert isinstance(extractor.model_, torch.jit.ScriptModule)
        assert not extractor.model_.training
        np.testing.assert_allclose(
            extractor.transform(X), reference(net, X, SHAPE), rtol=1e-5, atol=1e-6
        )


@JIT_DEPRECATED
def test_pickle_round_trip_of_torchscript(tmp_path):
    net = conv_net()
    X = image_rows()
    traced = torch.jit.trace(net.eval(), torch.zeros(1, *SHAPE))
    path = save_torchscript(net, tmp_path / "net.pt", torch.zeros(1, *SHAPE))
    for model in (path, traced):
        extractor = FeatureExtractor(model, image_shape=SHAPE).fit(X)
        restored = pickle.loads(pickle.dumps(extractor))
        assert isinstance(restored.model_, torch.jit.ScriptModule)
        assert not restored.model_.training
        np.testing.assert_array_equal(restored.transform(X), extractor.transform(X))
    # an unfitted extractor holding a scripted module pickles too
    unfitted = pickle.loads(pickle.dumps(FeatureExtractor(traced, image_shape=SHAPE)))
    np.testing.assert_array_equal(unfitted.fit_transform(X), extractor.transform(X))


@JIT_DEPRECATED
def test_files_that_are_not_models(tmp_path):
    with pytest.raises(FileNotFoundError, match="No model file at"):
        FeatureExtractor(str(tmp_path / "missing.pt")).fit(image_rows())
    state_dict = tmp_path / "weights.pt"
    torch.save(conv_net().state_dict(), state_dict)
    with pytest.raises(ValueError, match="as TorchScript.*state_dict"):
        FeatureExtractor(state_dict, image_shape=SHAPE).fit(image_rows())
    junk = tmp_path / "net.weird"
    junk.write_bytes(b"not a network")
    with pytest.raises(ValueError, match="Could not load .*net.weird"):
        FeatureExtractor(junk).fit(image_rows())


# -- ONNX files ------------------------------------------------------------------


def test_onnx_file(tmp_path):
    net = conv_net()
    X = image_rows()
    path = export_onnx(net, tmp_path / "net.onnx", torch.zeros(2, *SHAPE))
    extractor = FeatureExtractor(path, image_shape=SHAPE, batch_size=16).fit(X)
    Z = extractor.transform(X)
    assert Z.shape == (40, 16) and Z.dtype == np.float32
    np.testing.assert_allclose(Z, reference(net, X, SHAPE), rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(extractor.transform(X[7:9]), Z[7:9])
    restored = pickle.loads(pickle.dumps(extractor))
    np.testing.assert_array_equal(restored.transform(X), Z)


def test_onnx_file_with_a_fixed_batch_size(tmp_path):
    net = conv_net()
    X = image_rows(n=7)
    path = export_onnx(
        net, tmp_path / "fixed.onnx", torch.zeros(2, *SHAPE), dynamic_batch=False
    )
    extractor = FeatureExtractor(str(path), image_shape=SHAPE, batch_size=64)
    Z = extractor.fit_transform(X)  # batches of the model's 2 rows, padded
    np.testing.assert_allclose(Z, reference(net, X, SHAPE), rtol=1e-5, atol=1e-6)


def test_onnx_file_that_is_not_a_model(tmp_path):
    pytest.importorskip("onnxruntime")
    junk = tmp_path / "net.onnx"
    junk.write_bytes(b"not a network")
    with pytest.raises(ValueError, match="as an ONNX model"):
        FeatureExtractor(junk).fit(image_rows())


def test_onnx_without_onnxruntime(tmp_path, monkeypatch):
    path = tmp_path / "net.onnx"
    path.write_bytes(b"any bytes")
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # import fails
    with pytest.raises(ImportError, match=r"pip install 'skdec\[onnx\]'"):
        FeatureExtractor(path).fit(image_rows())


# -- errors ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "image_shape, match",
    [
        ((3, 8, 9), r"image_shape \(3, 8, 9\) holds 216 values but X has 192"),
        ((8, 8), r"image_shape \(1, 8, 8\) holds 64 values"),
        ((192,), "must be \\(height, width\\) or \\(channels, height, width\\)"),
        ((3, 0, 8), "positive ints"),
    ],
)
def test_wrong_image_shape(image_shape, match):
    with pytest.raises(ValueError, match=match):
        FeatureExtractor(conv_net(), image_shape=image_shape).fit(image_rows())


def test_wrong_number_of_features_at_transform():
    extractor = FeatureExtractor(conv_net(), image_shape=SHAPE).fit(image_rows())
    with pytest.raises(ValueError, match="X has 191 features"):
        extractor.transform(image_rows()[:, :-1])


def test_network_that_does_not_fit_the_input():
    with pytest.raises(ValueError, match=r"failed on a batch of shape \(256, 12\)"):
        FeatureExtractor(mlp(n_in=10)).fit(image_rows(shape=(12,)))


class _Log(torch.nn.Module):
    def forward(self, x):
        return torch.log(x - 0.5)  # NaN for inputs below 0.5


class _Pair(torch.nn.Module):
    def forward(self, x):
        return x, x


class _BatchMean(torch.nn.Module):
    def forward(self, x):
        return x.mean(0)


class _Empty(torch.nn.Module):
    def forward(self, x):
        return x[:, :0]


@pytest.mark.parametrize(
    "net, match",
    [
        (_Log(), "output for rows 0 to 39 holds NaN or infinite values"),
        (_Pair(), "returned a tuple; .* one tensor"),
        (_BatchMean(), r"output of shape \(12,\) for a batch of 256 samples"),
        (_Empty(), "returned no features"),
    ],
)
def test_bad_network_output(net, match):
    with pytest.raises(ValueError, match=match):
        FeatureExtractor(net).fit(image_rows(shape=(12,)))


def test_non_finite_output_at_transform():
    X = image_rows(shape=(12,)) + 0.5
    extractor = FeatureExtractor(_Log(), batch_size=16).fit(X)
    X[20, 0] = 0.1
    with pytest.raises(ValueError, match="rows 16 to 31 holds NaN"):
        extractor.transform(X)


def test_bad_parameters():
    with pytest.raises(ValueError, match="'model' parameter"):
        FeatureExtractor(42).fit(image_rows())
    with pytest.raises(ValueError, match="'batch_size' parameter"):
        FeatureExtractor(mlp(), batch_size=0).fit(image_rows(shape=(12,)))
    with pytest.raises(ValueError, match="Invalid device"):
        FeatureExtractor(mlp(), device="nonsense").fit(image_rows(shape=(12,)))


# -- transfer from a fitted DECClusterer (user guide, "Transfer") ----------------


def test_encoder_of_a_fitted_dec_is_reused_on_new_data():
    rng = np.random.default_rng(0)
    centres = rng.normal(scale=4.0, size=(3, 10))
    X = (centres[rng.integers(0, 3, 150)] + rng.normal(size=(150, 10))).astype(
        np.float32
    )
    params = dict(
        init="kmeans",
        n_init=1,
        max_iter=10,
        update_interval=5,
        collapse_share=None,
        batch_size=50,
        random_state=0,
    )
    ae = MLPAutoencoder((16,), 3, epochs=3, batch_size=50)
    fitted = DECClusterer(n_clusters=3, autoencoder=ae, **params).fit(X[:100])
    encoder = fitted.module_.encoder
    before = {k: v.clone() for k, v in encoder.state_dict().items()}
    # frozen: the encoder's embedding, as DECClusterer.transform gives it
    features = FeatureExtractor(encoder).fit_transform(X[100:])
    np.testing.assert_allclose(features, fitted.transform(X[100:]), rtol=1e-6)
    # fine-tuned: a new DECClusterer starts from the fitted encoder
    ae = PretrainedEncoder(encoder)
    reused = DECClusterer(n_clusters=3, autoencoder=ae, **params)
    reused.fit(X[100:])
    assert reused.labels_.shape == (50,)
    assert reused.pretrain_history_ == []
    for key, value in encoder.state_dict().items():
        assert torch.equal(value, before[key]), key


@pytest.mark.cuda
def test_on_cuda():
    net = conv_net()
    X = image_rows()
    extractor = FeatureExtractor(net, image_shape=SHAPE, device="cuda").fit(X)
    assert next(extractor.model_.parameters()).is_cuda
    assert next(net.parameters()).device.type == "cpu"
    Z = extractor.transform(X)
    np.testing.assert_allclose(Z, reference(net, X, SHAPE), rtol=1e-3, atol=1e-4)
    np.testing.assert_array_equal(extractor.transform(X[[3, 30]]), Z[[3, 30]])
    restored = pickle.loads(pickle.dumps(extractor))
    np.testing.assert_array_equal(restored.transform(X), Z)
