"""The workflow commands after ``skdec cluster``: select, labels, finetune,
dissolve, merge, split; and the run folder they share.

One small model (200 digits, a few seconds) is fitted for the whole module.
"""

import csv
import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest

from skdec import read_zooniverse_export, write_zooniverse_export
from skdec._cli import main
from skdec._run import load_run
from skdec._votes import MODELS
from skdec.datasets import load_digits

FAST = [
    "--hidden-dims",
    "32",
    "--pretrain-epochs",
    "5",
    "--max-iter",
    "30",
    "--init",
    "kmeans",
    "--precision",
    "float32",
    "--quiet",
]
N = 200
EXPORT_COLUMNS = [
    "classification_id",
    "user_name",
    "user_id",
    "user_ip",
    "workflow_id",
    "workflow_name",
    "workflow_version",
    "created_at",
    "gold_standard",
    "expert",
    "metadata",
    "annotations",
    "subject_data",
    "subject_ids",
]


def _rows(path):
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def _write_rows(path, rows):
    with open(path, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def _error(capsys):
    err = capsys.readouterr().err
    assert err.startswith("skdec: error: ") and err.count("\n") == 1, err
    return err


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X[:N], y[:N]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory, digits, one_thread):
    """The run folder of ``skdec cluster`` on 200 digits in a CSV file."""
    X, y = digits
    root = tmp_path_factory.mktemp("workflow")
    lines = ["digit," + ",".join(f"p{i}" for i in range(64))]
    lines += [f"{t}," + ",".join(f"{v:.6f}" for v in r) for r, t in zip(X, y)]
    (root / "digits.csv").write_text("\n".join(lines) + "\n")
    argv = ["cluster", "--data", str(root / "digits.csv"), "--label-column"]
    argv += ["digit", "--image-shape", "8,8", "--output", str(root / "run"), *FAST]
    assert main(argv) == 0
    return root / "run"


@pytest.fixture(scope="module")
def selected(run_dir, tmp_path_factory):
    """``skdec select`` with 3 central subjects per cluster."""
    out = tmp_path_factory.mktemp("select") / "subjects"
    argv = ["select", "--model", str(run_dir), "--budget", "3", "--per-cluster"]
    assert main([*argv, "--output", str(out), "--quiet"]) == 0
    return out


@pytest.fixture(scope="module")
def export(selected, digits):
    """Perfect simulated volunteers' export of the selected subjects."""
    rows = [int(r["#row"]) for r in _rows(selected / "manifest.csv")]
    path = selected.parent / "classifications.csv"
    votes = write_zooniverse_export(
        path,
        selected / "manifest.csv",
        digits[1][rows],
        n_volunteers=6,
        votes_per_subject=3,
        accuracy=1.0,
        random_state=0,
    )
    return path, votes


@pytest.fixture(scope="module")
def labelled(run_dir, export):
    out = export[0].parent / "labels"
    argv = ["labels", "--model", str(run_dir), "--votes", str(export[0])]
    assert main([*argv, "--output", str(out), "--quiet"]) == 0
    return out


# ---------------------------------------------------------------- the run
def test_cluster_writes_a_run_folder_that_loads_back(run_dir, digits):
    names = {p.name for p in run_dir.iterdir()}
    assert {"model.joblib", "embedding.npy", "run.json", "labels.csv"} <= names
    assert not [n for n in names if n.startswith(".skdec-partial")]
    info = json.loads((run_dir / "run.json").read_text())
    assert info["command"] == "cluster" and info["run_format"] == 1
    assert info["n_samples"] == N and info["n_features"] == 64
    assert info["image_shape"] == [8, 8] and info["has_labels"]
    assert info["input"]["label_column"] == "digit"
    assert info["input"]["dataset"] is None and info["parent"] is None

    run = load_run(run_dir)
    np.testing.assert_allclose(run.X, digits[0], atol=1e-6)
    assert run.y.astype(int).tolist() == digits[1].tolist()
    clusters = [int(r["cluster"]) for r in _rows(run_dir / "labels.csv")]
    assert run.labels.tolist() == clusters
    assert run.model.n_clusters_ == info["n_clusters"] == 10
    np.testing.assert_allclose(run.embedding, run.model.transform(run.X), atol=1e-5)


def test_load_run_names_what_is_missing_or_changed(run_dir, tmp_path, capsys):
    with pytest.raises(FileNotFoundError, match="No such run folder"):
        load_run(tmp_path / "nowhere")
    copy = tmp_path / "copy"
    shutil.copytree(run_dir, copy)
    (copy / "model.joblib").unlink()
    with pytest.raises(FileNotFoundError, match="has no model.joblib"):
        load_run(copy)
    argv = ["select", "--model", str(copy), "--budget", "2", "--output"]
    assert main([*argv, str(tmp_path / "o")]) == 1
    assert "model.joblib" in _error(capsys)

    shutil.copy(run_dir / "model.joblib", copy / "model.joblib")
    info = json.loads((copy / "run.json").read_text())
    assert not Path(info["input"]["data"]).is_absolute()
    lines = open(run_dir / info["input"]["data"]).read().splitlines()
    (tmp_path / "fewer.csv").write_text("\n".join(lines[:-1]) + "\n")
    info["input"]["data"] = str(tmp_path / "fewer.csv")
    (copy / "run.json").write_text(json.dumps(info))
    with pytest.raises(ValueError, match="data changed since the run"):
        load_run(copy)
    (tmp_path / "fewer.csv").unlink()
    with pytest.raises(FileNotFoundError, match="the input recorded in"):
        load_run(copy)
    (copy / "model.joblib").write_bytes(b"not a pickle")
    with pytest.raises(ValueError, match="model.joblib cannot be read"):
        load_run(copy)
    assert main([*argv, str(tmp_path / "o"), "--model", str(copy / "run.json")]) == 1
    assert "is a file, not a run folder" in _error(capsys)


@pytest.mark.parametrize(
    "array, message",
    [
        (np.arange(10.0), "1-D array of shape (10,)"),
        (np.zeros((4, 3, 3)), "shape (4, 3, 3)"),
        (np.zeros((0, 5)), "no samples"),
        (np.array([[1.0, np.nan], [0.0, 1.0]]), "NaN or infinite value(s), the first"),
        (np.array([["a", "b"]]), "numbers are needed"),
    ],
)
def test_cluster_rejects_malformed_data(tmp_path, capsys, array, message):
    np.save(tmp_path / "x.npy", array)
    argv = ["cluster", "--data", str(tmp_path / "x.npy"), "--output", str(tmp_path)]
    assert main([*argv, "--quiet"]) == 1
    assert message in _error(capsys)
    assert not (tmp_path / "labels.csv").exists()


def test_cluster_rejects_a_ragged_csv(tmp_path, capsys):
    (tmp_path / "x.csv").write_text("1,2,3\n4,5\n")
    argv = ["cluster", "--data", str(tmp_path / "x.csv"), "--output", str(tmp_path)]
    assert main(argv) == 1
    assert "x.csv, line 2: 2 values where the first line has 3" in _error(capsys)


def test_the_input_record_reads_the_same_input_again(tmp_path):
    from skdec._cli import build_parser
    from skdec._inputs import input_namespace, input_record, load_input

    args = build_parser().parse_args(["cluster"])
    record = input_record(args)
    assert record["dataset"] == "digits" and record["images"] is None
    data = load_input(input_namespace(json.loads(json.dumps(record)), quiet=True))
    assert data.X.shape == (1797, 64) and data.image_shape == (8, 8)
    argv = ["cluster", "--images", "pics", "--image-size", "16,12", "--color"]
    record = input_record(build_parser().parse_args([*argv, "grayscale"]))
    assert record["dataset"] is None
    assert record["images"] == str((Path.cwd() / "pics").resolve())
    assert (record["image_size"], record["color"]) == ([16, 12], "grayscale")
    again = input_namespace(json.loads(json.dumps(record)), quiet=True)
    assert again.image_size == (16, 12) and again.resize == "crop"
    with pytest.raises(ValueError, match="names no input"):
        input_namespace({}, quiet=True)


def test_an_output_that_is_a_file_exits_1(run_dir, tmp_path, capsys):
    (tmp_path / "file").write_text("")
    argv = ["select", "--model", str(run_dir), "--budget", "2"]
    assert main([*argv, "--output", str(tmp_path / "file")]) == 1
    assert "file" in _error(capsys)


# ------------------------------------------------------------------ select
def test_select_writes_a_zooniverse_manifest(run_dir, selected):
    with open(selected / "manifest.csv", newline="") as fh:
        header = next(csv.reader(fh))
    assert header == ["image", "#row", "#cluster"]
    manifest = _rows(selected / "manifest.csv")
    run = load_run(run_dir)
    sizes = np.bincount(run.labels, minlength=10)
    assert len(manifest) == int(np.minimum(sizes, 3).sum())
    rows = [int(r["#row"]) for r in manifest]
    assert len(set(rows)) == len(rows)
    assert [int(r["#cluster"]) for r in manifest] == run.labels[rows].tolist()
    for r in manifest:  # the uploader finds each image beside the manifest
        assert r["image"] == f"subject_{r['#row']}.png"
        assert (selected / r["image"]).read_bytes()[:4] == b"\x89PNG"
    info = json.loads((selected / "selection.json").read_text())
    assert info["strategy"] == "central" and info["per_cluster"] is True


def test_select_total_budget_replaces_an_earlier_selection(run_dir, tmp_path, capsys):
    out = tmp_path / "s"
    base = ["select", "--model", str(run_dir), "--output", str(out)]
    assert main([*base, "--budget", "12", "--strategy", "stratified"]) == 0
    assert "selected 12 subjects" in capsys.readouterr().out
    assert main([*base, "--budget", "5", "--strategy", "uncertain", "--quiet"]) == 0
    stdout = capsys.readouterr().out
    assert "selected" not in stdout and stdout.count("\n") == 1  # --quiet
    assert len(_rows(out / "manifest.csv")) == 5
    assert len(list(out.glob("subject_*.png"))) == 5  # the 12 earlier ones went
    assert main([*base, "--budget", str(N + 1)]) == 1
    assert "exceeds the 200 candidate subjects" in _error(capsys)
    with pytest.raises(SystemExit):
        main([*base, "--budget", "0"])
    assert "positive integer" in capsys.readouterr().err


# ------------------------------------------------------------------ export
def test_simulated_export_has_zooniverse_columns_and_reads_back(selected, export):
    path, written = export
    rows = _rows(path)
    assert list(rows[0]) == EXPORT_COLUMNS
    manifest = _rows(selected / "manifest.csv")
    for row in rows[:10]:
        sid = row["subject_ids"]
        data = json.loads(row["subject_data"])
        assert list(data) == [sid]
        assert data[sid] == {"retired": None, **manifest[int(sid) - 1000]}
        assert json.loads(row["annotations"])[0]["task"] == "T0"
        assert row["created_at"].endswith(" UTC")
    votes = read_zooniverse_export(path, "T0")
    for key in ("subject", "volunteer", "label", "classification_id"):
        assert votes[key].tolist() == written[key].tolist(), key
    assert len(rows) == 3 * len(manifest)


# ------------------------------------------------------------------ labels
def test_labels_from_a_zooniverse_export(run_dir, selected, labelled, digits):
    rows = _rows(labelled / "subject_labels.csv")
    assert list(rows[0]) == [
        "row",
        "label",
        "confidence",
        "cluster",
        "seen",
        "votes",
        "mapped_label",
        "true_label",
    ]
    assert [int(r["row"]) for r in rows] == list(range(N))
    shown = {int(r["#row"]) for r in _rows(selected / "manifest.csv")}
    seen = {int(r["row"]) for r in rows if r["seen"] == "1"}
    assert seen == shown
    y = digits[1]
    for r in rows:
        i = int(r["row"])
        if i in shown:  # perfect volunteers: the true label, 3 votes of 3
            assert int(r["label"]) == y[i] and float(r["confidence"]) == 1.0
            assert r["votes"] == "3"
        else:
            assert r["label"] == r["mapped_label"] and r["votes"] == "0"
    summary = json.loads((labelled / "labels.json").read_text())
    assert summary["n_seen"] == len(shown) and summary["format"] == "zooniverse"
    assert summary["aggregation"] == "auto"  # and what it chose is kept
    assert summary["aggregation_model"] in ("majority", *MODELS)
    assert summary["accuracy"]["seen"] == 1.0
    assert len(summary["clusters"]) == 10
    assert sum(c["size"] for c in summary["clusters"]) == N


def test_labels_from_plain_votes_and_their_errors(run_dir, tmp_path, capsys):
    votes = tmp_path / "votes.csv"
    votes.write_text("subject,label\n0,cat\n0,cat\n1,dog\n5,cat\n")
    base = ["labels", "--model", str(run_dir), "--output", str(tmp_path / "o")]
    argv = [*base, "--votes", str(votes), "--aggregation", "majority"]
    assert main(argv) == 0
    rows = _rows(tmp_path / "o" / "subject_labels.csv")
    assert [r["label"] for r in rows[:2]] == ["cat", "dog"]
    assert {r["label"] for r in rows} <= {"cat", "dog"}
    summary = json.loads((tmp_path / "o" / "labels.json").read_text())
    assert summary["format"] == "plain" and summary["aggregation"] == "majority"
    assert summary["aggregation_model"] is None  # only 'auto' chooses one
    assert summary["accuracy"]["all"] is None  # other labels than the digits

    votes.write_text("subject,label\n0,cat\n250,dog\n")
    assert main([*base, "--votes", str(votes)]) == 1
    assert "votes.csv, line 3: vote for subject 250" in _error(capsys)
    votes.write_text("who,what\n0,cat\n")
    assert main([*base, "--votes", str(votes)]) == 1
    assert "neither a Zooniverse classification export" in _error(capsys)
    assert main([*base, "--votes", str(tmp_path / "none.csv")]) == 1
    assert "No such votes file" in _error(capsys)


def test_labels_name_the_malformed_line_of_an_export(run_dir, export, tmp_path, capsys):
    rows = _rows(export[0])
    base = ["labels", "--model", str(run_dir), "--output", str(tmp_path / "o")]
    bad = tmp_path / "bad.csv"

    broken = [dict(r) for r in rows]
    broken[3]["annotations"] = "[{not json"
    _write_rows(bad, broken)
    assert main([*base, "--votes", str(bad)]) == 1
    err = _error(capsys)
    assert "line 5" in err and "not valid JSON" in err and "--on-error skip" in err
    skip = [*base[:-1], str(tmp_path / "skipped"), "--on-error", "skip"]
    assert main([*skip, "--votes", str(bad)]) == 0
    assert "skipped 1 of" in capsys.readouterr().out
    assert main([*skip, "--votes", str(bad), "--aggregation", "dawid-skene"]) == 0
    summary = json.loads((tmp_path / "skipped" / "labels.json").read_text())
    assert summary["aggregation"] == "dawid-skene"
    assert summary["accuracy"]["seen"] == 1.0  # perfect volunteers
    capsys.readouterr()

    broken = [dict(r) for r in rows]
    sid = broken[2]["subject_ids"]
    data = json.loads(broken[2]["subject_data"])
    del data[sid]["#row"]
    broken[2]["subject_data"] = json.dumps(data)
    _write_rows(bad, broken)
    assert main([*base, "--votes", str(bad)]) == 1
    assert "line 4: subject" in _error(capsys)

    data[sid]["#row"] = "5000"
    broken[2]["subject_data"] = json.dumps(data)
    _write_rows(bad, broken)
    assert main([*base, "--votes", str(bad)]) == 1
    assert "is row 5000, but the run has 200 rows" in _error(capsys)
    assert not (tmp_path / "o" / "subject_labels.csv").exists()


def test_a_failure_while_writing_leaves_nothing(
    run_dir, export, tmp_path, monkeypatch, capsys
):
    def broken(path, record):
        raise ValueError("disk full")

    monkeypatch.setattr("skdec._workflow._write_json", broken)
    out = tmp_path / "o"
    argv = ["labels", "--model", str(run_dir), "--votes", str(export[0])]
    assert main([*argv, "--output", str(out)]) == 1
    assert "disk full" in _error(capsys)
    assert list(out.iterdir()) == []  # subject_labels.csv was not left behind


# ---------------------------------------------------------------- finetune
def test_finetune_compares_with_the_mapping(run_dir, labelled, tmp_path, capsys):
    out = tmp_path / "ft"
    argv = ["finetune", "--model", str(run_dir), "--labels"]
    argv += [str(labelled / "subject_labels.csv"), "--output", str(out)]
    assert main([*argv, "--max-epochs", "3", "--quiet"]) == 0
    rows = _rows(out / "finetune_labels.csv")
    assert len(rows) == N and {"label", "confidence", "mapped_label"} <= set(rows[0])
    report = json.loads((out / "finetune.json").read_text())
    assert report["n_seen"] == sum(r["seen"] == "1" for r in rows)
    assert report["n_epochs"] == 3
    assert 0 <= report["agreement_with_mapping"]["unseen"] <= 1
    accuracy = report["accuracy_on_unseen"]
    assert 0 < accuracy["mapping"] <= 1 and 0 < accuracy["finetune"] <= 1
    capsys.readouterr()

    short = tmp_path / "short.csv"
    _write_rows(short, _rows(labelled / "subject_labels.csv")[:50])
    argv[argv.index("--labels") + 1] = str(short)
    assert main(argv) == 1
    assert "does not list the 200 rows" in _error(capsys)


# ------------------------------------------------------------------ report
def test_report_shows_every_cluster_and_the_labels(run_dir, labelled, tmp_path, capsys):
    out = tmp_path / "report"
    argv = ["report", "--model", str(run_dir), "--labels"]
    argv += [str(labelled / "subject_labels.csv"), "--output", str(out)]
    assert main([*argv, "--n-members", "4", "--quiet"]) == 0
    assert "index.html" in capsys.readouterr().out
    page = (out / "index.html").read_text()
    clusters = np.unique(
        np.loadtxt(
            run_dir / "labels.csv", delimiter=",", skiprows=1, usecols=1, dtype=int
        )
    )
    for k in clusters:
        assert f"id='cluster-{k}'" in page
    for src in re.findall(r"src='([^']+)'", page):
        assert (out / src).is_file(), src
    # the volunteers' labels reach the page: the labelled column is filled
    assert "confidence" in page.lower()
    # without --output: report/ inside the run folder
    argv = ["report", "--model", str(run_dir), "--n-members", "2", "--quiet"]
    assert main(argv) == 0
    assert (run_dir / "report" / "index.html").is_file()
    assert load_run(run_dir).labels.size == N  # the run folder still reads

    assert (
        main(
            [
                "report",
                "--model",
                str(tmp_path / "none"),
                "--output",
                str(tmp_path / "r2"),
            ]
        )
        == 1
    )
    assert "none" in _error(capsys)
    bad = ["report", "--model", str(run_dir), "--labels", str(tmp_path / "x.csv")]
    assert main([*bad, "--output", str(tmp_path / "r3"), "--quiet"]) == 1
    assert "x.csv" in _error(capsys)
    assert not (tmp_path / "r3").exists()


# ----------------------------------------------------------------- surgery
def test_split_merge_dissolve_write_new_run_folders(run_dir, tmp_path, capsys):
    fast = ["--refine-iter", "5", "--quiet"]
    split = tmp_path / "split"
    argv = ["split", "--model", str(run_dir), "--cluster", "0"]
    assert main([*argv, "--output", str(split), *fast]) == 0
    report = json.loads((split / "surgery.json").read_text())
    assert report["operation"] == "split"
    assert (report["n_clusters_before"], report["n_clusters_after"]) == (10, 11)
    assert 0 <= report["stability"] <= 1 and "acc" in report["metrics"]
    assert sum(report["sizes_after"]) == N
    run = load_run(split)
    assert run.model.n_clusters_ == 11 and run.info["command"] == "split"
    assert not Path(run.info["parent"]).is_absolute()  # relative to the folder
    assert (split / run.info["parent"]).resolve() == run_dir.resolve()
    assert run.labels.max() <= 10

    merged = tmp_path / "merged"
    argv = ["merge", "--model", str(split), "--clusters", "0,10"]
    assert main([*argv, "--output", str(merged), *fast]) == 0
    assert load_run(merged).model.n_clusters_ == 10

    deleted = tmp_path / "deleted"
    argv = ["dissolve", "--model", str(merged), "--cluster", "3"]
    assert main([*argv, "--output", str(deleted), "--refine-iter", "0"]) == 0
    report = json.loads((deleted / "surgery.json").read_text())
    assert report["label_map"][3] == -1 and report["n_clusters_after"] == 9
    assert report["stability_surgery"] == 1.0
    capsys.readouterr()

    base = ["dissolve", "--model", str(run_dir), "--output", str(tmp_path / "x")]
    assert main([*base, "--cluster", "10"]) == 1
    assert "cluster=10 does not exist" in _error(capsys)
    argv = ["merge", "--model", str(run_dir), "--clusters", "2,2"]
    assert main([*argv, "--output", str(tmp_path / "y")]) == 1
    assert "must be distinct" in _error(capsys)
    argv = ["split", "--model", str(run_dir), "--cluster", "1"]
    assert main([*argv, "--output", str(run_dir)]) == 2
    assert "is the --model folder" in _error(capsys)
    assert not (tmp_path / "x").exists() or not any((tmp_path / "x").iterdir())


def test_split_by_the_volunteers_labels(run_dir, labelled, tmp_path):
    out = tmp_path / "split"
    argv = ["split", "--model", str(run_dir), "--cluster", "0", "--labels"]
    argv += [str(labelled / "subject_labels.csv"), "--output", str(out)]
    assert main([*argv, "--refine-iter", "0", "--quiet"]) == 0
    assert json.loads((out / "surgery.json").read_text())["n_clusters_after"] == 11


# -------------------------------------------------------------------- help
@pytest.mark.parametrize(
    "command, option",
    [
        ("select", "--per-cluster"),
        ("labels", "--aggregation"),
        ("finetune", "--max-epochs"),
        ("report", "--n-members"),
        ("dissolve", "--strategy"),
        ("merge", "--clusters"),
        ("split", "--refine-iter"),
    ],
)
def test_every_command_has_help(capsys, command, option):
    with pytest.raises(SystemExit) as exc:
        main([command, "--help"])
    assert exc.value.code == 0
    assert option in capsys.readouterr().out


def test_aggregation_choices_come_from_aggregate_votes(capsys):
    from skdec import aggregate_votes

    options = aggregate_votes._skl_parameter_constraints["method"][0].options
    with pytest.raises(SystemExit):
        main(["labels", "--model", "m", "--votes", "v", "--output", "o",
              "--aggregation", "nonsense"])  # fmt: skip
    err = capsys.readouterr().err
    assert "invalid choice: 'nonsense'" in err and all(m in err for m in options)


# ----------------------------------------------------------- image folders
def test_image_folder_workflow_copies_the_files(tmp_path, capsys):
    from PIL import Image

    rng = np.random.RandomState(0)
    root = tmp_path / "subjects"
    for channel, colour in enumerate(("red", "green", "blue")):
        (root / colour).mkdir(parents=True)
        for i in range(6):
            pixels = rng.randint(0, 40, size=(8, 8, 3))
            pixels[..., channel] = rng.randint(200, 256, size=(8, 8))
            Image.fromarray(pixels.astype(np.uint8)).save(root / colour / f"{i}.png")
    run = tmp_path / "run"
    argv = ["cluster", "--images", str(root), "--image-size", "8,8", "--output"]
    assert main([*argv, str(run), *FAST, "--max-iter", "10"]) == 0
    info = json.loads((run / "run.json").read_text())
    assert info["input"]["images"] == "../subjects"  # relative to the run folder
    assert info["input"]["image_size"] == [8, 8]

    out = tmp_path / "select"
    argv = ["select", "--model", str(run), "--budget", "4", "--output", str(out)]
    assert main([*argv, "--quiet"]) == 0
    manifest = _rows(out / "manifest.csv")
    assert list(manifest[0]) == ["image", "#row", "#cluster", "#filename"]
    for r in manifest:  # the original file, under a name that hides its folder
        original = (root / r["#filename"]).read_bytes()
        assert (out / r["image"]).read_bytes() == original
        assert r["image"] == f"subject_{r['#row']}.png"

    path = tmp_path / "export.csv"
    truth = [r["#filename"].split("/")[0] for r in manifest]
    write_zooniverse_export(path, out / "manifest.csv", truth, random_state=0)
    argv = ["labels", "--model", str(run), "--votes", str(path)]
    assert main([*argv, "--output", str(tmp_path / "l"), "--quiet"]) == 0
    rows = _rows(tmp_path / "l" / "subject_labels.csv")
    assert rows[0]["filename"] == "blue/0.png"
    capsys.readouterr()

    rows = _rows(path)  # an export whose subjects are other files
    data = json.loads(rows[0]["subject_data"])
    next(iter(data.values()))["#filename"] = "red/elsewhere.png"
    rows[0]["subject_data"] = json.dumps(data)
    _write_rows(path, rows)
    assert main([*argv, "--output", str(tmp_path / "l2")]) == 1
    assert "is the export from another run?" in _error(capsys)


# ------------------------------------- image folders: uploads, rounds, the cache
@pytest.fixture(scope="module")
def camera(tmp_path_factory):
    """A project folder: ``subjects/`` (sub-folders are sites, not labels;
    small PNGs, one large TIFF and one JPEG) and ``run/``, the run folder of
    ``skdec cluster`` on it."""
    from PIL import Image

    rng = np.random.RandomState(0)
    project = tmp_path_factory.mktemp("camera")
    root = project / "subjects"
    for site in ("site-a", "site-b"):
        (root / site).mkdir(parents=True)
        for i in range(6):
            pixels = rng.randint(0, 256, size=(8, 8, 3)).astype(np.uint8)
            Image.fromarray(pixels).save(root / site / f"{i}.png")
    noise = rng.randint(0, 256, size=(320, 320, 3)).astype(np.uint8)
    Image.fromarray(noise).save(root / "site-a" / "big.tif")  # ~300 KB as PNG
    Image.fromarray(noise[:16, :16]).save(root / "site-b" / "photo.jpg")
    run = project / "run"
    argv = ["cluster", "--images", str(root), "--image-size", "8,8", "--output"]
    assert main([*argv, str(run), *FAST, "--max-iter", "10", "--n-clusters", "3"]) == 0
    return project


def test_sub_folders_are_no_labels_unless_asked(camera, tmp_path, capsys):
    info = json.loads((camera / "run" / "run.json").read_text())
    assert info["has_labels"] is False
    assert info["input"]["labels_from_folders"] is False
    assert "label" not in _rows(camera / "run" / "labels.csv")[0]
    out = tmp_path / "labelled"
    argv = ["cluster", "--images", str(camera / "subjects"), "--image-size", "8,8"]
    argv += ["--labels-from-folders", "--output", str(out), *FAST[:-1]]
    assert main([*argv, "--max-iter", "5"]) == 0
    # the number of folders sets --n-clusters, and the command says so
    assert "2 clusters (the number of known classes" in capsys.readouterr().out
    info = json.loads((out / "run.json").read_text())
    assert info["has_labels"] and info["n_clusters"] == 2
    assert {r["label"] for r in _rows(out / "labels.csv")} == {"site-a", "site-b"}


def test_run_json_paths_are_relative_and_old_ones_still_read(camera, tmp_path):
    info = json.loads((camera / "run" / "run.json").read_text())
    assert info["input"]["images"] == "../subjects"
    assert info["pixel_cache"].startswith("../.skdec-cache/pixels-")
    moved = tmp_path / "moved"  # the project folder moves as a whole
    shutil.copytree(camera, moved)
    shutil.rmtree(moved / ".skdec-cache")
    run = load_run(moved / "run")
    assert run.images_root.resolve() == (moved / "subjects").resolve()
    assert (moved / ".skdec-cache").is_dir()  # rebuilt beside the moved run
    # a run.json of an earlier version: absolute paths, no cache, no "folder"
    old = tmp_path / "old-run"
    shutil.copytree(camera / "run", old)
    info["input"]["images"] = str((camera / "subjects").resolve())
    for key in ("pixel_cache", "folder"):
        del info[key]
    del info["input"]["labels_from_folders"]  # sub-folders were labels then
    (old / "run.json").write_text(json.dumps(info))
    run = load_run(old)
    assert run.images_root == (camera / "subjects").resolve()
    assert set(run.y) == {"site-a", "site-b"}
    info["input"]["labels_from_folders"] = False
    (old / "run.json").write_text(json.dumps(info))
    assert load_run(old).y is None


def test_the_pixel_cache_is_reused_and_rebuilt(camera, tmp_path, monkeypatch):
    import skdec._image_folder as image_folder

    project = tmp_path / "project"
    shutil.copytree(camera, project)
    expected = load_run(project / "run").X.copy()
    decode = image_folder._decode

    def refuse(*args, **kwargs):
        raise AssertionError("decoded again")

    monkeypatch.setattr(image_folder, "_decode", refuse)
    run = load_run(project / "run")  # from the cache: nothing decoded
    np.testing.assert_array_equal(run.X, expected)
    assert run.X.dtype == np.float32
    monkeypatch.setattr(image_folder, "_decode", decode)
    from PIL import Image

    changed = project / "subjects" / "site-a" / "0.png"
    Image.fromarray(np.zeros((8, 8, 3), dtype=np.uint8)).save(changed)
    run = load_run(project / "run")  # a file changed: decoded again
    row = run.filenames.tolist().index("site-a/0.png")
    assert not run.X[row].any() and expected[row].any()


def test_select_writes_upload_ready_images_from_the_originals(camera, capsys):
    from PIL import Image

    run = camera / "run"
    argv = ["select", "--model", str(run), "--budget", "14", "--strategy"]
    assert main([*argv, "random", "--max-bytes", "100KB"]) == 0
    assert "1 images scaled down to fit 100000 bytes" in capsys.readouterr().out
    out = run / "select"  # the default --output: inside the run folder
    manifest = {r["#filename"]: r for r in _rows(out / "manifest.csv")}
    assert len(manifest) == 14 and "site-a/big.tif" in manifest
    big = out / manifest["site-a/big.tif"]["image"]
    assert big.suffix == ".png" and big.stat().st_size <= 100_000
    with Image.open(big) as image:  # the original's 320 pixels, scaled down
        assert 64 <= image.size[0] < 320 and image.size[0] > 8
    for name, r in manifest.items():
        if name.endswith(".png"):  # small enough: the original file itself
            original = (camera / "subjects" / name).read_bytes()
            assert (out / r["image"]).read_bytes() == original
    if "site-b/photo.jpg" in manifest:
        assert manifest["site-b/photo.jpg"]["image"].endswith(".jpg")
    info = json.loads((out / "selection.json").read_text())
    assert info["max_bytes"] == 100_000 and info["image_format"] == "auto"

    argv = ["select", "--model", str(run), "--budget", "14", "--strategy", "random"]
    jpeg = ["--image-format", "jpeg", "--output", str(camera / "j"), "--quiet"]
    assert main([*argv, *jpeg]) == 0
    assert all(r["image"].endswith(".jpg") for r in _rows(camera / "j" / MANIFEST))


MANIFEST = "manifest.csv"


def test_a_second_round_excludes_the_subjects_shown(camera, tmp_path, capsys):
    run = camera / "run"
    first, second = tmp_path / "round1", tmp_path / "round2"
    base = ["select", "--model", str(run), "--strategy", "random", "--quiet"]
    assert main([*base, "--budget", "8", "--output", str(first)]) == 0
    argv = [*base, "--budget", "6", "--exclude", str(first / MANIFEST)]
    assert main([*argv, "--output", str(second)]) == 0
    shown = {r["#filename"] for r in _rows(first / MANIFEST)}
    again = {r["#filename"] for r in _rows(second / MANIFEST)}
    assert len(again) == 6 and not shown & again
    info = json.loads((second / "selection.json").read_text())
    assert info["n_excluded"] == 8
    # 8 + 6 shown: no 5 subjects are left for a third round
    third = [*base, "--budget", "5", "--exclude", str(first / MANIFEST)]
    third += ["--exclude", str(second / MANIFEST), "--output", str(tmp_path / "3")]
    assert main(third) == 1
    capsys.readouterr()
    bad = tmp_path / "bad.csv"
    bad.write_text("image,#row,#cluster,#filename\nx.png,0,0,site-c/none.png\n")
    assert main([*base, "--budget", "2", "--exclude", str(bad)]) == 1
    assert "bad.csv, line 2: 'site-c/none.png' is not a file of the run" in _error(
        capsys
    )


def test_labels_match_subjects_by_file_name(camera, tmp_path, capsys):
    run = camera / "run"
    first = tmp_path / "round1"
    argv = ["select", "--model", str(run), "--budget", "6", "--strategy", "random"]
    assert main([*argv, "--output", str(first), "--quiet"]) == 0
    manifest = _rows(first / MANIFEST)
    for r in manifest:  # a team's own manifest: file names, no #row
        del r["#row"]
    path = tmp_path / "export.csv"
    truth = [r["#filename"].split("/")[0] for r in manifest]
    write_zooniverse_export(path, manifest, truth, accuracy=1.0, random_state=0)
    out = tmp_path / "labels"
    argv = ["labels", "--model", str(run), "--votes", str(path), "--output"]
    assert main([*argv, str(out), "--quiet"]) == 0
    rows = {r["filename"]: r for r in _rows(out / "subject_labels.csv")}
    for r in manifest:
        assert rows[r["#filename"]]["seen"] == "1"
        assert rows[r["#filename"]]["label"] == r["#filename"].split("/")[0]
    votes = tmp_path / "votes.csv"  # plain votes naming files
    votes.write_text("subject,label\nsite-a/1.png,cat\n2.png,dog\n")
    argv = ["labels", "--model", str(run), "--votes", str(votes), "--output"]
    assert main([*argv, str(tmp_path / "plain"), "--quiet"]) == 1
    assert "'2.png' is not a row number nor a file of the run" in _error(capsys)
    votes.write_text("subject,label\nsite-a/1.png,cat\nbig.tif,dog\n")
    assert main([*argv, str(tmp_path / "plain"), "--quiet"]) == 0
    rows = {r["filename"]: r for r in _rows(tmp_path / "plain" / "subject_labels.csv")}
    assert rows["site-a/1.png"]["label"] == "cat"
    assert rows["site-a/big.tif"]["label"] == "dog"


def test_labels_with_answer_names_and_export_filters(run_dir, export, tmp_path):
    rows = _rows(export[0])
    extra = dict(rows[0], classification_id="99", gold_standard="True")
    extra["annotations"] = json.dumps([{"task": "T0", "value": 9}])
    repeat = dict(rows[1], classification_id="98")
    repeat["metadata"] = json.dumps({"seen_before": True})
    path = tmp_path / "export.csv"
    _write_rows(path, [*rows, extra, repeat])
    names = tmp_path / "answers.csv"
    digits = "zero one two three four five six seven eight nine".split()
    names.write_text(
        "answer,name\n" + "".join(f"{i},{d}\n" for i, d in enumerate(digits))
    )
    out = tmp_path / "labels"
    argv = ["labels", "--model", str(run_dir), "--votes", str(path), "--answers"]
    assert main([*argv, str(names), "--output", str(out), "--quiet"]) == 0
    labels = {r["label"] for r in _rows(out / "subject_labels.csv")}
    assert labels <= set(digits)
    summary = json.loads((out / "labels.json").read_text())
    assert summary["n_votes"] == len(rows)  # the expert's and the repeat left out
    assert summary["export_filters"]["experts"] == "exclude"
    keep = ["--repeats", "keep", "--experts", "include"]
    assert main([*argv, str(names), "--output", str(out), "--quiet", *keep]) == 0
    assert json.loads((out / "labels.json").read_text())["n_votes"] == len(rows) + 2


def test_labels_name_answers_from_a_workflow_contents_export(
    run_dir, export, tmp_path, capsys
):
    digits = "zero one two three four five six seven eight nine".split()
    tasks = {
        "T0": {
            "type": "single",
            "question": "T0.question",
            "answers": [{"label": f"T0.answers.{i}.label"} for i in range(10)],
        }
    }
    workflows = tmp_path / "digits-workflows.csv"
    _write_rows(
        workflows,
        [{"workflow_id": 1, "display_name": "Classify", "version": 1,
          "active": True, "first_task": "T0", "primary_language": "en",
          "tasks": json.dumps(tasks), "strings": "{}", "minor_version": 4}],
    )  # fmt: skip
    strings = {f"T0.answers.{i}.label": d for i, d in enumerate(digits)}
    stamp = "2017-03-02 11:20:06 UTC"
    contents = tmp_path / "digits-workflow_contents.csv"
    _write_rows(
        contents,
        [{"id": 30 + v, "workflow_id": 1, "language": "en", "created_at": stamp,
          "updated_at": stamp, "current_version_number": v, "version": v,
          "strings": json.dumps(strings if v == 4 else {})} for v in (3, 4)],
    )  # fmt: skip
    out = tmp_path / "labels"
    argv = ["labels", "--model", str(run_dir), "--votes", str(export[0])]
    argv += ["--output", str(out), "--quiet", "--workflow", str(workflows)]
    assert main([*argv, "--workflow-contents", str(contents)]) == 0
    assert {r["label"] for r in _rows(out / "subject_labels.csv")} <= set(digits)
    summary = json.loads((out / "labels.json").read_text())
    assert summary["answer_names"] == str(workflows)
    assert summary["workflow_contents"] == str(contents)
    # without it, the keys have no texts: the error says what to pass
    assert main(argv) == 1
    assert "pass the workflow contents export" in _error(capsys)
    missing = tmp_path / "none-workflow_contents.csv"
    assert main([*argv, "--workflow-contents", str(missing)]) == 1
    assert f"No such workflow contents export: {missing}" in _error(capsys)
    argv = argv[: argv.index("--workflow")]
    assert main([*argv, "--workflow-contents", str(contents)]) == 1
    assert "give that export too (--workflow)" in _error(capsys)
