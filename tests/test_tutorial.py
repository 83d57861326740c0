"""The tutorial "From subjects to labels" (docs/tutorial.rst) runs: its script
in ``--tiny`` mode (300 images, a small network trained 2 epochs) writes every
step's files, and every skdec command the page shows is one the script runs.

Fashion-MNIST's test images are read from the Debian package when it is
installed, else from a stand-in of random pixels written here (in the IDX
format of the loader), so that the script runs wherever the suite does.
"""

import csv
import json
import os
import re
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from test_datasets import REAL_FASHION_MNIST, fake_mnist

import skdec

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "docs" / "tutorial" / "subjects_to_labels.sh"
PAGE = ROOT / "docs" / "tutorial.rst"
N, BUDGET, N_CLUSTERS, VOTES = 300, 5, 10, 5  # the script's --tiny mode
RUN_FILES = {"model.joblib", "embedding.npy", "labels.csv", "run.json"}


def _rows(path):
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def _command(path, text):
    """A command named ``path`` on PATH that runs this interpreter with ``text``."""
    path.write_text(f'#!/bin/sh\nexec "{sys.executable}" {text} "$@"\n')
    path.chmod(path.stat().st_mode | stat.S_IXUSR)


@pytest.fixture(scope="module")
def tutorial(tmp_path_factory):
    """The work folder of one ``--tiny`` run of the script, and its output
    (stdout and stderr)."""
    if shutil.which("bash") is None:
        pytest.skip("the tutorial script needs bash")
    root = tmp_path_factory.mktemp("tutorial")
    bin_dir = root / "bin"  # `skdec` and `python` are this interpreter
    bin_dir.mkdir()
    _command(bin_dir / "skdec", "-m skdec")
    _command(bin_dir / "python", "")
    env = dict(os.environ)
    env["PATH"] = f"{bin_dir}{os.pathsep}{env['PATH']}"
    # the skdec under test, also where the package is installed elsewhere
    source = str(Path(skdec.__file__).resolve().parents[1])
    env["PYTHONPATH"] = os.pathsep.join(
        [source, *filter(None, [env.get("PYTHONPATH")])]
    )
    env.update(OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", MPLBACKEND="Agg")
    if not (REAL_FASHION_MNIST / "t10k-images-idx3-ubyte.gz").is_file():
        fake_mnist(root / "fmnist", n_train=1, n_test=N)
        env["SKDEC_TUTORIAL_DATA_DIR"] = str(root / "fmnist")
    work = root / "work"
    done = subprocess.run(
        ["bash", str(SCRIPT), "--tiny", str(work)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,  # the helpers' tables go to stderr
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-5000:]
    return work, done.stdout


def test_the_subjects_and_the_run_folder(tutorial):
    work, _ = tutorial
    images = sorted(p.name for p in (work / "subjects").iterdir())
    assert len(images) == N and all(
        re.fullmatch(r"fmnist-test-\d{5}\.png", n) for n in images
    )
    truth = _rows(work / "truth.csv")
    assert [r["filename"] for r in truth] == images
    assert RUN_FILES <= {p.name for p in (work / "run").iterdir()}
    info = json.loads((work / "run" / "run.json").read_text())
    # the team's view: no class in any file or folder name
    assert info["n_samples"] == N and not info["has_labels"]
    assert info["n_clusters"] == N_CLUSTERS


def test_the_manifest_and_the_export(tutorial):
    work, _ = tutorial
    manifest = _rows(work / "upload" / "manifest.csv")
    assert list(manifest[0]) == ["image", "#row", "#cluster", "#filename"]
    assert len(manifest) <= BUDGET * N_CLUSTERS
    for row in manifest:
        assert (work / "upload" / row["image"]).is_file()
    export = _rows(work / "classifications.csv")
    assert len(export) == VOTES * len(manifest)
    assert {"classification_id", "annotations", "subject_data"} <= set(export[0])


def test_labels_finetune_and_the_scores(tutorial):
    work, out = tutorial
    labels = _rows(work / "labels" / "subject_labels.csv")
    assert len(labels) == N and sum(r["seen"] == "1" for r in labels) > 0
    assert "true_label" not in labels[0]  # nothing but the votes labels them
    assert len(_rows(work / "finetune" / "finetune_labels.csv")) == N
    assert (work / "finetune" / "finetune.json").is_file()
    score = json.loads((work / "score.json").read_text())
    assert 0 <= score["mapping_on_unseen"] <= 1
    assert 0 <= score["label_head_on_unseen"] <= 1
    assert "mapping alone" in out and "label head" in out


def test_the_split_and_the_labels_after_it(tutorial):
    work, out = tutorial
    assert RUN_FILES | {"surgery.json"} <= {
        p.name for p in (work / "run-split").iterdir()
    }
    info = json.loads((work / "run-split" / "run.json").read_text())
    assert info["command"] == "split" and info["n_clusters"] == N_CLUSTERS + 1
    chosen = re.search(r"to split: cluster (\d+)", out)
    report = json.loads((work / "run-split" / "surgery.json").read_text())
    assert chosen and report["clusters"] == [int(chosen.group(1))]
    assert len(_rows(work / "labels-split" / "subject_labels.csv")) == N
    assert "mapping_on_unseen" in json.loads((work / "score-split.json").read_text())
    assert out.rstrip().splitlines()[-1].startswith("=== done in ")


def _commands(text, **values):
    """The ``skdec ...`` command lines of ``text``: continuation lines joined,
    the script's option arrays left out, ``"$NAME"`` replaced by
    ``values[NAME]``, the cluster to split written K, whitespace collapsed."""
    text = text.replace("\\\n", " ")
    text = re.sub(r'"\$\{\w+\[@\]\}"', "", text)
    text = re.sub(r'"\$(\w+)"', lambda m: values.get(m.group(1), m.group(0)), text)
    text = re.sub(r"--cluster \S+", "--cluster K", text)
    lines = re.findall(r"^\s*(skdec [^\n]*)", text, flags=re.MULTILINE)
    return {" ".join(line.split()) for line in lines}


def test_the_page_shows_the_commands_the_script_runs():
    """Every skdec command of the page, as the script runs it (full mode)."""
    script_text = SCRIPT.read_text()
    budget = re.search(r"^BUDGET=(\d+)", script_text, flags=re.MULTILINE).group(1)
    script = _commands(script_text, BUDGET=budget)
    page = _commands(PAGE.read_text())
    assert len(page) >= 6, page
    assert page <= script, sorted(page - script)
