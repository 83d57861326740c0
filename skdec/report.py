"""A browsable report of a clustering: one static HTML page and its images.

:func:`write_report` writes a folder holding ``index.html`` and an
``images/`` folder. The page needs no server, no script and no network: it
opens from disk in any browser. Per cluster it shows the size, a montage of
the most central and of the most uncertain members (by the model's soft
assignment, ``predict_proba``), the volunteers' label and its confidence
once subject labels exist, and the majority true class when true labels
exist; above the clusters, the 2-D embedding coloured by cluster, the
training curves and the clustering metrics. :func:`screenshot_report` takes
a picture of a written report with a headless Chromium.
"""

from __future__ import annotations

import csv
import html
import math
import os
import shutil
import subprocess
import tempfile
from collections import Counter
from numbers import Integral
from pathlib import Path

import numpy as np
from sklearn.utils._param_validation import Interval, validate_params
from sklearn.utils.validation import check_is_fitted

from ._images import display_images, tile_images
from ._shapes import check_image_shape
from ._unlabelled import unlabelled_mask

__all__ = ["find_browser", "read_subject_labels", "screenshot_report", "write_report"]

#: the ``<meta name="generator">`` of a report: a folder holding an
#: ``index.html`` with it may be replaced by a new report
GENERATOR = "skdec report"
#: columns of ``subject_labels.csv`` (as ``skdec labels`` writes it) read here
SUBJECT_LABEL_COLUMNS = ("row", "label", "confidence")
MONTAGE_COLUMNS = 8
MIN_CELL_PIXELS = 56  # small images are enlarged to at least this many pixels
HEATMAP_ROW_PIXELS = 10
HEATMAP_WIDTH = 480  # pixels of a heat-map's features, when there are few
Z_RANGE = 3.0  # heat-map colours saturate at this many standard deviations
BROWSERS = (
    "chromium",
    "chromium-browser",
    "google-chrome",
    "google-chrome-stable",
    "chrome",
)

STYLE = """
body { font-family: system-ui, sans-serif; margin: 1.5em auto; max-width: 75em;
       padding: 0 1em; color: #222; }
h1 { font-size: 1.6em; } h2 { font-size: 1.25em; margin-top: 1.6em; }
table { border-collapse: collapse; margin: 0.5em 0; }
th, td { border: 1px solid #ccc; padding: 0.2em 0.6em; text-align: right; }
th { background: #f2f2f2; }
td.text, th.text { text-align: left; }
nav a { margin-right: 0.6em; }
.figures { display: flex; flex-wrap: wrap; gap: 1.5em; align-items: flex-start; }
figure { margin: 0; }
#overview figure { max-width: none; }
figure img { max-width: 100%; image-rendering: pixelated;
             border: 1px solid #ddd; }
figure { max-width: 30em; }
figcaption, .note { font-size: 0.85em; color: #555; max-width: 40em; }
section.cluster { border-top: 2px solid #888; margin-top: 1.5em; }
details li { font-size: 0.85em; font-family: monospace; }
"""


def _text(value):
    """``value`` as text safe inside HTML elements and attributes."""
    return html.escape(str(value), quote=True)


def _check_rows(name, values, n_samples):
    """``values`` as a 1-D array with one entry per row of ``X``."""
    values = np.asarray(values)
    if values.ndim != 1 or values.shape[0] != n_samples:
        raise ValueError(
            f"{name} must be 1-D with one entry per row of X ({n_samples}); "
            f"got shape {values.shape}."
        )
    return values


def _parse_seen(text, line):
    value = text.strip().lower()
    if value in ("1", "true", "yes"):
        return True
    if value in ("0", "false", "no", ""):
        return False
    raise ValueError(f"line {line}: seen={text!r} is not 1/0 or true/false")


def read_subject_labels(path, n_samples):
    """Read ``subject_labels.csv`` into ``{'label', 'confidence', 'seen'}``.

    The file has a header with (at least) the columns ``row``, ``label`` and
    ``confidence``, and optionally ``seen`` (``1``/``0`` or
    ``true``/``false``), as ``skdec labels`` writes it. Rows of the data not
    listed, and empty or ``-1`` labels, count as unlabelled.

    Parameters
    ----------
    path : str or path-like
    n_samples : int
        Rows of the data; every ``row`` must lie in ``[0, n_samples)`` and
        appear at most once.

    Returns
    -------
    subject_labels : dict of ndarray
        ``'label'`` (int64 if every label is an integer, else str; -1 for
        the unlabelled), ``'confidence'`` (float, 0 for the unlabelled) and,
        when the file has the column, ``'seen'`` (bool).

    Examples
    --------
    >>> import os, tempfile
    >>> from skdec.report import read_subject_labels
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = os.path.join(folder, "subject_labels.csv")
    ...     with open(path, "w") as f:
    ...         _ = f.write("row,label,confidence,seen\\n0,3,0.9,1\\n2,5,0.6,0\\n")
    ...     labels = read_subject_labels(path, 3)
    >>> labels["label"], labels["confidence"], labels["seen"]
    (array([ 3, -1,  5]), array([0.9, 0. , 0.6]), array([ True, False, False]))
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"No such subject labels file: {path}")
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        columns = reader.fieldnames or []
        missing = [c for c in SUBJECT_LABEL_COLUMNS if c not in columns]
        if missing:
            raise ValueError(
                f"{path.name} lacks the column(s) {missing}; subject labels need "
                f"{list(SUBJECT_LABEL_COLUMNS)} (and optionally 'seen')."
            )
        has_seen = "seen" in columns
        labels = [""] * n_samples
        confidence = np.zeros(n_samples)
        seen = np.zeros(n_samples, dtype=bool)
        listed = np.zeros(n_samples, dtype=bool)
        for record in reader:
            line = reader.line_num
            try:
                row = int(record["row"])
            except (TypeError, ValueError):
                raise ValueError(
                    f"{path.name}, line {line}: row={record['row']!r} is not an "
                    "integer row index."
                ) from None
            if not 0 <= row < n_samples:
                raise ValueError(
                    f"{path.name}, line {line}: row {row} is not a row of the data "
                    f"(n_samples={n_samples})."
                )
            if listed[row]:
                raise ValueError(
                    f"{path.name}, line {line}: row {row} is listed twice."
                )
            listed[row] = True
            label = (record["label"] or "").strip()
            labels[row] = "" if label == "-1" else label
            if labels[row]:
                try:
                    confidence[row] = float(record["confidence"] or 0)
                except ValueError:
                    raise ValueError(
                        f"{path.name}, line {line}: confidence="
                        f"{record['confidence']!r} is not a number."
                    ) from None
            if has_seen:
                try:
                    seen[row] = _parse_seen(record["seen"] or "", line)
                except ValueError as exc:
                    raise ValueError(f"{path.name}, {exc}.") from None
    try:
        label_array = np.array([int(v) if v else -1 for v in labels], dtype=np.int64)
    except ValueError:
        label_array = np.array([v if v else "-1" for v in labels])
    result = {"label": label_array, "confidence": confidence}
    if has_seen:
        result["seen"] = seen
    return result


def _check_subject_labels(subject_labels, n_samples):
    """``subject_labels`` (a path or a mapping) as ``(labels, confidence,
    seen or None, labelled mask)``, one entry per row."""
    if isinstance(subject_labels, str | os.PathLike):
        subject_labels = read_subject_labels(subject_labels, n_samples)
    try:
        labels = subject_labels["label"]
        confidence = subject_labels["confidence"]
    except (KeyError, TypeError, IndexError):
        raise TypeError(
            "subject_labels must be a path to subject_labels.csv or a mapping "
            "with 'label' and 'confidence' (and optionally 'seen') arrays; got "
            f"{type(subject_labels).__name__}."
        ) from None
    labels = _check_rows("subject_labels['label']", labels, n_samples)
    confidence = _check_rows(
        "subject_labels['confidence']", confidence, n_samples
    ).astype(np.float64)
    labelled = ~unlabelled_mask(labels)
    if labels.dtype.kind in "US":
        labelled &= (labels != "-1") & (labels != "")
    bad = labelled & ~((confidence >= 0) & (confidence <= 1))
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"subject_labels['confidence'] must lie in [0, 1]; row {row} has "
            f"{confidence[row]!r}."
        )
    seen = None
    if "seen" in subject_labels:
        seen = _check_rows("subject_labels['seen']", subject_labels["seen"], n_samples)
        seen = seen.astype(bool)
    return labels, confidence, seen, labelled


def _check_cluster_ids(labels, n_clusters):
    """Every entry of ``labels`` is a cluster of the model (if it is known)."""
    if n_clusters is None:
        return
    outside = (labels < 0) | (labels >= n_clusters)
    if outside.any():
        bad = int(np.flatnonzero(outside)[0])
        raise ValueError(
            f"labels[{bad}]={labels[bad]} is not a cluster of the model "
            f"(ids 0..{n_clusters - 1})."
        )


def _check_target(path):
    """The report folder ``path``: absent, empty or an earlier report."""
    path = Path(path)
    if path.exists():
        if not path.is_dir():
            raise ValueError(f"{path} exists and is not a folder.")
        index = path / "index.html"
        entries = list(path.iterdir())
        is_report = (
            index.is_file()
            and GENERATOR in index.read_text(encoding="utf-8", errors="replace")[:2000]
        )
        if entries and not is_report:
            raise ValueError(
                f"{path} is a folder holding other files than a skdec report; "
                "choose a new or empty folder (a report replaces an earlier one)."
            )
    return path


def _column_scale(X, batch_size=4096):
    """Mean and standard deviation of each column of ``X``, a batch at a time
    (no second copy of ``X``); a constant column has deviation 1."""
    n = X.shape[0]
    total = np.zeros(X.shape[1])
    squares = np.zeros(X.shape[1])
    for start in range(0, n, batch_size):
        batch = np.asarray(X[start : start + batch_size], dtype=np.float64)
        total += batch.sum(axis=0)
        squares += (batch**2).sum(axis=0)
    mean = total / n
    std = np.sqrt(np.maximum(squares / n - mean**2, 0.0))
    std[std < 1e-12] = 1.0
    return mean, std


def _enlarge(grid, factor):
    return np.repeat(np.repeat(grid, factor, axis=0), factor, axis=1)


def _save_montage(path, X, rows, image_shape, cmap):
    """A PNG of the images of ``rows``, in a grid; False when the channels of
    ``image_shape`` cannot be drawn."""
    from matplotlib.image import imsave

    images = display_images(np.asarray(X[rows], dtype=np.float64), image_shape)
    if images is None:
        return False
    n_columns = min(MONTAGE_COLUMNS, len(rows))
    grid = tile_images(images, n_columns)
    factor = max(1, math.ceil(MIN_CELL_PIXELS / max(images.shape[1:3])))
    grid = _enlarge(grid, factor)
    if grid.ndim == 2:
        imsave(path, grid, cmap=cmap, vmin=0, vmax=1)
    else:
        imsave(path, np.clip(grid, 0, 1))
    return True


def _save_heatmap(path, X, rows, scale):
    """A PNG of the features of ``rows`` (one pixel row band per member),
    as standard scores of the whole data (blue below the mean, red above)."""
    from matplotlib.image import imsave

    mean, std = scale
    z = (np.asarray(X[rows], dtype=np.float64) - mean) / std
    width = max(1, min(48, HEATMAP_WIDTH // z.shape[1]))
    z = np.repeat(np.repeat(z, HEATMAP_ROW_PIXELS, axis=0), width, axis=1)
    imsave(path, z, cmap="RdBu_r", vmin=-Z_RANGE, vmax=Z_RANGE)


def _save_figure(path, draw, figsize):
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize)
    draw(fig)
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def _has_training_history(model):
    return hasattr(model, "history_") and hasattr(model, "pretrain_history_")


def _member_line(i, info):
    """One ``<li>`` naming a shown member."""
    parts = [f"row {i}"]
    if info["filenames"] is not None:
        parts.append(str(info["filenames"][i]))
    parts.append(f"p={info['own'][i]:.3f}")
    runner = info["runner_up"][i]
    if runner >= 0:
        parts.append(f"next: cluster {runner} (p={info['q_runner'][i]:.3f})")
    if info["subject"] is not None:
        labels, confidence, seen, labelled = info["subject"]
        if labelled[i]:
            parts.append(f"label {labels[i]} ({confidence[i]:.2f})")
        if seen is not None and seen[i]:
            parts.append("seen by volunteers")
    if info["y"] is not None:
        parts.append(f"true class {info['y'][i]}")
    return f"<li>{_text(' · '.join(parts))}</li>"


def _most_common(values):
    (value, count), *_ = Counter(values.tolist()).most_common(1)
    return value, count


def _cluster_stats(k, members, info):
    """The numbers of cluster ``k``'s row of the summary table."""
    n = members.size
    stats = {"cluster": k, "size": n, "share": n / info["n_samples"]}
    stats["mean_p"] = float(info["own"][members].mean()) if n else float("nan")
    if info["subject"] is not None:
        labels, confidence, seen, labelled = info["subject"]
        known = members[labelled[members]]
        stats["n_labelled"] = known.size
        if known.size:
            label, count = _most_common(labels[known])
            stats["label"] = label
            stats["label_share"] = count / n
            stats["label_confidence"] = float(
                confidence[known][labels[known] == label].mean()
            )
        if seen is not None:
            stats["n_seen"] = int(seen[members].sum())
    if info["y"] is not None and n:
        cls, count = _most_common(info["y"][members])
        stats["true_class"] = cls
        stats["purity"] = count / n
    return stats


def _summary_table(all_stats, info):
    head = ["cluster", "size", "share", "mean p"]
    if info["subject"] is not None:
        head += ["label", "of members", "confidence", "labelled"]
        if info["subject"][2] is not None:
            head += ["seen"]
    if info["y"] is not None:
        head += ["true class", "purity"]
    lines = ["<table class='summary'>", "<tr>"]
    lines += [f"<th>{_text(h)}</th>" for h in head] + ["</tr>"]
    for s in all_stats:
        k = s["cluster"]
        cells = [
            f"<a href='#cluster-{k}'>{k}</a>",
            f"{s['size']}",
            f"{s['share']:.1%}",
            "" if s["size"] == 0 else f"{s['mean_p']:.3f}",
        ]
        if info["subject"] is not None:
            if "label" in s:
                cells += [
                    _text(s["label"]),
                    f"{s['label_share']:.0%}",
                    f"{s['label_confidence']:.2f}",
                ]
            else:
                cells += ["", "", ""]
            cells.append(f"{s['n_labelled']}")
            if info["subject"][2] is not None:
                cells.append(f"{s['n_seen']}")
        if info["y"] is not None:
            if "true_class" in s:
                cells += [_text(s["true_class"]), f"{s['purity']:.0%}"]
            else:
                cells += ["", ""]
        lines.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    lines.append("</table>")
    return lines


def _cluster_section(k, members, stats, info, images_dir):
    """The HTML of cluster ``k`` (writes its montages into ``images_dir``)."""
    n = members.size
    lines = [
        f"<section class='cluster' id='cluster-{k}' data-cluster='{k}'>",
        f"<h2>Cluster {k}</h2>",
    ]
    facts = [f"{n} member{'s' if n != 1 else ''} ({stats['share']:.1%} of the data)"]
    if n:
        facts.append(f"mean soft assignment p = {stats['mean_p']:.3f}")
    if "label" in stats:
        facts.append(
            f"label {stats['label']}: {stats['label_share']:.0%} of the members, "
            f"mean confidence {stats['label_confidence']:.2f}"
        )
    elif info["subject"] is not None:
        facts.append("no label yet")
    if "n_seen" in stats:
        facts.append(f"{stats['n_seen']} seen by volunteers")
    if "true_class" in stats:
        facts.append(
            f"true class {stats['true_class']} for {stats['purity']:.0%} of the members"
        )
    lines.append(f"<p>{_text('; '.join(facts))}.</p>")
    if not n:
        lines.append("<p class='note'>This cluster has no members.</p></section>")
        return lines
    order = members[np.argsort(-info["own"][members], kind="stable")]
    shown = min(info["n_members"], n)
    groups = [
        (
            "central",
            order[:shown],
            f"The {shown} most central members (largest soft assignment p to "
            "this cluster), most central first.",
        ),
        (
            "uncertain",
            order[::-1][:shown],
            f"The {shown} most uncertain members (smallest p), most uncertain "
            "first: candidates for another cluster or for a volunteer's look.",
        ),
    ]
    lines.append("<div class='figures'>")
    for kind, rows, caption in groups:
        name = f"cluster_{k}_{kind}.png"
        if info["image_shape"] is not None:
            drawn = _save_montage(
                images_dir / name, info["X"], rows, info["image_shape"], info["cmap"]
            )
        else:
            drawn = False
        if not drawn:
            _save_heatmap(images_dir / name, info["X"], rows, info["scale"])
            caption += (
                " One band per member, one column per feature: standard scores "
                f"of the data, blue below the mean, red above (saturated at "
                f"±{Z_RANGE:g})."
            )
        lines += [
            f"<figure class='{kind}'>",
            f"<img src='images/{name}' alt='{_text(f'cluster {k}: {kind} members')}'>",
            f"<figcaption>{_text(caption)}</figcaption>",
            "<details><summary>the members shown</summary><ol>",
            *(_member_line(int(i), info) for i in rows),
            "</ol></details>",
            "</figure>",
        ]
    lines += ["</div>", "</section>"]
    return lines


def _overview(model, X, labels, info, images_dir):
    """The embedding, training curves and metrics."""
    from .plotting import plot_embedding, plot_training_curves

    lines = ["<section id='overview'>", "<h2>Overview</h2>", "<div class='figures'>"]
    Z = model.transform(X)
    _save_figure(
        images_dir / "embedding.png",
        lambda fig: plot_embedding(
            Z, labels, ax=fig.subplots(), title="Embedding coloured by cluster"
        ),
        (5.5, 5.5),
    )
    lines += [
        "<figure><img src='images/embedding.png' alt='embedding coloured by cluster'>",
        f"<figcaption>{_text(_embedding_caption(Z.shape[1]))}</figcaption></figure>",
    ]
    if _has_training_history(model):
        _save_figure(
            images_dir / "training.png",
            lambda fig: plot_training_curves(model, axes=fig.subplots(1, 2)),
            (10, 4),
        )
        lines += [
            "<figure><img src='images/training.png' alt='training curves'>",
            "<figcaption>Left: the autoencoder's reconstruction loss per "
            "pretraining epoch. Right: the clustering loss and the fraction of "
            "samples changing cluster at each target update.</figcaption>"
            "</figure>",
        ]
    else:
        lines.append(
            "<p class='note'>No training curves: the model has no training history.</p>"
        )
    lines.append("</div>")
    if info["y"] is not None:
        from .metrics import clustering_report

        metrics = clustering_report(info["y"], labels)
        lines += [
            "<h3>Metrics against the true labels</h3>",
            "<table class='metrics'><tr><th>clustering accuracy</th><th>NMI</th>"
            "<th>ARI</th></tr>",
            f"<tr><td>{metrics['acc']:.3f}</td><td>{metrics['nmi']:.3f}</td>"
            f"<td>{metrics['ari']:.3f}</td></tr></table>",
        ]
    lines.append("</section>")
    return lines


def _embedding_caption(n_components):
    if n_components > 2:
        return (
            f"The {n_components}-D embedding on its first two principal "
            "components, one colour per cluster."
        )
    return "The embedding, one colour per cluster."


@validate_params(
    {
        "path": [str, os.PathLike],
        "model": "no_validation",
        "X": ["array-like"],
        "labels": ["array-like", None],
        "image_shape": ["array-like", None],
        "y": ["array-like", None],
        "subject_labels": "no_validation",
        "filenames": ["array-like", None],
        "n_members": [Interval(Integral, 1, None, closed="left")],
        "title": [str, None],
        "cmap": [str],
        "images": ["array-like", None],
    },
    prefer_skip_nested_validation=True,
)
def write_report(
    path,
    model,
    X,
    *,
    labels=None,
    image_shape=None,
    y=None,
    subject_labels=None,
    filenames=None,
    n_members=16,
    title=None,
    cmap="gray_r",
    images=None,
):
    """Write a browsable HTML report of a fitted clustering model.

    The folder ``path`` receives ``index.html`` and ``images/``: a static
    page (no server, no script, no network resource) that opens from disk.
    It shows

    - the 2-D embedding coloured by cluster
      (:func:`skdec.plotting.plot_embedding`), the training curves
      (:func:`skdec.plotting.plot_training_curves`, when the model has a
      training history) and, with ``y``, the clustering metrics
      (:func:`skdec.metrics.clustering_report`);
    - a table of the clusters and, per cluster, its size, a montage of its
      ``n_members`` most central members (largest soft assignment ``p`` to
      their cluster, from ``model.predict_proba``) and one of its
      ``n_members`` most uncertain members (smallest ``p``), with the rows,
      file names and labels of the members shown. Rows that are not images
      get a heat-map of their features instead (standard scores);
    - with ``subject_labels``, each cluster's most common label, the share
      of its members carrying it, their mean confidence and how many
      members volunteers saw; with ``y``, its most common true class.

    The report is written into a temporary folder beside ``path`` and
    renamed into place when complete: a failure leaves nothing half
    written, and an earlier report at ``path`` is replaced only by a
    complete new one.

    Parameters
    ----------
    path : str or path-like
        The report folder: new, empty, or an earlier report (replaced).
        Created with its parents.
    model : fitted DECClusterer
        Or another fitted skdec deep clusterer (``predict_proba`` and
        ``transform``), for instance after cluster surgery.
    X : array-like of shape (n_samples, n_features)
        The subjects, as the model was fitted on (the rows shown).
    labels : array-like of shape (n_samples,), default=None
        Cluster of each row, ids in ``[0, n_clusters)``; the model's
        prediction (``predict_proba(X).argmax(axis=1)``) if None.
    image_shape : tuple of int, default=None
        ``(height, width)`` or ``(channels, height, width)`` of one row; the
        model's ``image_shape`` if None. Without any, or with channels other
        than 1, 3 or 4, the members are drawn as feature heat-maps.
    y : array-like of shape (n_samples,), default=None
        True classes, when known: the metrics and each cluster's majority
        class.
    subject_labels : str, path-like or mapping, default=None
        Each row's label and confidence, for instance from volunteers' votes
        through :class:`skdec.ClusterLabelMapper`: a mapping with arrays
        ``'label'`` and ``'confidence'`` (one entry per row; label -1 for
        the unlabelled) and optionally ``'seen'`` (bool: a volunteer saw the
        subject), or the path of a ``subject_labels.csv`` with the columns
        ``row``, ``label``, ``confidence`` and optionally ``seen`` (as
        ``skdec labels`` writes it; see :func:`read_subject_labels`).
    filenames : array-like of shape (n_samples,), default=None
        Each row's file name, listed with the members shown.
    n_members : int, default=16
        Members in each montage.
    title : str, default=None
        The page's title; 'Clustering report' if None.
    cmap : str, default='gray_r'
        Matplotlib colour map of single-channel images ('gray_r' draws 1 as
        ink, 'gray' as white).
    images : array-like of shape (n_samples, n_pixels), default=None
        The rows drawn for the members, where they are not ``X``: the
        images whose features (from a pretrained network,
        :class:`skdec.FeatureExtractor`) the model was fitted on;
        ``image_shape`` is then theirs. None draws ``X``.

    Returns
    -------
    index : pathlib.Path
        The written ``index.html``.

    See Also
    --------
    screenshot_report : A picture of the written report.

    Examples
    --------
    >>> import os, tempfile
    >>> from skdec import DECClusterer, MLPAutoencoder
    >>> from skdec.datasets import load_digits
    >>> from skdec.report import write_report
    >>> X, y = load_digits(return_X_y=True)
    >>> X, y = X[:120], y[:120]
    >>> model = DECClusterer(
    ...     n_clusters=4, autoencoder=MLPAutoencoder((32,), 4, epochs=2),
    ...     init="kmeans", n_init=2, max_iter=10, update_interval=5,
    ...     image_shape=(8, 8), augment=None, random_state=0,
    ... ).fit(X)
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     index = write_report(os.path.join(folder, "report"), model, X, y=y)
    ...     print(index.name, sorted(os.listdir(index.parent / "images"))[:4])
    index.html ['cluster_0_central.png', 'cluster_0_uncertain.png', ...]
    """
    # every check that can fail before the expensive work
    check_is_fitted(model)
    X = np.asarray(X)  # no copy of an array (or a memory map)
    if X.ndim != 2 or X.shape[0] == 0:
        raise ValueError(f"X must be a non-empty 2-D array; got shape {X.shape}.")
    n_samples = X.shape[0]
    n_in = getattr(model, "n_features_in_", X.shape[1])
    if X.shape[1] != n_in:
        raise ValueError(
            f"X has {X.shape[1]} features but the model was fitted on {n_in}."
        )
    if images is None:
        images = X
    else:
        images = np.asarray(images)
        if images.ndim != 2 or images.shape[0] != n_samples:
            raise ValueError(
                f"images must be a 2-D array of {n_samples} rows, one per row "
                f"of X; got shape {images.shape}."
            )
    if image_shape is None:
        image_shape = getattr(model, "image_shape", None)
    image_shape = check_image_shape(image_shape, images.shape[1])
    if y is not None:
        y = _check_rows("y", y, n_samples)
    if filenames is not None:
        filenames = _check_rows("filenames", filenames, n_samples)
    subject = None
    if subject_labels is not None:
        subject = _check_subject_labels(subject_labels, n_samples)
    if labels is not None:
        labels = _check_rows("labels", labels, n_samples)
        if labels.dtype.kind not in "iu":
            raise ValueError(
                f"labels must be integer cluster ids; got dtype {labels.dtype}."
            )
        _check_cluster_ids(labels, getattr(model, "n_clusters_", None))
    path = _check_target(path)

    q = model.predict_proba(X)
    n_clusters = q.shape[1]
    if labels is None:
        labels = q.argmax(axis=1)
    _check_cluster_ids(labels, n_clusters)
    labels = labels.astype(np.int64)
    own = q[np.arange(n_samples), labels]
    others = q.copy()
    others[np.arange(n_samples), labels] = -1.0
    runner_up = others.argmax(axis=1) if n_clusters > 1 else np.full(n_samples, -1)
    info = {
        "X": images,
        "n_samples": n_samples,
        "own": own,
        "runner_up": runner_up,
        "q_runner": others[np.arange(n_samples), np.maximum(runner_up, 0)],
        "image_shape": image_shape,
        "cmap": cmap,
        "y": y,
        "subject": subject,
        "filenames": filenames,
        "n_members": n_members,
        "scale": None,
    }
    del others, q
    drawable = (
        image_shape is not None
        and display_images(np.zeros((1, images.shape[1])), image_shape) is not None
    )
    if not drawable:
        info["scale"] = _column_scale(images)
        info["image_shape"] = None
    title = "Clustering report" if title is None else title

    path.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
    try:
        images_dir = work / "images"
        images_dir.mkdir()
        page = _page(model, X, labels, n_clusters, info, title, images_dir)
        (work / "index.html").write_text(page, encoding="utf-8")
        _swap_into_place(work, path)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return path / "index.html"


def _page(model, X, labels, n_clusters, info, title, images_dir):
    from . import __version__

    members = [np.flatnonzero(labels == k) for k in range(n_clusters)]
    stats = [_cluster_stats(k, m, info) for k, m in enumerate(members)]
    sizes = np.bincount(labels, minlength=n_clusters)
    lines = [
        "<!DOCTYPE html>",
        "<html lang='en'>",
        "<head>",
        "<meta charset='utf-8'>",
        f"<meta name='generator' content='{GENERATOR} {_text(__version__)}'>",
        "<meta name='viewport' content='width=device-width, initial-scale=1'>",
        f"<title>{_text(title)}</title>",
        f"<style>{STYLE}</style>",
        "</head>",
        "<body>",
        f"<h1>{_text(title)}</h1>",
        "<p>"
        + _text(
            f"{info['n_samples']} subjects in {n_clusters} clusters "
            f"({int((sizes == 0).sum())} empty); "
            f"{type(model).__name__}, skdec {__version__}."
        )
        + "</p>",
        "<nav>Clusters: "
        + "".join(f"<a href='#cluster-{k}'>{k}</a>" for k in range(n_clusters))
        + "</nav>",
        *_overview(model, X, labels, info, images_dir),
        "<section id='clusters'>",
        "<h2>Clusters</h2>",
        *_summary_table(stats, info),
        "</section>",
    ]
    for k in range(n_clusters):
        lines += _cluster_section(k, members[k], stats[k], info, images_dir)
    lines += ["</body>", "</html>", ""]
    return "\n".join(lines)


def _swap_into_place(work, path):
    """Rename the finished folder ``work`` to ``path``; an earlier report at
    ``path`` is moved aside first and removed after."""
    old = None
    if path.exists():
        old = Path(tempfile.mkdtemp(prefix=f".{path.name}.old.", dir=path.parent))
        old.rmdir()
        path.rename(old)
    try:
        work.rename(path)
    except BaseException:
        if old is not None:
            old.rename(path)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def find_browser():
    """The path of a Chromium-family browser that runs headless, or None.

    Looks on ``PATH`` for ``chromium`` (Debian's package), then
    ``chromium-browser``, ``google-chrome``, ``google-chrome-stable`` and
    ``chrome``.

    Returns
    -------
    browser : str or None

    Examples
    --------
    >>> from skdec.report import find_browser
    >>> browser = find_browser()
    >>> browser is None or isinstance(browser, str)
    True
    """
    for name in BROWSERS:
        found = shutil.which(name)
        if found:
            return found
    return None


def _browser_command(browser, *args, profile):
    """The command line running ``browser`` headless with ``args``.

    Without GPU, without first-run dialogs, with its own profile folder
    ``profile`` and, as root (as in containers), without sandbox.

    Parameters
    ----------
    browser : str
        Path of the browser (:func:`find_browser`).
    *args : str
        Further arguments, for example ``--dump-dom`` and a URL.
    profile : str or path-like
        An empty folder for the browser's profile.

    Returns
    -------
    command : list of str
    """
    command = [
        browser,
        "--headless",
        "--disable-gpu",
        "--no-first-run",
        "--no-default-browser-check",
        "--hide-scrollbars",
        f"--user-data-dir={profile}",
    ]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        command.append("--no-sandbox")  # Chromium refuses to run as root without
    return command + list(args)


def _run_browser(browser, args, timeout):
    with tempfile.TemporaryDirectory() as profile:
        command = _browser_command(browser, *args, profile=profile)
        try:
            done = subprocess.run(
                command, capture_output=True, text=True, timeout=timeout, check=False
            )
        except subprocess.TimeoutExpired:
            raise RuntimeError(
                f"{Path(browser).name} did not finish within {timeout} s."
            ) from None
        except OSError as exc:  # not there, not executable
            raise FileNotFoundError(
                f"Cannot run the browser {browser!r}: {exc.strerror}."
            ) from None
    if done.returncode != 0:
        tail = "\n".join(done.stderr.strip().splitlines()[-5:])
        raise RuntimeError(
            f"{Path(browser).name} exited with status {done.returncode}:\n{tail}"
        )
    return done.stdout


def _page_height(browser, index, width, timeout):
    """The height of the report's page laid out ``width`` pixels wide,
    measured in a probe page that loads it in a frame."""
    with tempfile.TemporaryDirectory() as folder:
        probe = Path(folder) / "probe.html"
        probe.write_text(
            "<!DOCTYPE html><html><body style='margin:0'>"
            f"<iframe id='report' src='{_text(index.as_uri())}' "
            f"style='width:{width}px;height:100px;border:0'></iframe>"
            "<script>document.getElementById('report').onload = function () {"
            "var d = this.contentDocument.documentElement;"
            "document.body.setAttribute('data-height', d.scrollHeight);};"
            "</script></body></html>",
            encoding="utf-8",
        )
        dom = _run_browser(
            browser,
            [
                "--allow-file-access-from-files",
                "--virtual-time-budget=10000",
                "--dump-dom",
                probe.as_uri(),
            ],
            timeout,
        )
    marker = 'data-height="'
    if marker not in dom:
        raise RuntimeError("could not measure the report's height in the browser.")
    return int(dom.split(marker, 1)[1].split('"', 1)[0])


@validate_params(
    {
        "path": [str, os.PathLike],
        "png": [str, os.PathLike],
        "width": [Interval(Integral, 200, None, closed="left")],
        "height": [Interval(Integral, 100, None, closed="left"), None],
        "browser": [str, None],
        "timeout": [Interval(Integral, 1, None, closed="left")],
    },
    prefer_skip_nested_validation=True,
)
def screenshot_report(path, png, *, width=1200, height=None, browser=None, timeout=120):
    """Take a PNG picture of a report with a headless Chromium.

    Parameters
    ----------
    path : str or path-like
        A report folder written by :func:`write_report`, or its
        ``index.html``.
    png : str or path-like
        The picture to write.
    width : int, default=1200
        Width of the browser window, in pixels.
    height : int, default=None
        Height of the window: the top ``height`` pixels of the page. None
        takes the whole page (measured in the browser, at most 16384).
    browser : str, default=None
        Path of a Chromium-family browser; :func:`find_browser` if None.
    timeout : int, default=120
        Seconds after which each browser run is abandoned.

    Returns
    -------
    png : pathlib.Path

    Raises
    ------
    FileNotFoundError
        When there is no report at ``path`` or no browser to run (install
        Debian's ``chromium`` package, or pass ``browser``).
    RuntimeError
        When the browser fails.

    Examples
    --------
    ``python -c "from skdec.report import screenshot_report;
    screenshot_report('report', 'report.png', height=1600)"`` pictures the
    top of ``report/index.html``.
    """
    index = Path(path)
    if index.is_dir():
        index = index / "index.html"
    if not index.is_file():
        raise FileNotFoundError(f"No report at {path} (no {index}).")
    browser = browser or find_browser()
    if browser is None:
        raise FileNotFoundError(
            "No headless browser found: install Chromium (Debian: apt-get install "
            f"chromium) or pass browser=...; looked for {', '.join(BROWSERS)}."
        )
    index = index.resolve()
    if height is None:
        height = min(_page_height(browser, index, width, timeout), 16384)
    png = Path(png).resolve()
    png.parent.mkdir(parents=True, exist_ok=True)
    _run_browser(
        browser,
        [
            f"--window-size={width},{height}",
            f"--screenshot={png}",
            index.as_uri(),
        ],
        timeout,
    )
    if not png.is_file():
        raise RuntimeError(f"the browser wrote no picture at {png}.")
    return png
