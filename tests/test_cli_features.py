"""``skdec cluster --features FILE``: a pretrained network's features of the
images are clustered; the later commands still draw the images."""

import json
import sys
import warnings

import numpy as np
import pytest
import torch
from conftest import COLOURS, TINY

from skdec._cli import main

# torch 2.13 deprecates TorchScript (script, trace, save, load) in favour of
# torch.export; the format is still what pretrained networks are shipped in.
pytestmark = pytest.mark.filterwarnings(
    "ignore:`torch.jit.*deprecated:DeprecationWarning"
)

N_FEATURES = 8


class _Net(torch.nn.Module):
    """(b, 3, 8, 8) images to (b, 8) features."""

    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(3, N_FEATURES, kernel_size=3)

    def forward(self, x):
        return torch.relu(self.conv(x)).mean(dim=(2, 3))


@pytest.fixture
def script_model(tmp_path):
    torch.manual_seed(0)
    path = tmp_path / "net.pt"
    torch.jit.save(torch.jit.script(_Net()), str(path))
    return path


@pytest.fixture
def image_folder(tmp_path):
    """30 PNG files of 8x8, ten per sub-folder, each mostly one colour."""
    from PIL import Image

    rng = np.random.RandomState(0)
    root = tmp_path / "subjects"
    for folder, channel in COLOURS.items():
        (root / folder).mkdir(parents=True)
        for i in range(10):
            pixels = rng.randint(0, 40, size=(8, 8, 3))
            pixels[..., channel] = rng.randint(200, 256, size=(8, 8))
            Image.fromarray(pixels.astype(np.uint8)).save(root / f"{folder}/{i}.png")
    return root


def _cluster(root, out, model, *extra):
    argv = ["cluster", "--images", str(root), "--output", str(out)]
    return main([*argv, "--features", str(model), *TINY, *extra])


def test_cluster_features_then_report_and_select(
    tmp_path, image_folder, script_model, capsys, monkeypatch
):
    import joblib

    out = tmp_path / "run"
    argv = ["--labels-from-folders", "--features-batch-size", "16"]
    assert _cluster(image_folder, out, script_model, *argv) == 0
    model = joblib.load(out / "model.joblib")
    assert model.n_features_in_ == N_FEATURES
    assert model.image_shape is None  # features are not images
    info = json.loads((out / "run.json").read_text())
    assert info["n_features"] == N_FEATURES and info["image_shape"] == [3, 8, 8]
    assert info["features"]["model"] == "../net.pt"  # relative to the run
    assert info["features"]["params"] == {"batch_size": 16, "image_shape": [3, 8, 8]}
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["features"]["n_features"] == N_FEATURES
    assert "image_shape" not in metrics["params"]
    cached = list((tmp_path / ".skdec-cache").glob("features-*.npy"))
    assert len(cached) == 1 and np.load(cached[0]).shape == (30, N_FEATURES)
    assert (out / "montage.png").is_file()  # drawn from the pixels

    # the later commands read the features from the cache: no network run
    from skdec import _features

    def no_network(*args, **kwargs):
        raise AssertionError("the features were computed again")

    monkeypatch.setattr(_features.FeatureExtractor, "fit", no_network)
    report = tmp_path / "report"
    assert main(["report", "--model", str(out), "--output", str(report)]) == 0
    assert (report / "index.html").is_file()
    assert any((report / "images").glob("cluster_0_central.png"))
    select = tmp_path / "select"
    argv = ["select", "--model", str(out), "--output", str(select), "--budget", "6"]
    assert main([*argv, "--quiet"]) == 0
    assert any(select.rglob("subject_*"))
    merged = tmp_path / "merged"
    argv = ["merge", "--model", str(out), "--output", str(merged)]
    assert main([*argv, "--clusters", "0,1", "--quiet"]) == 0
    surgery = json.loads((merged / "run.json").read_text())
    assert surgery["features"]["model"] == "../net.pt"  # relative to the new run
    assert surgery["n_features"] == N_FEATURES
    monkeypatch.undo()

    # without the cache the network runs again, to the same features
    cached[0].unlink()
    from skdec._run import load_run

    run = load_run(out)
    assert run.X.shape == (30, N_FEATURES) and run.images.shape == (30, 3 * 8 * 8)
    assert np.array_equal(run.labels, model.predict(run.X))
    capsys.readouterr()


def test_cluster_features_of_plain_rows(tmp_path, capsys):
    import joblib

    rng = np.random.RandomState(0)
    X = np.concatenate([rng.normal(c, 0.1, size=(20, 10)) for c in (0, 3)])
    np.save(tmp_path / "rows.npy", X.astype(np.float32))
    torch.manual_seed(0)
    net = tmp_path / "linear.pt"
    torch.jit.save(torch.jit.script(torch.nn.Linear(10, 4)), str(net))
    out = tmp_path / "run"
    argv = ["cluster", "--data", str(tmp_path / "rows.npy"), "--output", str(out)]
    argv += ["--features", str(net), "--n-clusters", "2"]
    assert main([*argv, *TINY[:-3], "--quiet"]) == 0
    assert joblib.load(out / "model.joblib").n_features_in_ == 4
    info = json.loads((out / "run.json").read_text())
    assert info["features"]["params"]["image_shape"] is None
    from skdec._run import load_run

    run = load_run(out)
    assert run.X.shape == (40, 4) and run.images.shape == (40, 10)
    capsys.readouterr()


def test_cluster_features_errors(tmp_path, image_folder, script_model, capsys):
    out = tmp_path / "run"
    bad = tmp_path / "net.h5"
    bad.write_bytes(b"x")
    assert _cluster(image_folder, out, bad) == 2
    assert "expected a TorchScript file" in capsys.readouterr().err
    assert _cluster(image_folder, out, tmp_path / "missing.pt") == 1
    assert "missing.pt: no such file" in capsys.readouterr().err
    broken = tmp_path / "broken.pt"
    broken.write_bytes(b"not torchscript")
    assert _cluster(image_folder, out, broken) == 1
    err = capsys.readouterr().err
    assert "Could not load" in err and err.count("\n") == 1
    # a network for single-channel images fed RGB ones
    gray = tmp_path / "gray.pt"
    net = torch.nn.Sequential(torch.nn.Conv2d(1, 4, 3), torch.nn.Flatten())
    torch.jit.save(torch.jit.script(net), str(gray))
    assert _cluster(image_folder, out, gray) == 1
    err = capsys.readouterr().err
    assert "model failed on a batch of shape (256, 3, 8, 8)" in err
    assert err.count("\n") == 1
    # FeatureExtractor's options without --features
    argv = ["cluster", "--images", str(image_folder), "--features-batch-size", "8"]
    assert main([*argv, "--output", str(out), *TINY]) == 2
    assert "apply to --features FILE only" in capsys.readouterr().err
    assert not (out / "run.json").exists()


def test_onnx_features_without_onnxruntime(tmp_path, image_folder, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # not installed
    model = tmp_path / "net.onnx"
    model.write_bytes(b"onnx")
    assert _cluster(image_folder, tmp_path / "run", model) == 1
    assert "pip install 'skdec[onnx]'" in capsys.readouterr().err


def test_onnx_features(tmp_path, image_folder):
    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")  # torch.onnx.export writes through it
    model = tmp_path / "net.onnx"
    with warnings.catch_warnings():  # the legacy exporter is deprecated
        warnings.simplefilter("ignore")
        torch.onnx.export(
            _Net().eval(),
            (torch.zeros(1, 3, 8, 8),),
            str(model),
            input_names=["x"],
            dynamic_axes={"x": {0: "batch"}},
            dynamo=False,
        )
    out = tmp_path / "run"
    assert _cluster(image_folder, out, model) == 0
    info = json.loads((out / "run.json").read_text())
    assert info["n_features"] == N_FEATURES
