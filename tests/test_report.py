"""The HTML report: its structure, its inputs, and the page in a real browser."""

import csv
import html
import json
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from sklearn.exceptions import NotFittedError

from skdec import DECClusterer, MLPAutoencoder
from skdec.datasets import load_digits
from skdec.metrics import clustering_report
from skdec.report import (
    HEATMAP_ROW_PIXELS,
    find_browser,
    read_subject_labels,
    screenshot_report,
    write_report,
)

N_CLUSTERS = 4
FAST = dict(
    autoencoder=MLPAutoencoder((32,), 4, epochs=2, n_init=1),
    init="kmeans",
    n_init=2,
    max_iter=10,
    update_interval=5,
    augment=None,
    random_state=0,
)
# attributes that load something: none may point outside the report folder
RESOURCE = re.compile(r"""\b(?:src|href)\s*=\s*['"]([^'"]*)['"]""")


@pytest.fixture(scope="module")
def digits(one_thread):
    X, y = load_digits(return_X_y=True)
    X, y = X[:150], y[:150]
    model = DECClusterer(N_CLUSTERS, image_shape=(8, 8), **FAST).fit(X)
    return model, X, y


@pytest.fixture(scope="module")
def features(one_thread):
    """A model of plain feature rows (no image shape)."""
    rng = np.random.RandomState(0)
    X = np.vstack([rng.normal(c, 0.3, (30, 5)) for c in (0, 3, 6)])
    model = DECClusterer(3, **FAST).fit(X)
    return model, X


NAMES = np.array([f"<b>img {i}</b> & co.png" for i in range(150)])
TITLE = "Digits <script>alert(1)</script>"


@pytest.fixture(scope="module")
def full_report(digits, tmp_path_factory):
    """A report with everything: true labels, subject labels, file names."""
    model, X, y = digits
    return write_report(
        tmp_path_factory.mktemp("full") / "report",
        model,
        X,
        y=y,
        subject_labels=_subject_labels(y),
        filenames=NAMES,
        n_members=5,
        title=TITLE,
    )


@pytest.fixture(scope="module")
def plain_report(digits, tmp_path_factory):
    """A report of the model and the data alone."""
    model, X, _ = digits
    return write_report(
        tmp_path_factory.mktemp("plain") / "r", model, X, n_members=3, cmap="gray"
    )


def _subject_labels(y):
    rows = np.arange(len(y))
    return {
        "label": np.where(rows % 3 == 0, y, -1),
        "confidence": np.where(rows % 3 == 0, 0.75, 0.0),
        "seen": rows % 6 == 0,
    }


def _read(index):
    return Path(index).read_text(encoding="utf-8")


def _sections(page):
    return re.findall(r"<section class='cluster' id='cluster-(\d+)'", page)


def _check_resources(index):
    """Every src/href is a relative path to a file of the report (or a link
    to an anchor of the page); returns the images referenced."""
    page = _read(index)
    images = []
    for ref in RESOURCE.findall(page):
        if ref.startswith("#"):
            assert f"id='{ref[1:]}'" in page, ref
            continue
        assert not re.match(r"^[a-z][a-z0-9+.-]*:|^//|^/", ref), ref
        target = Path(index).parent / html.unescape(ref)
        assert target.is_file(), ref
        images.append(target)
    assert "http://" not in page and "https://" not in page
    assert "<script" not in page  # a static page: nothing to run
    return images


# ---------------------------------------------------------------- structure
def test_report_structure_with_labels(digits, full_report):
    model, X, y = digits
    names, index = NAMES, full_report
    assert index.name == "index.html" and index.parent.name == "report"
    page = _read(index)
    assert _sections(page) == [str(k) for k in range(N_CLUSTERS)]
    images = _check_resources(index)
    assert {p.name for p in images} == {
        "embedding.png",
        "training.png",
        *(
            f"cluster_{k}_{g}.png"
            for k in range(N_CLUSTERS)
            for g in ("central", "uncertain")
        ),
    }
    assert sorted(p.name for p in (index.parent / "images").iterdir()) == sorted(
        p.name for p in images
    )
    for p in images:
        with Image.open(p) as im:
            assert im.format == "PNG" and min(im.size) > 20
    # the text is escaped, everywhere
    assert "<script>" not in page and "<b>img" not in page
    assert "Digits &lt;script&gt;alert(1)&lt;/script&gt;" in page
    # the numbers
    labels = model.predict(X)
    metrics = clustering_report(y, labels)
    assert f"<td>{metrics['acc']:.3f}</td>" in page
    sizes = np.bincount(labels, minlength=N_CLUSTERS)
    for k in range(N_CLUSTERS):
        assert f"<td><a href='#cluster-{k}'>{k}</a></td><td>{sizes[k]}</td>" in page
        section = page.split(f"id='cluster-{k}'")[1].split("</section>")[0]
        assert f"{sizes[k]} members" in section
        members = np.flatnonzero(labels == k)
        true, count = np.unique(y[members], return_counts=True)
        assert f"true class {true[count.argmax()]}" in section
        sub = _subject_labels(y)
        known = members[sub["label"][members] >= 0]
        if known.size:
            lab, cnt = np.unique(sub["label"][known], return_counts=True)
            assert f"label {lab[cnt.argmax()]}: " in section
            assert f"{int(sub['seen'][members].sum())} seen by volunteers" in section
        # montages: the n_members most central and most uncertain members,
        # listed with their (escaped) file names
        q = model.predict_proba(X)[members, k]
        order = members[np.argsort(-q, kind="stable")]
        listed = [int(r) for r in re.findall(r"<li>row (\d+)", section)]
        assert listed == order[:5].tolist() + order[::-1][:5].tolist()
        for r in listed:
            assert f"<li>row {r} · {html.escape(names[r])} · p=" in section


def test_report_images_show_the_members(digits, plain_report):
    model, X, _ = digits
    index = plain_report
    labels = model.predict(X)
    k = int(np.bincount(labels).argmax())
    with Image.open(index.parent / "images" / f"cluster_{k}_central.png") as im:
        # 3 images of 8x8 in a row, enlarged 7 times (>= 56 pixels), 1-pixel gaps
        assert im.size == (3 * 8 * 7 + 2 * 7, 8 * 7)


def test_report_without_y_or_subject_labels(plain_report):
    page = _read(plain_report)
    assert _sections(page) == [str(k) for k in range(N_CLUSTERS)]
    assert "Metrics against the true labels" not in page
    assert "true class" not in page and "purity" not in page
    assert "seen by volunteers" not in page and "<th>label</th>" not in page
    assert "Clustering report" in page
    _check_resources(plain_report)


@pytest.fixture(scope="module")
def features_report(features, tmp_path_factory):
    model, X = features
    return write_report(
        tmp_path_factory.mktemp("features") / "r", model, X, n_members=4
    )


def test_report_of_feature_rows_draws_heatmaps(features, features_report):
    model, X = features
    index = features_report
    page = _read(index)
    assert _sections(page) == ["0", "1", "2"]
    assert "standard scores" in page
    labels = model.predict(X)
    for k in range(3):
        n_shown = min(4, int((labels == k).sum()))
        with Image.open(index.parent / "images" / f"cluster_{k}_central.png") as im:
            assert im.size[1] == n_shown * HEATMAP_ROW_PIXELS
    _check_resources(index)


def test_report_labels_argument_and_empty_cluster(digits, tmp_path):
    model, X, _ = digits
    labels = np.where(model.predict(X) == 3, 0, model.predict(X))  # 3 is empty
    page = _read(write_report(tmp_path / "r", model, X, labels=labels))
    assert _sections(page) == [str(k) for k in range(N_CLUSTERS)]
    section = page.split("id='cluster-3'")[1].split("</section>")[0]
    assert "0 members" in section and "no members" in section
    assert not (tmp_path / "r" / "images" / "cluster_3_central.png").exists()
    assert f"{(labels == 0).sum()} members" in page


def test_report_subject_labels_csv(digits, full_report, tmp_path):
    model, X, y = digits
    sub = _subject_labels(y)
    path = tmp_path / "subject_labels.csv"
    with path.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["row", "filename", "label", "confidence", "cluster", "seen"])
        for i in range(len(y)):
            lab = sub["label"][i]
            writer.writerow(
                [i, f"f{i}.png", lab, sub["confidence"][i], 0, int(sub["seen"][i])]
            )
    read = read_subject_labels(path, len(y))
    np.testing.assert_array_equal(read["label"], sub["label"])
    np.testing.assert_allclose(read["confidence"], sub["confidence"])
    np.testing.assert_array_equal(read["seen"], sub["seen"])
    from_csv = write_report(
        tmp_path / "a",
        model,
        X,
        y=y,
        subject_labels=path,
        filenames=NAMES,
        n_members=5,
        title=TITLE,
    )
    assert _read(from_csv) == _read(full_report)


def test_read_subject_labels_string_labels_and_errors(tmp_path):
    path = tmp_path / "s.csv"
    path.write_text("row,label,confidence\n1,cat,0.5\n0,,\n")
    read = read_subject_labels(path, 3)
    assert read["label"].tolist() == ["-1", "cat", "-1"] and "seen" not in read
    for text, match in [
        ("row,label\n0,1\n", r"lacks the column\(s\) \['confidence'\]"),
        ("row,label,confidence\nx,1,0.5\n", "line 2: row='x' is not an integer"),
        ("row,label,confidence\n3,1,0.5\n", "line 2: row 3 is not a row"),
        ("row,label,confidence\n0,1,0.5\n0,2,0.5\n", "line 3: row 0 is listed twice"),
        ("row,label,confidence\n0,1,high\n", "confidence='high' is not a number"),
        ("row,label,confidence,seen\n0,1,0.5,maybe\n", "line 2: seen='maybe'"),
    ]:
        path.write_text(text)
        with pytest.raises(ValueError, match=match):
            read_subject_labels(path, 3)
    with pytest.raises(FileNotFoundError, match="No such subject labels file"):
        read_subject_labels(tmp_path / "absent.csv", 3)


# ---------------------------------------------------------------- bad input
def _leftovers(folder):
    return [p.name for p in Path(folder).iterdir() if p.name.startswith(".")]


def test_report_bad_input(digits, features, tmp_path):
    model, X, y = digits
    out = tmp_path / "r"
    cases = [
        (dict(X=X[0]), ValueError, "X must be a non-empty 2-D array"),
        (dict(X=X[:, :10]), ValueError, "X has 10 features but the model"),
        (dict(labels=np.zeros(3, int)), ValueError, r"labels must be 1-D .*\(150\)"),
        (dict(labels=np.full(len(X), 9)), ValueError, r"labels\[0\]=9 is not a"),
        (dict(labels=np.zeros(len(X))), ValueError, "integer cluster ids"),
        (dict(y=y[:5]), ValueError, "y must be 1-D with one entry per row"),
        (dict(filenames=["a"]), ValueError, "filenames must be 1-D"),
        (dict(image_shape=(7, 7)), ValueError, "image_shape .* holds 49 values"),
        (dict(n_members=0), ValueError, "n_members"),
        (dict(subject_labels=[1, 2]), TypeError, "subject_labels must be a path"),
        (
            dict(subject_labels={"label": y, "confidence": np.full(len(y), 2.0)}),
            ValueError,
            r"must lie in \[0, 1\]; row 0",
        ),
        (
            dict(subject_labels=tmp_path / "none.csv"),
            FileNotFoundError,
            "No such subject labels",
        ),
    ]
    for kwargs, err, match in cases:
        args = {"X": X, **kwargs}
        with pytest.raises(err, match=match):
            write_report(out, model, args.pop("X"), **args)
        assert not out.exists()
    with pytest.raises(NotFittedError):
        write_report(out, DECClusterer(), X)
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "mine.txt").write_text("keep me")
    with pytest.raises(ValueError, match="holding other files than a skdec report"):
        write_report(tmp_path / "notes", model, X)
    (tmp_path / "file").write_text("x")
    with pytest.raises(ValueError, match="exists and is not a folder"):
        write_report(tmp_path / "file", model, X)
    assert (tmp_path / "notes" / "mine.txt").read_text() == "keep me"
    assert _leftovers(tmp_path) == []


def test_report_replaces_an_earlier_one_and_fails_cleanly(
    digits, tmp_path, monkeypatch
):
    model, X, _ = digits
    out = tmp_path / "r"
    write_report(out, model, X, title="first")
    write_report(out, model, X, title="second")
    assert "<title>second</title>" in _read(out / "index.html")

    import skdec.report

    def fail(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(skdec.report, "_save_figure", fail)
    with pytest.raises(RuntimeError, match="disk full"):
        write_report(out, model, X, title="third")
    # the earlier report is untouched and no half-written folder is left
    assert "<title>second</title>" in _read(out / "index.html")
    _check_resources(out / "index.html")
    assert _leftovers(tmp_path) == []
    with pytest.raises(RuntimeError, match="disk full"):
        write_report(tmp_path / "new", model, X)
    assert not (tmp_path / "new").exists() and _leftovers(tmp_path) == []


# ---------------------------------------------------------------- in a browser
BROWSER = find_browser()
needs_browser = pytest.mark.skipif(
    BROWSER is None,
    reason="no headless Chromium on PATH (Debian: apt-get install chromium); "
    "the report's browser tests are skipped",
)

# loads the report in a frame (same folder tree, file://), and once it has
# loaded writes what it found into <pre id="result">
PROBE = """<!DOCTYPE html><html><head><meta charset="utf-8"></head><body>
<iframe id="report" src="{src}" style="width:1200px;height:900px"></iframe>
<pre id="result">not loaded</pre>
<script>
document.getElementById("report").addEventListener("load", function () {{
  var doc = this.contentDocument;
  var images = Array.prototype.slice.call(doc.images);
  document.getElementById("result").textContent = JSON.stringify({{
    title: doc.title,
    n_images: images.length,
    broken: images.filter(function (i) {{
      return !i.complete || i.naturalWidth === 0;
    }}).map(function (i) {{ return i.getAttribute("src"); }}),
    clusters: Array.prototype.map.call(
      doc.querySelectorAll("section.cluster"),
      function (s) {{ return s.getAttribute("data-cluster"); }}),
    visible: Array.prototype.map.call(
      doc.querySelectorAll("section.cluster h2"),
      function (h) {{ return h.getBoundingClientRect().height > 0; }})
  }});
}});
</script></body></html>"""


def load_in_browser(index, timeout=90):
    """Open ``index`` in headless Chromium; what the probe found, as a dict."""
    with tempfile.TemporaryDirectory() as folder:
        probe = Path(folder) / "probe.html"
        probe.write_text(PROBE.format(src=html.escape(Path(index).resolve().as_uri())))
        command = [
            BROWSER,
            "--headless",
            "--disable-gpu",
            "--no-sandbox",
            f"--user-data-dir={folder}/profile",
            "--allow-file-access-from-files",  # the probe reads the frame
            "--virtual-time-budget=10000",
            "--dump-dom",
            probe.as_uri(),
        ]
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, done.stderr[-2000:]
    found = re.search(r'<pre id="result">(.*?)</pre>', done.stdout, re.S)
    assert found, done.stdout[-2000:]
    text = html.unescape(found.group(1))
    assert text != "not loaded", "the report did not finish loading"
    return json.loads(text)


@needs_browser
def test_report_loads_in_a_browser(full_report, tmp_path):
    shutil.copytree(full_report.parent, tmp_path / "r")
    index = tmp_path / "r" / "index.html"
    start = time.perf_counter()
    found = load_in_browser(index)
    seconds = time.perf_counter() - start
    assert found["title"] == TITLE
    assert found["broken"] == []
    assert found["n_images"] == 2 + 2 * N_CLUSTERS
    assert found["clusters"] == [str(k) for k in range(N_CLUSTERS)]
    assert all(found["visible"])
    # the probe sees a missing image (so the check above can fail)
    (index.parent / "images" / "cluster_1_uncertain.png").unlink()
    assert load_in_browser(index)["broken"] == ["images/cluster_1_uncertain.png"]
    assert seconds < 60


@needs_browser
def test_screenshot_report(features_report, tmp_path):
    report = features_report.parent
    top = screenshot_report(report, tmp_path / "top.png", width=800, height=600)
    with Image.open(top) as im:
        assert im.size == (800, 600)
        assert np.unique(np.asarray(im.convert("L"))).size > 10  # not blank
    whole = screenshot_report(report / "index.html", tmp_path / "whole.png", width=800)
    with Image.open(whole) as im:
        assert im.size[0] == 800 and im.size[1] > 1200  # the three clusters


def test_screenshot_report_errors(tmp_path, monkeypatch):
    with pytest.raises(FileNotFoundError, match="No report at"):
        screenshot_report(tmp_path, tmp_path / "x.png")
    (tmp_path / "index.html").write_text("<html></html>")
    import skdec.report

    monkeypatch.setattr(skdec.report, "find_browser", lambda: None)
    with pytest.raises(FileNotFoundError, match="apt-get install chromium"):
        screenshot_report(tmp_path, tmp_path / "x.png")
    failing = tmp_path / "failing-browser"
    failing.write_text("#!/bin/sh\necho broken >&2\nexit 3\n")
    failing.chmod(0o755)
    with pytest.raises(RuntimeError, match="exited with status 3:\nbroken"):
        screenshot_report(
            tmp_path, tmp_path / "x.png", height=200, browser=str(failing)
        )
    with pytest.raises(FileNotFoundError, match="Cannot run the browser"):
        screenshot_report(
            tmp_path, tmp_path / "x.png", height=200, browser=str(tmp_path / "none")
        )
