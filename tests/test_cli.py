import json
import subprocess
import sys

import numpy as np
import pytest
from sklearn.datasets import make_blobs

from skdec._cli import main

FAST = [
    "--hidden-dims",
    "64,32",
    "--pretrain-epochs",
    "5",
    "--max-iter",
    "30",
    "--quiet",
]


def test_cluster_digits_writes_results(tmp_path, capsys):
    assert main(["cluster", "--output", str(tmp_path), *FAST]) == 0
    out = capsys.readouterr().out
    assert "ACC=" in out and "NMI=" in out and "ARI=" in out and "done in" in out
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["n_samples"] == 1797 and metrics["n_clusters"] == 10
    assert metrics["precision"] in {"float32", "bfloat16"}
    assert 0 < metrics["acc"] <= 1
    rows = (tmp_path / "labels.csv").read_text().splitlines()
    assert rows[0] == "index,cluster,label" and len(rows) == 1798
    assert (tmp_path / "dec.png").stat().st_size > 10_000
    # the built-in data set says its rows are 8x8 images
    assert metrics["params"]["image_shape"] == [8, 8]


def test_cluster_own_npy_and_csv(tmp_path, capsys):
    X, y = make_blobs(120, n_features=4, centers=3, random_state=0)
    np.save(tmp_path / "x.npy", X)
    assert (
        main(
            [
                "cluster",
                "--data",
                str(tmp_path / "x.npy"),
                "--n-clusters",
                "3",
                "--output",
                str(tmp_path / "a"),
                *FAST,
            ]
        )
        == 0
    )
    assert "ACC" not in capsys.readouterr().out  # no labels, no scores
    header = "f0,f1,f2,f3,kind"
    lines = [header] + [",".join(map(str, r)) + f",c{t}" for r, t in zip(X, y)]
    (tmp_path / "x.csv").write_text("\n".join(lines))
    assert (
        main(
            [
                "cluster",
                "--data",
                str(tmp_path / "x.csv"),
                "--label-column",
                "kind",
                "--output",
                str(tmp_path / "b"),
                "--precision",
                "float32",
                *FAST,
            ]
        )
        == 0
    )
    metrics = json.loads((tmp_path / "b" / "metrics.json").read_text())
    assert metrics["n_clusters"] == 3 and metrics["acc"] > 0.9
    assert metrics["precision"] == "float32"
    assert metrics["params"]["precision"] == "float32"


def test_image_shape_and_init_options(tmp_path):
    from skdec._centers import INIT_STRATEGIES
    from skdec._cli import build_parser

    args = build_parser().parse_args(["cluster", "--image-shape", "1,8,8"])
    assert args.image_shape == (1, 8, 8)
    for init in INIT_STRATEGIES:  # every strategy of the estimator, 'umap' too
        args = build_parser().parse_args(["cluster", "--init", init])
        assert args.dec__init == init
    X = np.random.RandomState(0).rand(60, 4)
    np.save(tmp_path / "x.npy", X)
    base = ["cluster", "--data", str(tmp_path / "x.npy"), "--n-clusters", "2", *FAST]
    assert main([*base, "--output", str(tmp_path / "a"), "--init", "kmeans"]) == 0
    metrics = json.loads((tmp_path / "a" / "metrics.json").read_text())
    assert "image_shape" not in metrics["params"]  # a user's file: plain rows
    out = tmp_path / "b"
    assert main([*base, "--output", str(out), "--image-shape", "2,2"]) == 0
    assert json.loads((out / "metrics.json").read_text())["params"]["image_shape"] == [
        2,
        2,
    ]
    out = tmp_path / "c"
    assert main(["cluster", "--output", str(out), "--no-image-shape", *FAST]) == 0
    assert "image_shape" not in json.loads((out / "metrics.json").read_text())["params"]


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--data", "missing.npy"], "No such data file"),
        (["--image-shape", "3,3"], "holds 9 values but X has 64"),
        (["--dataset", "mnist"], "needs --data-dir"),
        (["--dataset", "fashion-mnist", "--data-dir", "/nonexistent"], "not found"),
    ],
)
def test_cluster_errors(tmp_path, capsys, argv, message):
    assert main(["cluster", "--output", str(tmp_path), *argv, *FAST]) == 2
    assert message in capsys.readouterr().err


def test_python_dash_m_entry_point():
    done = subprocess.run(
        [sys.executable, "-m", "skdec", "--help"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "cluster" in done.stdout


def test_options_come_from_the_estimators_constraints(capsys):
    from skdec import DECClusterer, StackedAutoencoder
    from skdec._cli import build_parser
    from skdec._cli_params import estimator_params

    parser = build_parser()
    for name in DECClusterer._parameter_constraints:
        if name not in {"n_clusters", "random_state", "verbose", "autoencoder"}:
            flag = "--" + name.replace("_", "-")
            assert flag in parser.format_help() or name in {"augment", "image_shape"}
    args = parser.parse_args(
        [
            "cluster",
            "--autoencoder",
            "stacked",
            "--autoencoder-layer-epochs",
            "3",
            "--hidden-dims",
            "8,4",
            "--lr",
            "0.05",
            "--collapse-share",
            "none",
        ]
    )
    params = estimator_params(args)
    assert isinstance(params["autoencoder"], StackedAutoencoder)
    assert params["autoencoder"].get_params()["layer_epochs"] == 3
    assert params["autoencoder"].hidden_dims == (8, 4)
    assert params["lr"] == 0.05 and params["collapse_share"] is None
    assert estimator_params(parser.parse_args(["cluster"])) == {}
    with pytest.raises(SystemExit):
        parser.parse_args(["cluster", "--autoencoder-activation", "swish"])
    assert "swish" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        parser.parse_args(["cluster", "--n-init", "0"])
    assert "an int in the range [1, inf)" in capsys.readouterr().err
    args = parser.parse_args(["cluster", "--autoencoder-layer-epochs", "3"])
    with pytest.raises(ValueError, match="do not apply to --autoencoder mlp"):
        estimator_params(args)
