"""The study's commands (benchmarks/study/): each runs end to end in --quick mode.

Each command runs in a subprocess on a team's own data (``--data`` /
``--labels``: sklearn's digits, enlarged to 24 x 24 images so that the CNN of
kmeans_filters.py fits), which needs no download; the default data
(Fashion-MNIST) is checked once where it is installed.
"""

import importlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

STUDY = Path(__file__).resolve().parents[1] / "benchmarks" / "study"
FASHION_MNIST = Path("/usr/share/datasets/fashion-mnist")
COMMANDS = ["training_size", "volunteers", "dissolve", "kmeans_filters"]
NUMBER = re.compile(r"\b[01]\.\d{3}\b")


def run(name, *args):
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MPLBACKEND": "Agg"}
    return subprocess.run(
        [sys.executable, str(STUDY / f"{name}.py"), *map(str, args)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )


@pytest.fixture(scope="module")
def digits(tmp_path_factory):
    """sklearn's digits as rows (64 features) and as 24 x 24 images."""
    from skdec.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    images = np.kron(X.reshape(-1, 8, 8), np.ones((3, 3), dtype=X.dtype))
    folder = tmp_path_factory.mktemp("digits")
    np.save(folder / "rows.npy", X)
    np.save(folder / "images.npy", images.astype(np.float32))
    np.save(folder / "y.npy", y)
    return folder


def check_outputs(out, name):
    record = json.loads((out / f"{name}.json").read_text())
    assert record["runs"], "no runs recorded"
    assert record["wall_seconds"] > 0 and record["peak_rss_mb"] > 0
    rows = record["table"]["rows"]
    assert rows and all(len(r) == len(record["table"]["header"]) for r in rows)
    table = (out / f"{name}.rst").read_text()
    assert len(NUMBER.findall(table)) >= len(rows), table
    csv_lines = (out / f"{name}.csv").read_text().splitlines()
    assert len(csv_lines) == len(rows) + 1
    png = (out / f"{name}.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 5000
    return record


def accuracies(record, name):
    """Every accuracy the command recorded, per its JSON layout."""
    runs = record["runs"]
    if name == "training_size":
        return [r[part]["acc"] for r in runs for part in ("seen", "unseen")]
    if name == "volunteers":
        return [r[c]["acc"] for r in runs for c in ("mapping", "head", "scratch")]
    if name == "dissolve":
        return [r[part]["acc"] for r in runs for part in ("pool", "test")]
    return [a for r in runs for a in r["test_accuracy_per_epoch"]] + [
        r["linear_probe_accuracy"] for r in runs
    ]


@pytest.mark.parametrize(
    "name, kind, shape",
    [
        ("training_size", "rows", "64 features"),
        ("volunteers", "images", "1x24x24"),
        ("dissolve", "images", "1x24x24"),
        ("kmeans_filters", "images", "1x24x24"),
    ],
)
def test_quick_run_on_own_data(name, kind, shape, digits, tmp_path):
    out = tmp_path / name
    done = run(
        name, "--quick", "--threads", 1, "--data", digits / f"{kind}.npy",
        "--labels", digits / "y.npy", "--output", out,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert "QUICK MODE" in done.stdout
    # the data the table is about: --quick's subset of the digits
    assert re.search(
        rf"{kind}: \d+ training / 200 test subjects, {shape}, 10 cl", done.stdout
    )
    record = check_outputs(out, name)
    acc = np.array(accuracies(record, name), dtype=float)
    acc = acc[np.isfinite(acc)]
    assert acc.size and ((acc >= 0) & (acc <= 1)).all()
    # tiny networks still learn something: better than chance (0.1) somewhere
    assert acc.max() > 0.2


@pytest.fixture
def study(monkeypatch):
    """Import a command's module by name."""
    monkeypatch.syspath_prepend(str(STUDY))
    return importlib.import_module


def test_training_sizes_and_their_seeds(study):
    """Sizes above the pool become the pool; above --all-seeds-up-to only the
    first seed runs."""
    args = (
        study("training_size")
        .parser()
        .parse_args(["--sizes", "100", "5000", "500", "--all-seeds-up-to", "400"])
    )
    plan, notes = study("training_size").plan_sizes(args, 1000)
    assert plan == {100: [0, 1, 2], 500: [0], 1000: [0]}
    assert notes == ["sizes above the training pool (1,000) are replaced by the pool"]


def test_training_size_resumes_an_earlier_run(digits, tmp_path):
    """--resume keeps an earlier run's fits and fits only the missing pairs;
    a run on other data is refused."""
    data = ("--data", digits / "rows.npy", "--labels", digits / "y.npy")
    first, second = tmp_path / "first", tmp_path / "second"
    resume = ("--resume", first / "training_size.json")
    done = run("training_size", "--quick", "--threads", 1, "--seeds", 1, *data,
               "--output", first)  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    earlier = json.loads((first / "training_size.json").read_text())["runs"]
    assert {r["seed"] for r in earlier} == {1}
    done = run("training_size", "--quick", "--threads", 1, "--seeds", 0, *data,
               *resume, "--output", second)  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert f"resumed {len(earlier)} runs" in done.stdout
    assert " seed 1:" not in done.stdout  # not fitted again
    assert done.stdout.count(" seed 0:") == len(earlier)
    record = json.loads((second / "training_size.json").read_text())
    assert [r for r in record["runs"] if r["seed"] == 1] == earlier
    assert {r["seed"] for r in record["runs"]} == {0, 1}
    for row in record["table"]["rows"]:
        assert row[1] == "0, 1"
    # the images of the same digits are other data: refused, in one line
    done = run("training_size", "--quick", "--threads", 1, "--data",
               digits / "images.npy", "--labels", digits / "y.npy", *resume,
               "--output", second)  # fmt: skip
    assert done.returncode == 2
    assert "--resume:" in done.stderr and "same data" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


@pytest.mark.skipif(
    not FASHION_MNIST.exists(),
    reason="Fashion-MNIST not installed (apt-get install dataset-fashion-mnist)",
)
def test_quick_run_on_fashion_mnist(tmp_path):
    done = run("volunteers", "--quick", "--threads", 1, "--output", tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Fashion-MNIST: 400 training / 200 test subjects, 1x28x28" in done.stdout
    check_outputs(tmp_path, "volunteers")


@pytest.mark.parametrize(
    "name, args, message",
    [
        ("training_size", ["--data", "X.npy"], "--data needs --labels"),
        ("volunteers", ["--labels", "y.npy"], "--labels goes with --data"),
        ("dissolve", ["--seeds", "1", "1"], "--seeds repeats a seed"),
        ("kmeans_filters", ["--budgets", "2"], "--budgets are fractions"),
        (
            "training_size",
            ["--data", "missing.npy", "--labels", "y.npy"],
            "cannot read",
        ),
        ("volunteers", ["--accuracies", "1.5"], "--accuracies must lie in [0, 1]"),
        ("volunteers", ["--lr-scratch", "1e-3", "0"], "--lr-scratch must be positive"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(name, args, message, tmp_path):
    done = run(name, *args, "--output", tmp_path)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"{name}.py: error: ")
    assert message in lines[0]


def test_kmeans_filters_needs_images(tmp_path):
    np.save(tmp_path / "X.npy", np.random.RandomState(0).rand(50, 30))
    np.save(tmp_path / "y.npy", np.arange(50) % 3)
    done = run(
        "kmeans_filters", "--quick", "--data", tmp_path / "X.npy",
        "--labels", tmp_path / "y.npy", "--output", tmp_path,
    )  # fmt: skip
    assert done.returncode == 2
    assert "the CNN needs images" in done.stderr


def test_help_names_the_defaults():
    for name in COMMANDS:
        done = run(name, "--help")
        assert done.returncode == 0
        assert "--quick" in done.stdout and "Default run" in done.stdout


def test_bad_clusters_are_found(study):
    dissolve_module = study("dissolve")
    # classes 0-2; clusters 0 and 3 both hold mostly class 0 (3 is smaller)
    y = np.array([0] * 6 + [1] * 5 + [2] * 5 + [0] * 3)
    labels = np.array([0] * 6 + [1] * 5 + [2] * 5 + [3] * 3)
    assert dissolve_module.duplicated_pair(labels, y, 4) == [0, 3]
    # cluster 1 mixes classes 1 and 2 (3 samples of its second class)
    labels = np.array([0] * 6 + [1] * 5 + [1] * 3 + [2] * 2 + [0] * 3)
    assert dissolve_module.mixed_cluster(labels, y, 3) == 1


def test_own_images_are_split_once_by_class(study, tmp_path):
    """--images: one class per sub-folder, a stratified split that does not
    depend on the run seed."""
    from PIL import Image

    rng = np.random.RandomState(0)
    for name in ("a", "b", "c"):
        (tmp_path / name).mkdir()
        for i in range(10):
            pixels = rng.randint(0, 256, (16, 20), dtype=np.uint8)
            Image.fromarray(pixels).save(tmp_path / name / f"{i}.png")
    common = study("_common")
    parser = study("training_size").parser()
    args = parser.parse_args(["--images", str(tmp_path), "--grayscale"])
    data = common.load_data(args)
    assert data.image_shape == (1, 16, 20) and data.X_train.shape == (24, 320)
    assert np.bincount(data.y_test).tolist() == [2, 2, 2]
    again = common.load_data(
        parser.parse_args(
            [*map(str, ["--images", tmp_path]), "--grayscale", "--seeds", "7"]
        )
    )
    assert np.array_equal(again.X_test, data.X_test)
    assert 0 <= data.X_train.min() and data.X_train.max() <= 1


def test_own_array_images_are_scaled(study, tmp_path):
    common = study("_common")
    X = np.random.RandomState(0).randint(0, 256, (40, 3, 8, 8), dtype=np.uint8)
    np.save(tmp_path / "X.npy", X)
    np.save(tmp_path / "y.npy", np.arange(40) % 4)
    args = (
        study("volunteers")
        .parser()
        .parse_args(
            ["--data", str(tmp_path / "X.npy"), "--labels", str(tmp_path / "y.npy")]
        )
    )
    data = common.load_data(args)
    assert data.image_shape == (3, 8, 8) and data.X_train.dtype == np.float32
    assert data.X_train.shape == (32, 192) and data.X_train.max() <= 1
    assert "32 training / 8 test subjects, 3x8x8, 4 classes" in data.describe()
