"""The commands of the citizen-science workflow after ``skdec cluster``.

Each takes ``--model DIR``, a run folder (:mod:`skdec._run`), and writes its
own ``--output`` folder:

- ``skdec select``: the subjects volunteers should see, as a Zooniverse
  subject-set manifest (``manifest.csv``) with their images beside it;
- ``skdec labels``: the volunteers' votes (a Zooniverse classification
  export or a CSV of ``subject,label`` votes) aggregated, and every subject
  labelled through the cluster -> label mapping (``subject_labels.csv``);
- ``skdec finetune``: the label head trained on those labels
  (``finetune_labels.csv``, ``finetune.json``);
- ``skdec dissolve`` / ``merge`` / ``split``: cluster surgery, writing a new
  run folder and the stability report (``surgery.json``).

The manifest follows the Zooniverse uploader's conventions: the command-line
uploader (``panoptes subject-set upload-subjects``, zooniverse/panoptes-cli,
``panoptes_cli/commands/subject_set.py``) takes every column whose value
names a file beside the manifest as the subject's media and makes every
column, the file column included, a metadata field (a leading ``%`` marks an
indexed field); metadata whose name starts with ``#`` is hidden from
volunteers (Zooniverse's front end keeps its own bookkeeping in such fields,
``#subject_group_id`` for instance); and the classification export carries
each subject's metadata back in its ``subject_data`` JSON column, keyed by
the subject id (help.zooniverse.org, "Data Exports"). So ``#row``, the
subject's row in the data, comes back with every classification and the
votes map to rows without guessing from file names.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import warnings
from pathlib import Path

import numpy as np

from ._cli_params import UsageError, add_class_options, class_params
from ._images import display_images
from ._run import (
    RUN_FILE,
    load_run,
    read_labels_csv,
    run_record,
    staged,
    write_run,
)
from ._uploads import IMAGE_FORMATS, MAX_BYTES

__all__ = ["add_workflow_commands"]

MANIFEST_FILE = "manifest.csv"
SUBJECT_LABELS_FILE = "subject_labels.csv"
#: the manifest's hidden metadata: the row in the data, the cluster, the file
ROW_FIELD, CLUSTER_FIELD, FILENAME_FIELD = "#row", "#cluster", "#filename"
IMAGE_FIELD = "image"  # the manifest column naming each subject's image file
#: subject metadata that may name a subject's file, tried in this order
FILE_FIELDS = (
    FILENAME_FIELD,
    "filename",
    "Filename",
    "file_name",
    "#file_name",
    "image_name",
    IMAGE_FIELD,
    "#image",
)
#: the suffixes of the images ``select`` writes (of an earlier selection too)
UPLOADABLE_SUFFIXES = (".png", ".jpg", ".jpeg", ".gif")
MIN_IMAGE_SIDE = 128  # rendered subject images are enlarged to this many pixels
# a Zooniverse classification export holds these columns (read_zooniverse_export)
EXPORT_COLUMNS = ("classification_id", "user_name", "subject_ids", "annotations")
VOTE_COLUMNS = ("subject", "label")  # a plain CSV of votes; volunteer optional
_UNKNOWN_INT, _UNKNOWN_STR = -1, ""


def _say(args, message: str):
    """A progress line, unless ``--quiet``."""
    if not args.quiet:
        print(f"skdec: {message}", flush=True)


def _output(args, run) -> Path:
    """The ``--output`` folder; by default the command's name inside the run
    folder (``RUN/select``, ``RUN/labels``, ...)."""
    if args.output is None:
        return run.path / args.command
    out = Path(args.output).expanduser()
    if out.resolve() == run.path.resolve():
        raise UsageError(
            f"--output {out} is the --model folder; write to a new folder."
        )
    return out


def _load(args):
    _say(args, f"reading the run folder {args.model}")
    run = load_run(args.model, quiet=args.quiet)
    _say(
        args,
        f"{run.info['dataset']}: {len(run.X)} subjects in "
        f"{run.model.n_clusters_} clusters",
    )
    return run


def _row_columns(run, rows):
    """``row[,filename]`` of each of ``rows``, the columns every output starts with."""
    header = ["row"] + (["filename"] if run.filenames is not None else [])
    values = [
        [int(r)] + ([run.filenames[r]] if run.filenames is not None else [])
        for r in rows
    ]
    return header, values


def _write_csv(path: Path, header, rows):
    with path.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)


def _write_json(path: Path, record: dict):
    path.write_text(json.dumps(record, indent=2, default=_json_default) + "\n")


def _json_default(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def _as_labels(values):
    """Label values read as text: ints when every one is an integer."""
    try:
        return np.array([int(v) for v in values], dtype=np.int64)
    except (TypeError, ValueError):
        return np.array([str(v) for v in values])


def _accuracy(predicted, truth, mask):
    """Share of ``mask`` where ``predicted`` equals ``truth`` (compared as
    text); None when the mask is empty or no predicted value is a true one
    (labels of another vocabulary, say answer indices against class names)."""
    if truth is None or not mask.any():
        return None
    p = np.asarray(predicted).astype(str)[mask]
    t = np.asarray(truth).astype(str)[mask]
    if not np.isin(p, t).any():
        return None
    return round(float(np.mean(p == t)), 4)


# ------------------------------------------------------------------- select
def _select_rows(run, Q, args, excluded):
    """The rows to show volunteers, in the order chosen, none of
    ``excluded`` (a boolean mask of the rows shown before)."""
    from ._query import select_queries

    rng = np.random.RandomState(args.seed)
    soft = args.strategy in ("central", "uncertain")
    clusters = Q if soft else run.labels  # 'random', 'stratified': the run's ids
    if not args.per_cluster:
        exclude = np.flatnonzero(excluded) if excluded.any() else None
        return select_queries(
            clusters, args.budget, args.strategy, exclude=exclude, random_state=rng
        )
    chosen = []
    for k in range(int(run.model.n_clusters_)):
        members = np.flatnonzero((run.labels == k) & ~excluded)
        if members.size == 0:
            continue
        if members.size < args.budget:
            _say(args, f"cluster {k} has {members.size} subjects: all are selected")
        others = np.flatnonzero((run.labels != k) | excluded)
        chosen.append(
            select_queries(
                clusters,
                min(args.budget, members.size),
                args.strategy,
                exclude=others,
                random_state=rng,
            )
        )
    if not chosen:
        raise ValueError("every subject is excluded: none is left to select.")
    return np.concatenate(chosen)


def _excluded_rows(args, run):
    """The rows that ``--exclude`` files say were shown before: the subjects
    of a manifest (``#row``, or ``#filename`` for an image folder), those a
    ``subject_labels.csv`` marks seen, those of a classification export;
    a boolean mask of the run's rows."""
    excluded = np.zeros(len(run.X), dtype=bool)
    index = _file_index(run)
    for name in args.exclude or ():
        path = Path(name).expanduser()
        if not path.is_file():
            raise FileNotFoundError(f"No such --exclude file: {path}")
        with path.open(newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh)
            header = [h.lstrip("%") for h in reader.fieldnames or []]
            lines = [
                (reader.line_num, {k.lstrip("%"): v for k, v in line.items() if k})
                for line in reader
            ]
        if all(c in header for c in EXPORT_COLUMNS):
            wanted = {
                (line.get("classification_id") or "").strip() for _, line in lines
            }
            rows = list(_export_rows(path, wanted, ROW_FIELD, run).values())
        elif ROW_FIELD in header or FILENAME_FIELD in header:
            rows = [_manifest_row(path, n, line, run, index) for n, line in lines]
        elif {"row", "seen"} <= set(header):
            rows = []
            for n, line in lines:
                if (line.get("seen") or "").strip() == "1":
                    rows.append(_manifest_row(path, n, line, run, index, "row"))
        else:
            raise ValueError(
                f"--exclude {path.name} is neither a manifest of skdec select "
                f"({ROW_FIELD} or {FILENAME_FIELD}), a subject_labels.csv (row, "
                f"seen) nor a classification export; its header is {header}."
            )
        excluded[rows] = True
    return excluded


def _manifest_row(path, line_num, line, run, index, field=ROW_FIELD):
    """The run's row of one subject of a file of an earlier round: by file
    name where both have them (rows of another run may differ), else by
    ``field``; a ValueError naming the file and line otherwise."""
    where = f"{path.name}, line {line_num}"
    name = (line.get(FILENAME_FIELD) or line.get("filename") or "").strip()
    if name and index:
        if name not in index:
            raise ValueError(f"{where}: {name!r} is not a file of the run.")
        return index[name]
    try:
        row = int(line.get(field) or "")
    except ValueError:
        raise ValueError(f"{where}: no {field} or file name of the run.") from None
    if not 0 <= row < len(run.X):
        raise ValueError(f"{where}: row {row} is not a row of the run.")
    return row


def _subject_image(image, cmap):
    """One subject's image (``(H, W)`` or ``(H, W, C)``, from
    :func:`display_images`) as an 8-bit PIL image, enlarged (nearest
    neighbour) so that its longer side has at least MIN_IMAGE_SIDE pixels."""
    from PIL import Image

    image = np.asarray(image, dtype=np.float64)
    if image.ndim == 2:
        low, high = image.min(), image.max()
        image = (image - low) / (high - low) if high > low else image * 0
        if cmap == "gray_r":  # 1 is ink: dark on white, as the montages draw it
            image = 1 - image
    pixels = np.clip(np.round(image * 255), 0, 255).astype(np.uint8)
    picture = Image.fromarray(pixels)
    scale = math.ceil(MIN_IMAGE_SIDE / max(picture.size))
    if scale > 1:
        size = (picture.size[0] * scale, picture.size[1] * scale)
        picture = picture.resize(size, Image.Resampling.NEAREST)
    return picture


def _write_subject_images(folder: Path, run, rows, args):
    """The images of ``rows`` in ``folder``, ``subject_<row>.<ext>``: for an
    image folder, made from each subject's original file (copied when the
    uploader takes it as it is, else re-encoded and scaled down to fit
    ``--max-bytes``); for other input, the row's pixels drawn as PNG; None
    when the rows are not drawable images."""
    from ._uploads import upload_image

    names = {}
    root = run.images_root
    if root is not None:
        scaled = 0
        for r in rows:
            source = root / run.filenames[r]
            try:
                names[r], scale = upload_image(
                    source,
                    folder,
                    f"subject_{r}",
                    max_bytes=args.max_bytes,
                    image_format=args.image_format,
                )
            except (OSError, ValueError) as exc:
                raise type(exc)(f"{exc} (row {r} of the run)") from None
            scaled += scale < 1
        if scaled:
            _say(args, f"{scaled} images scaled down to fit {args.max_bytes} bytes")
        return names
    rest = list(rows)
    if run.image_shape is None:
        return None
    images = display_images(run.images[rest], run.image_shape)
    if images is None:
        return None
    for r, image in zip(rest, images):
        names[r] = f"subject_{r}.png"
        _subject_image(image, run.cmap).save(folder / names[r])
    return names


def select(args):
    """``skdec select``: a Zooniverse subject-set manifest of the subjects
    volunteers should see, with their images."""
    run = _load(args)
    out = _output(args, run)
    excluded = _excluded_rows(args, run)
    if excluded.any():
        _say(args, f"{int(excluded.sum())} subjects shown before are excluded")
    Q = run.model.predict_proba(run.X)
    rows = _select_rows(run, Q, args, excluded)
    per_cluster = np.bincount(run.labels[rows], minlength=run.model.n_clusters_)
    _say(
        args,
        f"selected {len(rows)} subjects ({args.strategy}"
        f"{', per cluster' if args.per_cluster else ''}): "
        + ", ".join(f"{k}: {n}" for k, n in enumerate(per_cluster.tolist())),
    )
    stale = [f"subject_*{suffix}" for suffix in UPLOADABLE_SUFFIXES]
    with staged(out, stale=stale) as folder:
        names = _write_subject_images(folder, run, rows, args)
        header = ([IMAGE_FIELD] if names is not None else []) + [
            ROW_FIELD,
            CLUSTER_FIELD,
        ]
        if run.filenames is not None:
            header.append(FILENAME_FIELD)
        lines = []
        for r in rows:
            line = ([names[r]] if names is not None else []) + [
                int(r),
                int(run.labels[r]),
            ]
            if run.filenames is not None:
                line.append(run.filenames[r])
            lines.append(line)
        _write_csv(folder / MANIFEST_FILE, header, lines)
        _write_json(
            folder / "selection.json",
            {
                "model": str(run.path.resolve()),
                "strategy": args.strategy,
                "budget": args.budget,
                "per_cluster": args.per_cluster,
                "seed": args.seed,
                "n_subjects": len(rows),
                "subjects_per_cluster": per_cluster.tolist(),
                "excluded": [str(Path(p).expanduser()) for p in args.exclude or ()],
                "n_excluded": int(excluded.sum()),
                "max_bytes": args.max_bytes,
                "image_format": args.image_format,
            },
        )
    if names is None:
        print(
            f"skdec: wrote {out / MANIFEST_FILE} ({len(rows)} subjects) without "
            "images: the rows are not drawable images; add a column naming "
            "each subject's media file before uploading"
        )
    else:
        print(
            f"skdec: wrote {out / MANIFEST_FILE} and {len(rows)} images beside it; "
            "upload them with: panoptes subject-set upload-subjects "
            f"SUBJECT_SET_ID {out / MANIFEST_FILE}"
        )


# ------------------------------------------------------------------- labels
def _file_index(run):
    """``{file name: row}`` of an image folder's run: the relative paths, and
    the bare names that only one file has (None without file names)."""
    if run.filenames is None:
        return None
    index = {str(f): i for i, f in enumerate(run.filenames)}
    bare = {}
    for f, i in index.items():
        name = f.rsplit("/", 1)[-1]
        bare[name] = None if name in bare else i
    for name, i in bare.items():
        if i is not None:
            index.setdefault(name, i)
    return index


def _row_of_file(meta: dict, index):
    """The row whose file one of the metadata's file fields names (the
    manifest's ``#filename``, or a team's own ``filename`` / ``image``
    column), or None."""
    if not index:
        return None
    for field in FILE_FIELDS:
        name = meta.get(field)
        if isinstance(name, str) and name.strip():
            name = name.strip().replace("\\", "/")
            row = index.get(name, index.get(name.rsplit("/", 1)[-1]))
            if row is not None:
                return row
    return None


def _export_rows(path: Path, wanted, row_field, run):
    """``{subject id: row}`` from the ``subject_data`` of the export lines
    whose ``classification_id`` is in ``wanted``: the row the subject's
    ``row_field`` holds or, without it, the row of the file its metadata
    names; a ValueError naming the line of a subject that does not map to a
    row of the run."""
    n = len(run.X)
    rows = {}
    index = _file_index(run)
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        if "subject_data" not in (reader.fieldnames or []):
            raise ValueError(
                f"{path} lacks the subject_data column, which carries each "
                f"subject's {row_field!r} back to its row."
            )
        for line in reader:
            if (line.get("classification_id") or "").strip() not in wanted:
                continue
            where = f"{path.name}, line {reader.line_num}"
            sid = line["subject_ids"].strip()
            try:
                data = json.loads(line["subject_data"] or "")
            except json.JSONDecodeError as exc:
                raise ValueError(
                    f"{where}: subject_data is not valid JSON ({exc.msg})."
                ) from None
            meta = data.get(sid) if isinstance(data, dict) else None
            if not isinstance(meta, dict):
                raise ValueError(
                    f"{where}: subject_data holds no object for subject {sid}."
                )
            value = meta.get(row_field)
            if value is None:
                row = _row_of_file(meta, index)
                if row is None:
                    files = " or a file name of the run" if index else ""
                    raise ValueError(
                        f"{where}: subject {sid} has no {row_field!r}{files} in "
                        f"its subject_data; was its subject set uploaded from "
                        f"the {MANIFEST_FILE} of skdec select?"
                    )
                if rows.setdefault(sid, row) != row:
                    raise ValueError(
                        f"{where}: subject {sid} is row {row} here and row "
                        f"{rows[sid]} on an earlier line."
                    )
                continue
            try:
                row = int(value)
            except (TypeError, ValueError):
                raise ValueError(
                    f"{where}: subject {sid} has {row_field}={value!r}, not a row."
                ) from None
            if not 0 <= row < n:
                raise ValueError(
                    f"{where}: subject {sid} is row {row}, but the run has {n} "
                    "rows: is the export from another run?"
                )
            name = meta.get(FILENAME_FIELD)
            if name is not None and run.filenames is not None:
                if name != run.filenames[row]:
                    raise ValueError(
                        f"{where}: subject {sid} is {name!r} but row {row} of "
                        f"the run is {run.filenames[row]!r}: is the export from "
                        "another run?"
                    )
            if rows.setdefault(sid, row) != row:
                raise ValueError(
                    f"{where}: subject {sid} is row {row} here and row "
                    f"{rows[sid]} on an earlier line."
                )
    return rows


def _answer_names(args):
    """The answer names of ``--answers`` or ``--workflow`` (with
    ``--workflow-contents``), or None."""
    from ._votes import read_answer_names, read_workflow_answers

    if args.workflow_contents is not None and args.workflow is None:
        raise ValueError(
            "--workflow-contents names the texts of a workflows export's "
            "tasks: give that export too (--workflow)."
        )
    if args.answers is not None:
        path = Path(args.answers).expanduser()
        if not path.is_file():
            raise FileNotFoundError(f"No such answers file: {path}")
        return read_answer_names(path)
    if args.workflow is not None:
        path = Path(args.workflow).expanduser()
        if not path.is_file():
            raise FileNotFoundError(f"No such workflows export: {path}")
        contents = args.workflow_contents
        if contents is not None:
            contents = Path(contents).expanduser()
            if not contents.is_file():
                raise FileNotFoundError(f"No such workflow contents export: {contents}")
        return read_workflow_answers(
            path,
            args.task,
            workflow_id=args.workflow_id,
            workflow_version=args.workflow_version,
            contents=contents,
        )
    return None


def _read_export(path: Path, args, run):
    from ._votes import read_zooniverse_export

    names = _answer_names(args)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # reported below
        try:
            votes, report = read_zooniverse_export(
                path,
                args.task,
                answers=names,
                workflow_id=args.workflow_id,
                workflow_version=args.workflow_version,
                repeats=args.repeats,
                experts=args.experts,
                on_error=args.on_error,
                return_report=True,
            )
        except ValueError as exc:
            message = str(exc).replace("pass on_error='skip'", "pass --on-error skip")
            raise ValueError(message) from None
    if report.n_skipped:
        reasons = {}
        for *_, reason in report.skipped:
            reasons[reason] = reasons.get(reason, 0) + 1
        _say(
            args,
            f"skipped {report.n_skipped} of {report.n_rows} rows: "
            + "; ".join(f"{n} {reason}" for reason, n in reasons.items()),
        )
    wanted = set(votes["classification_id"].tolist())
    rows = _export_rows(path, wanted, args.row_field, run)
    subject = np.array([rows[str(s)] for s in votes["subject"]], dtype=np.int64)
    return {
        "subject": subject,
        "volunteer": votes["volunteer"],
        "label": votes["label"],
    }


def _read_plain_votes(path: Path, run):
    """A CSV of ``subject,label[,volunteer]`` votes; ``subject`` is the row,
    or the file name of an image folder's subject."""
    n = len(run.X)
    index = _file_index(run)
    subject, label, volunteer = [], [], []
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        has_volunteer = "volunteer" in reader.fieldnames
        for line in reader:
            where = f"{path.name}, line {reader.line_num}"
            if None in line:
                raise ValueError(f"{where}: more fields than the header.")
            subject_text = (line["subject"] or "").strip()
            try:
                row = int(subject_text)
            except ValueError:
                row = _row_of_file({FILENAME_FIELD: subject_text}, index)
                if row is None:
                    files = " nor a file of the run" if index else ""
                    raise ValueError(
                        f"{where}: subject {subject_text!r} is not a row number{files}."
                    ) from None
            if not 0 <= row < n:
                raise ValueError(
                    f"{where}: vote for subject {row}, which is not a row of "
                    f"the run ({n} rows)."
                )
            value = (line["label"] or "").strip()
            if not value:
                raise ValueError(f"{where}: empty label.")
            subject.append(row)
            label.append(value)
            # without a volunteer column every vote is a volunteer of its own
            volunteer.append(
                line["volunteer"] if has_volunteer else f"vote-{reader.line_num}"
            )
    if not subject:
        raise ValueError(f"{path} holds no vote.")
    return {
        "subject": np.array(subject, dtype=np.int64),
        "volunteer": np.array(volunteer),
        "label": _as_labels(label),
    }


def read_votes(path, args, run):
    """The votes of ``path`` as a vote table whose subjects are rows of the run,
    and the format found: 'zooniverse' (a classification export, recognised by
    its columns) or 'plain' (a CSV with the columns ``subject`` (the row, as
    ``#row`` of the manifest), ``label`` and optionally ``volunteer``)."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise FileNotFoundError(f"No such votes file: {path}")
    with path.open(newline="", encoding="utf-8") as fh:
        header = next(csv.reader(fh), [])
    if all(c in header for c in EXPORT_COLUMNS):
        return _read_export(path, args, run), "zooniverse"
    if all(c in header for c in VOTE_COLUMNS):
        return _read_plain_votes(path, run), "plain"
    raise ValueError(
        f"{path.name} is neither a Zooniverse classification export (columns "
        f"{', '.join(EXPORT_COLUMNS)}, subject_data) nor a CSV of votes (columns "
        f"subject,label[,volunteer]); its header is {header}."
    )


def labels(args):
    """``skdec labels``: a label for every subject, from the volunteers' votes
    and the cluster -> label mapping."""
    from ._labels import ClusterLabelMapper
    from ._votes import aggregate_votes

    run = _load(args)
    out = _output(args, run)
    votes, kind = read_votes(args.votes, args, run)
    n = len(run.X)
    numeric = votes["label"].dtype.kind in "iu"
    unknown = _UNKNOWN_INT if numeric else _UNKNOWN_STR
    if np.any(votes["label"] == unknown):
        raise ValueError(
            f"A vote has the label {unknown!r}, which marks unlabelled subjects."
        )
    _say(
        args,
        f"{len(votes['subject'])} votes from {len(np.unique(votes['volunteer']))} "
        f"volunteers on {len(np.unique(votes['subject']))} subjects ({kind}); "
        f"aggregation: {args.aggregation or _aggregations()[1]}",
    )
    method = args.aggregation or _aggregations()[1]  # aggregate_votes' default
    aggregated = aggregate_votes(
        votes, method, subjects=np.arange(n), unknown_label=unknown
    )
    seen = aggregated.n_votes > 0
    mapper = ClusterLabelMapper(
        args.mapping,
        unknown_label=unknown,
        cluster_centers=run.model.cluster_centers_,
    ).fit(run.labels, aggregated.labels, sample_weight=aggregated.confidence)
    mapped = mapper.predict(run.labels)
    label = np.where(seen, aggregated.labels, mapped)
    confidence = np.where(seen, aggregated.confidence, mapper.confidence_[run.labels])
    header, values = _row_columns(run, range(n))
    header += ["label", "confidence", "cluster", "seen", "votes", "mapped_label"]
    if run.y is not None:
        header.append("true_label")
    for r, line in enumerate(values):
        line += [
            label[r],
            round(float(confidence[r]), 4),
            int(run.labels[r]),
            int(seen[r]),
            int(aggregated.n_votes[r]),
            mapped[r],
        ]
        if run.y is not None:
            line.append(run.y[r])
    sizes = np.bincount(run.labels, minlength=mapper.n_clusters_)
    summary = {
        "model": str(run.path.resolve()),
        "votes": str(Path(args.votes).expanduser().resolve()),
        "format": kind,
        "task": args.task if kind == "zooniverse" else None,
        "export_filters": {
            "workflow_id": args.workflow_id,
            "workflow_version": args.workflow_version,
            "repeats": args.repeats,
            "experts": args.experts,
        }
        if kind == "zooniverse"
        else None,
        "answer_names": args.answers or args.workflow,
        "workflow_contents": args.workflow_contents,
        "aggregation": method,
        # what 'auto' chose (majority or a Dawid-Skene model), None otherwise
        "aggregation_model": aggregated.get("model"),
        "mapping": args.mapping,
        "n_votes": int(len(votes["subject"])),
        "n_volunteers": int(len(np.unique(votes["volunteer"]))),
        "n_subjects": n,
        "n_seen": int(seen.sum()),
        "clusters": [
            {
                "cluster": k,
                "size": int(sizes[k]),
                "label": mapper.mapping_[k],
                "confidence": round(float(mapper.confidence_[k]), 4),
                "n_seen": int(mapper.n_labelled_[k]),
                "from_nearest_cluster": bool(k in mapper.fallback_clusters_),
            }
            for k in range(mapper.n_clusters_)
        ],
    }
    if run.y is not None:
        summary["accuracy"] = {
            "seen": _accuracy(label, run.y, seen),
            "unseen": _accuracy(label, run.y, ~seen),
            "all": _accuracy(label, run.y, np.ones(n, dtype=bool)),
        }
    with staged(out) as folder:
        _write_csv(folder / SUBJECT_LABELS_FILE, header, values)
        _write_json(folder / "labels.json", summary)
    line = f"skdec: {int(seen.sum())} subjects labelled by volunteers, {n} in all"
    if run.y is not None and summary["accuracy"]["unseen"] is not None:
        line += f"; accuracy on the unseen: {summary['accuracy']['unseen']:.3f}"
    print(line)
    print(f"skdec: wrote {out / SUBJECT_LABELS_FILE}, {out / 'labels.json'}")


# ----------------------------------------------------------------- finetune
def read_subject_labels(path, run):
    """``subject_labels.csv`` of ``skdec labels`` for the run: the rows'
    labels (as text), whether volunteers saw them, their mapped labels."""
    path = Path(path).expanduser()
    required = ("row", "label", "seen", "mapped_label")
    header, rows = read_labels_csv(path, required)
    n = len(run.X)
    if len(rows) != n or any(r["row"] != str(i) for i, r in enumerate(rows)):
        raise ValueError(
            f"{path} does not list the {n} rows of the run 0 to {n - 1} in "
            "order: was it written for another run?"
        )
    try:
        seen = np.array([bool(int(r["seen"])) for r in rows])
    except ValueError:
        raise ValueError(f"{path}: the column seen must hold 0 or 1.") from None
    if not seen.any():
        raise ValueError(f"{path}: no subject was seen by volunteers.")
    label = _as_labels([r["label"] for r in rows])
    mapped = _as_labels([r["mapped_label"] for r in rows])
    return label, seen, mapped


def _encode(label, seen):
    """Class ids of the seen labels, -1 for the others, and the classes."""
    classes, idx = np.unique(label[seen], return_inverse=True)
    y = np.full(len(label), -1, dtype=np.int64)
    y[seen] = idx
    return y, classes


def finetune(args):
    """``skdec finetune``: the label head trained on the volunteers' labels,
    compared with the mapping alone."""
    from sklearn.frozen import FrozenEstimator

    from ._head import LabelHeadClassifier

    run = _load(args)
    out = _output(args, run)
    label, seen, mapped = read_subject_labels(args.labels, run)
    y, classes = _encode(label, seen)
    _say(
        args,
        f"training the label head on {int(seen.sum())} labelled subjects "
        f"({len(classes)} classes)",
    )
    head = LabelHeadClassifier(
        dec=FrozenEstimator(run.model),
        random_state=args.seed,
        verbose=0 if args.quiet else 1,
        **class_params(args, "head"),
    ).fit(run.X, y)
    proba = head.predict_proba(run.X)
    predicted = classes[np.argmax(proba, axis=1)]
    confidence = proba.max(axis=1)
    n = len(run.X)
    header, values = _row_columns(run, range(n))
    header += ["label", "confidence", "cluster", "seen", "mapped_label"]
    if run.y is not None:
        header.append("true_label")
    for r, line in enumerate(values):
        line += [
            predicted[r],
            round(float(confidence[r]), 4),
            int(run.labels[r]),
            int(seen[r]),
            mapped[r],
        ]
        if run.y is not None:
            line.append(run.y[r])
    same = predicted.astype(str) == mapped.astype(str)
    report = {
        "model": str(run.path.resolve()),
        "labels": str(Path(args.labels).expanduser().resolve()),
        "n_subjects": n,
        "n_seen": int(seen.sum()),
        "classes": classes.tolist(),
        "n_epochs": int(head.n_epochs_),
        "best_epoch": int(head.best_epoch_),
        "agreement_with_mapping": {
            "all": round(float(same.mean()), 4),
            "unseen": round(float(same[~seen].mean()), 4) if (~seen).any() else None,
        },
    }
    if run.y is not None:
        report["accuracy_on_unseen"] = {
            "mapping": _accuracy(mapped, run.y, ~seen),
            "finetune": _accuracy(predicted, run.y, ~seen),
        }
    with staged(out) as folder:
        _write_csv(folder / "finetune_labels.csv", header, values)
        _write_json(folder / "finetune.json", report)
    line = (
        f"skdec: the label head agrees with the mapping on "
        f"{report['agreement_with_mapping']['all']:.1%} of the subjects"
    )
    accuracy = report.get("accuracy_on_unseen", {})
    if accuracy.get("finetune") is not None:
        line += (
            f"; accuracy on the unseen: {accuracy['finetune']:.3f} "
            f"(mapping alone {accuracy['mapping']:.3f})"
        )
    print(line)
    print(f"skdec: wrote {out / 'finetune_labels.csv'}, {out / 'finetune.json'}")


# ------------------------------------------------------------------- report
def report(args):
    """``skdec report``: the browsable HTML page of a run folder
    (:func:`skdec.report.write_report`)."""
    from .report import write_report

    run = _load(args)
    out = _output(args, run)
    _say(args, f"writing the report into {out}")
    page = write_report(
        out,
        run.model,
        run.X,
        labels=run.labels,
        image_shape=run.image_shape,
        y=run.y,
        subject_labels=args.labels,
        filenames=run.filenames,
        n_members=args.n_members,
        title=args.title or f"skdec: {run.info['dataset']}",
        cmap=run.cmap,
        images=run.images,
    )
    print(f"skdec: wrote {page} (open it in a browser)")


# ------------------------------------------------------------------ surgery
def _surgery_report(report, model, y):
    """``surgery.json``: the report of the surgery function, its per-sample
    labels left out (they are the ``labels.csv`` of the two run folders)."""
    from .metrics import clustering_report

    record = {
        k: v
        for k, v in report.items()
        if k not in ("labels_before", "labels_surgery", "labels_after")
    }
    record["sizes_before"] = np.bincount(
        report["labels_before"], minlength=report["n_clusters_before"]
    ).tolist()
    record["sizes_after"] = np.bincount(
        report["labels_after"], minlength=report["n_clusters_after"]
    ).tolist()
    if y is not None:
        record["metrics"] = clustering_report(y, report["labels_after"])
    return record


def _split_labels(args, run):
    """``y`` for a split by the volunteers' labels (``--labels``), or None."""
    if getattr(args, "labels", None) is None:
        return None
    label, seen, _ = read_subject_labels(args.labels, run)
    return _encode(label, seen)[0]


def _surgery(args, operation):
    from ._surgery import dissolve_cluster, merge_clusters

    run = _load(args)
    out = _output(args, run)
    model = run.model
    model.set_params(verbose=0 if args.quiet else 1)
    common = dict(
        refine_iter=args.refine_iter, random_state=args.seed, return_report=True
    )
    if operation == "merge":
        _say(args, f"merging clusters {', '.join(map(str, args.clusters))}")
        new, report = merge_clusters(model, list(args.clusters), run.X, **common)
    else:
        strategy = "split" if operation == "split" else args.strategy
        y = _split_labels(args, run)
        if y is not None and strategy != "split":
            raise UsageError("--labels applies to --strategy split only.")
        _say(args, f"{strategy} cluster {args.cluster}")
        new, report = dissolve_cluster(
            model, args.cluster, strategy, run.X, y=y, **common
        )
    record = run_record(
        operation,
        run.input_record(),
        new,
        run.X,
        name=run.info["dataset"],
        has_labels=run.y is not None,
        image_shape=run.image_shape,
        cmap=run.cmap,
        parent=run.path,
        folder=out,
        pixel_cache=run.absolute("pixel_cache"),
        features=run.features_record(),
    )
    surgery = _surgery_report(report, new, run.y)
    with staged(out) as folder:
        embedding = new.transform(run.X)
        write_run(folder, new, embedding, new.labels_, run.y, run.filenames, record)
        _write_json(folder / "surgery.json", surgery)
    print(
        f"skdec: {report['n_clusters_before']} -> {report['n_clusters_after']} "
        f"clusters; {surgery['stability']:.1%} of the other subjects kept their "
        "cluster"
    )
    print(f"skdec: wrote the run folder {out} (surgery.json, {RUN_FILE}, ...)")


def dissolve(args):
    """``skdec dissolve``: delete, re-initialise or split one cluster."""
    _surgery(args, "dissolve")


def merge(args):
    """``skdec merge``: merge clusters into one."""
    _surgery(args, "merge")


def split(args):
    """``skdec split``: split one cluster in two."""
    _surgery(args, "split")


# ------------------------------------------------------------------- parser
def _cluster_ids(text: str) -> list[int]:
    try:
        ids = [int(v) for v in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated cluster ids, got {text!r}"
        ) from None
    if len(ids) < 2:
        raise argparse.ArgumentTypeError(f"expected at least two ids, got {text!r}")
    return ids


def _size(text: str) -> int:
    from ._uploads import parse_size

    try:
        return parse_size(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def _non_negative(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {text!r}")
    return value


def _aggregations():
    """The methods ``aggregate_votes`` accepts, and its default."""
    import inspect

    from ._votes import aggregate_votes

    constraint = aggregate_votes._skl_parameter_constraints["method"][0]
    default = inspect.signature(aggregate_votes).parameters["method"].default
    return sorted(constraint.options), default


def _common(p, output_help):
    command = p.prog.split()[-1]
    p.add_argument(
        "--model",
        required=True,
        metavar="DIR",
        help="a run folder: the --output of skdec cluster (or of a surgery command)",
    )
    p.add_argument(
        "--output",
        metavar="DIR",
        help=f"{output_help} (default: {command}/ inside the --model folder)",
    )
    p.add_argument("--quiet", action="store_true", help="no progress output")


def _surgery_options(p):
    p.add_argument(
        "--refine-iter",
        type=_non_negative,
        metavar="N",
        help="DEC self-training iterations after the surgery (default 3 x the "
        "model's update interval; 0: none)",
    )
    p.add_argument(
        "--seed",
        type=int,
        default=0,
        help="random_state of the surgery (k-means of a split, the "
        "re-initialised centre, the refinement; default 0)",
    )


def add_workflow_commands(sub) -> None:
    """Add ``select``, ``labels``, ``finetune``, ``report``, ``dissolve``,
    ``merge`` and ``split`` to the sub-command parsers ``sub``; each sets
    ``run``."""
    from ._head import LabelHeadClassifier
    from ._labels import ClusterLabelMapper
    from ._query import QUERY_STRATEGIES
    from ._surgery import STRATEGIES

    p = sub.add_parser(
        "select",
        help="choose the subjects volunteers should see (a Zooniverse manifest)",
        description="Write a Zooniverse subject-set manifest (manifest.csv: an "
        "image column, then hidden metadata #row, #cluster and, for an image "
        "folder, #filename) with the subjects' images beside it, ready for "
        "'panoptes subject-set upload-subjects'.",
    )
    _common(p, "folder for manifest.csv, the images and selection.json")
    p.add_argument(
        "--budget", type=_positive, required=True, metavar="N", help="subjects in all"
    )
    p.add_argument(
        "--per-cluster",
        action="store_true",
        help="the budget is per cluster (a smaller cluster gives all its subjects)",
    )
    p.add_argument(
        "--strategy",
        choices=QUERY_STRATEGIES,
        default="central",
        help="central: the most typical members of each cluster (default); "
        "uncertain: the least certain assignments; stratified: at random, "
        "cluster by cluster; random: at random",
    )
    p.add_argument("--seed", type=int, default=0, help="for the random choices")
    p.add_argument(
        "--exclude",
        action="append",
        metavar="FILE",
        help="never select the subjects of this file of an earlier round: a "
        "manifest.csv, a subject_labels.csv (its seen subjects) or a "
        "classification export; matched by file name for an image folder, "
        "else by row (repeat the option for several files)",
    )
    p.add_argument(
        "--max-bytes",
        type=_size,
        default=MAX_BYTES,
        metavar="SIZE",
        help="the largest image file to write (bytes, or with KB, KiB, MB, "
        "MiB): larger originals are scaled down to fit (default 1MiB, the "
        "Zooniverse uploader's limit)",
    )
    p.add_argument(
        "--image-format",
        choices=IMAGE_FORMATS,
        default="auto",
        help="the format of re-encoded images: auto keeps JPEG as JPEG and "
        "makes the others PNG (default); an original that the uploader "
        "takes and that fits --max-bytes is copied as it is",
    )
    p.set_defaults(run=select)

    methods, default = _aggregations()
    p = sub.add_parser(
        "labels",
        help="label every subject from volunteers' votes",
        description="Read volunteers' votes, aggregate them per subject, map "
        "clusters to labels and write subject_labels.csv (one row per subject: "
        "row, filename, label, confidence, cluster, seen, votes, mapped_label) "
        "and labels.json. The votes are a Zooniverse classification export "
        "(its subject_data carries the #row of the manifest back) or a CSV "
        "with the columns subject (the row), label and optionally volunteer; "
        "the format is recognised by the header.",
    )
    _common(p, "folder for subject_labels.csv and labels.json")
    p.add_argument(
        "--votes", required=True, metavar="CSV", help="the export or CSV of votes"
    )
    p.add_argument(
        "--task",
        default="T0",
        help="the id of the question (single or multiple answer) or survey "
        "task, the 'task' of the export's annotations (default T0)",
    )
    names = p.add_mutually_exclusive_group()
    names.add_argument(
        "--answers",
        metavar="FILE",
        help="answer names: a CSV with the columns answer,name (answer index "
        "or survey choice id) or a JSON object; default: the answers as "
        "recorded (a question's answer indices)",
    )
    names.add_argument(
        "--workflow",
        metavar="CSV",
        help="the project's workflows export, whose task definition names the "
        "answers (read_workflow_answers)",
    )
    p.add_argument(
        "--workflow-contents",
        metavar="CSV",
        help="the project's workflow contents export, which holds the texts "
        "of --workflow's tasks where that export names them by keys such as "
        "T0.answers.0.label (the row of the workflow's minor version)",
    )
    p.add_argument(
        "--workflow-id",
        metavar="ID",
        help="read this workflow's classifications only (a project export "
        "holds every workflow's)",
    )
    p.add_argument(
        "--workflow-version",
        metavar="MAJOR[.MINOR]",
        help="read this workflow version only (MAJOR: all its minor versions)",
    )
    p.add_argument(
        "--repeats",
        choices=("drop", "keep"),
        default="drop",
        help="classifications whose metadata says seen_before (a volunteer "
        "shown a subject again) are dropped (default) or kept",
    )
    p.add_argument(
        "--experts",
        choices=("exclude", "include", "only"),
        default="exclude",
        help="classifications marked gold_standard or expert are left out of "
        "the volunteers' votes (default), counted as votes, or read alone "
        "(expert labels)",
    )
    p.add_argument(
        "--aggregation",
        choices=methods,
        help=f"how votes make a label (aggregate_votes' default: {default})",
    )
    mapping = ClusterLabelMapper._parameter_constraints["strategy"][0]
    p.add_argument(
        "--mapping",
        choices=sorted(mapping.options),
        default="majority",
        help="how clusters are mapped to labels (ClusterLabelMapper's strategy; "
        "default majority)",
    )
    p.add_argument(
        "--on-error",
        choices=("raise", "skip"),
        default="raise",
        help="a malformed export row stops the command (default) or is skipped",
    )
    p.add_argument(
        "--row-field",
        default=ROW_FIELD,
        help=f"the subject metadata holding the row (default {ROW_FIELD})",
    )
    p.set_defaults(run=labels)

    p = sub.add_parser(
        "finetune",
        help="train the label head on the volunteers' labels",
        description="Train LabelHeadClassifier on the subjects volunteers "
        "labelled (subject_labels.csv of skdec labels), starting from the "
        "model; write its labels for every subject (finetune_labels.csv) and "
        "a comparison with the mapping alone (finetune.json).",
    )
    _common(p, "folder for finetune_labels.csv and finetune.json")
    p.add_argument(
        "--labels",
        required=True,
        metavar="CSV",
        help="subject_labels.csv of skdec labels",
    )
    p.add_argument(
        "--seed",
        type=int,
        default=0,
        help="random_state of LabelHeadClassifier (default 0)",
    )
    add_class_options(
        p,
        LabelHeadClassifier,
        "head",
        title="label head",
        skip={"dec", "mapper", "dec_params", "random_state", "verbose"},
    )
    p.set_defaults(run=finetune)

    p = sub.add_parser(
        "report",
        help="a browsable HTML page of the clusters",
        description="Write a static HTML report (index.html and images/, no "
        "server: it opens from disk) of a run folder: per cluster its size, "
        "montages of its most central and most uncertain members and, with "
        "--labels, the volunteers' label and its confidence; the 2-D "
        "embedding coloured by cluster; the training curves; the metrics when "
        "the data have true labels.",
    )
    _common(p, "a new (or empty, or earlier report's) folder for index.html")
    p.add_argument(
        "--labels",
        metavar="CSV",
        help="subject_labels.csv of skdec labels (labels and confidences)",
    )
    p.add_argument(
        "--n-members",
        type=_positive,
        default=16,
        metavar="N",
        help="members shown in each montage (default 16)",
    )
    p.add_argument("--title", help="the page's title")
    p.set_defaults(run=report)

    surgery = "Write a new run folder (model.joblib, labels.csv, embedding.npy, "
    surgery += "run.json) and surgery.json, the stability report."
    p = sub.add_parser(
        "dissolve",
        help="delete, re-initialise or split a cluster",
        description=surgery,
    )
    _common(p, "the new run folder")
    p.add_argument(
        "--cluster",
        type=int,
        required=True,
        metavar="K",
        help="the cluster to dissolve (an id of labels.csv)",
    )
    p.add_argument(
        "--strategy",
        choices=STRATEGIES,
        default="delete",
        help="delete: its members go to their next-best clusters (default); "
        "reinit: its centre moves to a subject the other centres fit worst; "
        "split: in two, by 2-means or by --labels (dissolve_cluster's "
        "strategy)",
    )
    p.add_argument(
        "--labels",
        metavar="CSV",
        help="with --strategy split: split by the volunteers' labels "
        "(subject_labels.csv) when two classes occur among the members",
    )
    _surgery_options(p)
    p.set_defaults(run=dissolve)

    p = sub.add_parser("merge", help="merge clusters", description=surgery)
    _common(p, "the new run folder")
    p.add_argument(
        "--clusters",
        type=_cluster_ids,
        required=True,
        metavar="A,B[,...]",
        help="the clusters to merge into one (two or more ids of labels.csv)",
    )
    _surgery_options(p)
    p.set_defaults(run=merge)

    p = sub.add_parser("split", help="split a cluster in two", description=surgery)
    _common(p, "the new run folder")
    p.add_argument(
        "--cluster",
        type=int,
        required=True,
        metavar="K",
        help="the cluster to split (an id of labels.csv)",
    )
    p.add_argument(
        "--labels",
        metavar="CSV",
        help="split by the volunteers' labels (subject_labels.csv) when two "
        "classes occur among the members; else by 2-means",
    )
    _surgery_options(p)
    p.set_defaults(run=split)
