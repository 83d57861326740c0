import argparse
import csv
import json
import subprocess
import sys

import numpy as np
import pytest
from conftest import COLOURS, TINY
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
    # a montage of the clusters' most confident digits, and one per cluster
    assert (tmp_path / "montage.png").read_bytes()[:4] == b"\x89PNG"
    clusters = {int(r.split(",")[1]) for r in rows[1:]}
    grids = {p.name for p in (tmp_path / "montages").glob("*.png")}
    assert grids == {f"cluster_{k}.png" for k in clusters}
    assert "montage.png" in out
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
    "argv, message, status",
    [
        (["--data", "missing.npy"], "No such data file", 1),
        (["--image-shape", "3,3"], "holds 9 values but X has 64", 1),
        (["--dataset", "mnist"], "needs --data-dir", 2),  # a usage error
        (["--dataset", "fashion-mnist", "--data-dir", "/nonexistent"], "not found", 1),
    ],
)
def test_cluster_errors(tmp_path, capsys, argv, message, status):
    assert main(["cluster", "--output", str(tmp_path), *argv, *FAST]) == status
    err = capsys.readouterr().err
    assert message in err and err.startswith("skdec: error: ")
    assert err.count("\n") == 1 and "Traceback" not in err


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
    with pytest.raises(SystemExit):
        parser.parse_args(["cluster", "--help"])
    usage = capsys.readouterr().out
    own = {"n_clusters", "random_state", "verbose", "autoencoder", "augment"}
    for name in set(DECClusterer._parameter_constraints) - own:
        assert "--" + name.replace("_", "-") in usage, name
    for name in StackedAutoencoder._parameter_constraints:
        assert "--autoencoder-" + name.replace("_", "-") in usage, name
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
    assert "expected an integer >= 1" in capsys.readouterr().err
    args = parser.parse_args(["cluster", "--autoencoder-layer-epochs", "3"])
    with pytest.raises(ValueError, match="do not apply to --autoencoder mlp"):
        estimator_params(args)
    # a type constraint ([Integral, None]) is typed too
    assert parser.parse_args(["cluster", "--n-jobs", "4"]).dec__n_jobs == 4
    assert parser.parse_args(["cluster", "--n-jobs", "none"]).dec__n_jobs is None


def _options(parser):
    """``(command, option strings, help)`` of every option of ``parser`` and
    of its sub-commands."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for choice in action._choices_actions:
                yield choice.dest, [], choice.help
            for name, sub in action.choices.items():
                for _, flags, text in _options(sub):
                    yield name, flags, text
        elif action.option_strings:
            yield parser.prog, action.option_strings, action.help


def test_every_option_and_command_has_help_in_words():
    from skdec import DECClusterer
    from skdec._cli import build_parser
    from skdec._cli_params import param_docs

    seen = 0
    for command, flags, text in _options(build_parser()):
        assert text and len(text) > 10, (command, flags)
        assert "in the range" not in text, (command, flags, text)
        seen += 1
    assert seen > 100
    # the estimator's own words: --lr says what DECClusterer's lr is
    docs = param_docs(DECClusterer)
    assert docs["lr"] == "Learning rate of the clustering stage."
    assert docs["n_init"].startswith("Restarts of k-means")
    help_lr = next(t for c, f, t in _options(build_parser()) if f == ["--lr"])
    assert help_lr.startswith(docs["lr"]) and "default 0.01" in help_lr


def test_version_and_exit_statuses(tmp_path, capsys, monkeypatch):
    import skdec
    from skdec import _cli

    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0
    assert capsys.readouterr().out.strip() == f"skdec {skdec.__version__}"
    with pytest.raises(SystemExit) as exc:  # argparse's usage error
        main(["cluster", "--n-clusters", "two"])
    assert exc.value.code == 2

    def interrupted(args):
        raise KeyboardInterrupt

    def failed(args):
        raise RuntimeError("CUDA out of memory.\nTried to allocate 2 GiB")

    parser = _cli.build_parser

    def patched(run):
        def build():
            p = parser()
            p._subparsers._group_actions[0].choices["cluster"].set_defaults(run=run)
            return p

        return build

    monkeypatch.setattr(_cli, "build_parser", patched(interrupted))
    assert main(["cluster"]) == 130
    assert "interrupted" in capsys.readouterr().err
    monkeypatch.setattr(_cli, "build_parser", patched(failed))
    assert main(["cluster"]) == 1
    err = capsys.readouterr().err
    assert err == "skdec: error: CUDA out of memory. Tried to allocate 2 GiB\n"


# --images: a folder of tiny PNG files in class sub-folders -------------------


@pytest.fixture
def image_folder(tmp_path):
    """30 PNG files of 8x8, ten per sub-folder, each mostly one colour."""
    from PIL import Image

    rng = np.random.RandomState(0)
    root = tmp_path / "subjects"
    names = []
    for folder, channel in COLOURS.items():
        (root / folder).mkdir(parents=True)
        for i in range(10):
            pixels = rng.randint(0, 40, size=(8, 8, 3))
            pixels[..., channel] = rng.randint(200, 256, size=(8, 8))
            name = f"{folder}/img_{i:02d}.png"
            Image.fromarray(pixels.astype(np.uint8)).save(root / name)
            names.append(name)
    return root, sorted(names)


def _read_csv(path):
    with path.open(newline="") as fh:
        return list(csv.DictReader(fh))


def _is_png(path):
    return path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_cluster_image_folder(tmp_path, image_folder, capsys):
    from PIL import Image

    root, names = image_folder
    out = tmp_path / "out"
    argv = ["cluster", "--images", str(root), "--output", str(out), *TINY]
    assert main([*argv, "--labels-from-folders"]) == 0
    stdout = capsys.readouterr().out
    assert "montage.png" in stdout and "cluster_<k>.png" in stdout

    with (out / "labels.csv").open() as fh:
        assert fh.readline().strip() == "index,filename,cluster,label"
    rows = _read_csv(out / "labels.csv")
    assert [r["filename"] for r in rows] == names
    assert [r["index"] for r in rows] == [str(i) for i in range(30)]
    assert all(r["label"] == r["filename"].split("/")[0] for r in rows)

    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["dataset"] == "subjects" and metrics["n_samples"] == 30
    assert metrics["n_clusters"] == 3  # one per sub-folder
    assert metrics["params"]["image_shape"] == [3, 8, 8]
    assert metrics["images"]["n_skipped"] == 0 and metrics["images"]["color"] == "rgb"
    assert metrics["images"]["labels_from_subfolders"] is True
    assert metrics["acc"] > 0.9  # the colours are far apart

    assert _is_png(out / "montage.png") and _is_png(out / "dec.png")
    clusters = sorted({int(r["cluster"]) for r in rows})
    grids = sorted((out / "montages").glob("*.png"))
    assert [p.name for p in grids] == sorted(f"cluster_{k}.png" for k in clusters)
    # colour images are drawn in colour: each pure colour covers a good part
    # of the per-cluster montages (rows reshaped (C, H, W) -> (H, W, C))
    pixels = np.concatenate(
        [np.asarray(Image.open(p).convert("RGB")).reshape(-1, 3) for p in grids]
    ).astype(int)
    for channel in COLOURS.values():
        others = np.delete(pixels, channel, axis=1)
        bright = (pixels[:, channel] > 190) & (others.max(axis=1) < 60)
        assert bright.mean() > 0.05


def test_cluster_image_folder_grayscale_skips_broken_files(
    tmp_path, image_folder, capsys
):
    root, names = image_folder
    (root / "red" / "broken.png").write_bytes(b"not a png")
    out = tmp_path / "out"
    argv = ["cluster", "--images", str(root), "--output", str(out), *TINY]
    assert main([*argv, "--color", "grayscale", "--on-error", "skip"]) == 0
    stdout = capsys.readouterr().out
    assert "skipped 1 unreadable image file" in stdout and "red/broken.png" in stdout
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["images"]["n_skipped"] == 1
    assert metrics["images"]["skipped"][0]["filename"] == "red/broken.png"
    assert metrics["params"]["image_shape"] == [1, 8, 8]
    assert [r["filename"] for r in _read_csv(out / "labels.csv")] == names
    assert _is_png(out / "montage.png")


@pytest.mark.parametrize(
    "argv, message, status",
    [
        (["--images", "{empty}"], "No image file in or under", 1),
        (["--images", "{missing}"], "No such folder", 1),
        (["--images", "{broken}"], "broken.png", 1),
        (["--images", "{broken}"], "Pass --on-error skip", 1),
        (["--image-size", "16,16", "--color", "rgb"], "--image-size, --color apply", 2),
        (["--labels-from-folders"], "--labels-from-folders apply", 2),
    ],
)
def test_cluster_image_folder_errors(tmp_path, capsys, argv, message, status):
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "notes.txt").write_text("no images here")
    (tmp_path / "broken" / "a").mkdir(parents=True)
    (tmp_path / "broken" / "a" / "broken.png").write_bytes(b"not a png")
    folders = {k: tmp_path / k for k in ("empty", "missing", "broken")}
    argv = [a.format(**folders) for a in argv]
    out = tmp_path / "out"
    assert main(["cluster", *argv, "--output", str(out), "--quiet"]) == status
    assert message in capsys.readouterr().err
    assert not (out / "labels.csv").exists()


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--images", "x", "--data", "x.npy"], "not allowed with argument"),
        (["--images", "x", "--dataset", "mnist"], "not allowed with argument"),
        (["--images", "x", "--image-size", "8"], "two positive integers"),
        (["--images", "x", "--image-size", "0,8"], "two positive integers"),
        (["--images", "x", "--color", "cmyk"], "invalid choice"),
    ],
)
def test_cluster_image_options_parse_errors(capsys, argv, message):
    with pytest.raises(SystemExit) as exc:
        main(["cluster", *argv])
    assert exc.value.code == 2
    assert message in capsys.readouterr().err


def test_labels_csv_columns(tmp_path):
    from skdec._run import write_labels as _write_labels

    files = np.array(["a.png", "sub dir/b,1.png"])  # csv quoting of odd names
    _write_labels(tmp_path / "f.csv", np.array([1, 0]), None, files)
    rows = _read_csv(tmp_path / "f.csv")
    assert list(rows[0]) == ["index", "filename", "cluster"]  # no sub-folders
    assert [r["filename"] for r in rows] == files.tolist()
    _write_labels(tmp_path / "p.csv", np.array([1, 0]), np.array(["x", "y"]), None)
    assert (tmp_path / "p.csv").read_text().splitlines() == [
        "index,cluster,label",
        "0,1,x",
        "1,0,y",
    ]


def test_the_cli_reference_page_is_current():
    """docs/cli.rst is written from the parser by docs/cli_reference.py: run
    ``python docs/cli_reference.py`` after changing an option."""
    import importlib.util
    from pathlib import Path

    script = Path(__file__).resolve().parents[1] / "docs" / "cli_reference.py"
    spec = importlib.util.spec_from_file_location("cli_reference", script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    page = module.render()
    assert module.PAGE.read_text() == page, "run python docs/cli_reference.py"
    for command in ("cluster", "select", "labels", "finetune", "report", "split"):
        assert f"\nskdec {command}\n" in page
    assert "``--n-jobs VALUE``" in page and "``--exclude FILE``" in page
    assert "in the range" not in page
