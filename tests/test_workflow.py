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
