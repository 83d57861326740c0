"""The run folder: what ``skdec cluster`` (and cluster surgery) leave behind
for the later commands of the workflow.

A run folder holds

- ``model.joblib``: the fitted :class:`skdec.DECClusterer` (``joblib.dump``);
- ``embedding.npy``: ``model.transform(X)``, one row per sample;
- ``labels.csv``: ``index[,filename],cluster[,label]``, one row per sample;
- ``run.json``: how to read the same input again (:data:`RUN_KEYS`).

The later commands take ``--model DIR`` and call :func:`load_run`, which
re-reads the input that ``run.json`` records, so they need neither a refit
nor the input options typed again. Every command writes its files through
:func:`staged`, so that a failure or Ctrl-C leaves no half set of files.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import shutil
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ._inputs import INPUT_PATHS, input_namespace, load_input

__all__ = [
    "EMBEDDING_FILE",
    "LABELS_FILE",
    "MODEL_FILE",
    "RUN_FILE",
    "RUN_FORMAT",
    "RUN_KEYS",
    "FEATURES_SUFFIXES",
    "Run",
    "extract_features",
    "features_model",
    "load_run",
    "pixel_cache_path",
    "read_labels_csv",
    "run_record",
    "staged",
    "write_labels",
    "write_run",
]

MODEL_FILE = "model.joblib"
EMBEDDING_FILE = "embedding.npy"
LABELS_FILE = "labels.csv"
RUN_FILE = "run.json"
#: version of the run folder's layout, ``run.json``'s ``"run_format"``
RUN_FORMAT = 1
#: the keys of ``run.json`` and what they hold
RUN_KEYS = {
    "run_format": "version of this layout (1)",
    "command": "the command that wrote the folder: cluster, dissolve, merge, split",
    "skdec_version": "the version of skdec that wrote it",
    "created": "when, as an ISO 8601 UTC time",
    "input": "the input options: dataset, data, images, data_dir, label_column "
    "and, for images, the options of load_image_folder and "
    "labels_from_folders (paths relative to the run folder where possible)",
    "dataset": "the input's name",
    "n_samples": "number of rows of the input",
    "n_features": "number of values per row",
    "n_clusters": "number of clusters of the model",
    "image_shape": "the rows' image shape (H, W or C, H, W), or null",
    "cmap": "colour map of single-channel images: gray_r (1 is ink) or gray",
    "has_labels": "whether the input has known labels",
    "parent": "the run folder this one was made from (surgery), or null",
    "pixel_cache": "the decoded pixels of an image folder (a uint8 memmap "
    "beside the run folder, reused by the later commands), or null",
    "features": "with --features: the pretrained network whose features the "
    "model was fitted on (model: its file, relative to the run folder where "
    "possible; params: FeatureExtractor's; n_features: their width), or null; "
    "n_features is then that width while image_shape and the drawn subjects "
    "are the input's pixels",
    "folder": "the run folder's absolute path when written: relative paths "
    "are tried there too when the folder has moved without its input",
}
#: the folder, beside a run folder, holding the decoded pixels of image folders
#: and the features of a pretrained network (``--features``)
CACHE_FOLDER = ".skdec-cache"
#: the model files ``--features`` takes: TorchScript and ONNX
FEATURES_SUFFIXES = (".pt", ".pth", ".ts", ".torchscript", ".onnx")


def _relative(path, folder) -> str:
    """``path`` relative to ``folder`` where it can be (on another drive it
    cannot), so that a project folder can move as a whole."""
    try:
        return os.path.relpath(Path(path).resolve(), Path(folder).resolve())
    except ValueError:
        return str(Path(path).resolve())


def _absolute(path, folder, written=None) -> str:
    """A path of ``run.json`` as a path to open: relative ones are relative
    to the run ``folder`` or, when nothing is there (the run folder was
    copied elsewhere alone), to where it was written (``written``, run.json's
    ``folder``); absolute ones (older run folders) stay."""
    here = Path(folder).expanduser() / Path(path).expanduser()
    if written is not None and not here.exists():
        there = Path(written) / path
        if there.exists():
            return str(there)
    return str(here)


def pixel_cache_path(out, input_: dict) -> str:
    """Where the decoded pixels of the input ``input_`` (an
    :func:`~skdec._inputs.input_record`) are kept for the run folder
    ``out``: ``.skdec-cache/pixels-<key>.u8`` beside it, one file per image
    folder and options (``load_image_folder`` checks the files themselves)."""
    key = hashlib.sha1(json.dumps(input_, sort_keys=True).encode()).hexdigest()
    folder = Path(out).expanduser().resolve().parent / CACHE_FOLDER
    return str(folder / f"pixels-{key[:16]}.u8")


def _features_key(pixels, model_path, params: dict) -> str:
    """A digest of what the features depend on: the model file's bytes,
    FeatureExtractor's parameters and the pixels themselves."""
    digest = hashlib.sha1(json.dumps(params, sort_keys=True).encode())
    with open(model_path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    digest.update(repr(tuple(pixels.shape)).encode())
    for start in range(0, len(pixels), 4096):
        rows = np.ascontiguousarray(pixels[start : start + 4096], dtype=np.float32)
        digest.update(rows.tobytes())
    return digest.hexdigest()[:16]


def features_model(model_path, name: str) -> Path:
    """``model_path`` as a path, checked to be an existing TorchScript or
    ONNX file; ``name`` starts the messages (ValueError for another kind of
    file, FileNotFoundError for a missing one)."""
    path = Path(model_path).expanduser()
    if path.suffix.lower() not in FEATURES_SUFFIXES:
        raise ValueError(
            f"{name}: expected a TorchScript file "
            f"({', '.join(FEATURES_SUFFIXES[:-1])}) or an ONNX file (.onnx)."
        )
    if not path.is_file():
        raise FileNotFoundError(f"{name}: no such file.")
    return path


def extract_features(pixels, model_path, params: dict, *, cache_beside=None):
    """The features of ``pixels`` through the network of the file
    ``model_path`` (``FeatureExtractor(model_path, **params)``), float32.

    With ``cache_beside`` (a run folder), they are kept in
    ``.skdec-cache/features-<key>.npy`` beside it and read from there when
    the model file, the parameters and the pixels are the same."""
    from ._features import FeatureExtractor

    path = features_model(model_path, f"The features model {str(model_path)!r}")
    cache = None
    if cache_beside is not None:
        key = _features_key(pixels, path, params)
        folder = Path(cache_beside).expanduser().resolve().parent / CACHE_FOLDER
        cache = folder / f"features-{key}.npy"
        if cache.is_file():
            try:
                features = np.load(cache, allow_pickle=False)
            except (OSError, ValueError):
                features = None  # a damaged cache is rebuilt
            if features is not None and len(features) == len(pixels):
                return features
    params = dict(params)
    if params.get("image_shape") is not None:
        params["image_shape"] = tuple(params["image_shape"])
    extractor = FeatureExtractor(str(path), **params)
    try:
        features = extractor.fit_transform(pixels)
    except ValueError as exc:
        raise ValueError(f"--features {path}: {exc}") from exc
    if cache is not None:
        cache.parent.mkdir(parents=True, exist_ok=True)
        partial = cache.with_suffix(f".partial-{os.getpid()}.npy")
        np.save(partial, features)
        os.replace(partial, cache)
    return features


@contextmanager
def staged(out: Path, stale=()):
    """A fresh folder to write the outputs of ``out`` into, moved in at the end.

    The outputs are written into a hidden folder inside ``out`` (created
    here, so an unwritable ``out`` fails at once) and, when the block ends
    without an error, each of its entries replaces the entry of the same name
    in ``out`` (a folder replaces the whole folder); files of ``out``
    matching a glob pattern of ``stale`` are removed first. On an error or
    Ctrl-C the hidden folder is removed and ``out`` is left as it was.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=".skdec-partial-", dir=out))
    try:
        yield stage
        for pattern in stale:
            for old in out.glob(pattern):
                if old.is_file():
                    old.unlink()
        for entry in sorted(stage.iterdir()):
            target = out / entry.name
            if target.is_dir() and not target.is_symlink():
                shutil.rmtree(target)
            os.replace(entry, target)
    finally:
        shutil.rmtree(stage, ignore_errors=True)


def write_labels(path: Path, labels, y, filenames):
    """``labels.csv``: ``index,cluster[,label]``, with a ``filename`` column
    after ``index`` for an image folder."""
    with path.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(
            ["index"]
            + (["filename"] if filenames is not None else [])
            + ["cluster"]
            + (["label"] if y is not None else [])
        )
        for i, c in enumerate(labels):
            row = [i] + ([filenames[i]] if filenames is not None else [])
            writer.writerow(row + [int(c)] + ([y[i]] if y is not None else []))


def read_labels_csv(path: Path, required=("index",)):
    """The rows of a CSV file written by a command, as a header and a list of
    dicts; a ValueError when a ``required`` column is missing."""
    if not path.is_file():
        raise FileNotFoundError(f"No such file: {path}")
    with path.open(newline="") as fh:
        reader = csv.DictReader(fh)
        rows = list(reader)
        header = reader.fieldnames or []
    missing = [c for c in required if c not in header]
    if missing:
        raise ValueError(f"{path} lacks the column(s) {missing}; it has {header}.")
    return header, rows


def run_record(
    command: str,
    input_: dict,
    model,
    X,
    *,
    name: str,
    has_labels: bool,
    image_shape,
    cmap: str,
    parent=None,
    folder=None,
    pixel_cache=None,
    features=None,
):
    """``run.json`` of a run folder (see :data:`RUN_KEYS`); ``folder``, the
    run folder, is what its paths are made relative to (they stay as given
    without it). ``features``: ``{"model": path, "params": {...}}`` of
    ``--features``, or None."""
    from . import __version__

    def where(path):
        if path is None or folder is None:
            return None if path is None else str(path)
        return _relative(path, folder)

    input_ = dict(input_)
    for key in INPUT_PATHS:
        if input_.get(key) is not None:
            input_[key] = where(input_[key])
    if features is not None:
        features = {
            "model": where(features["model"]),
            "params": dict(features["params"]),
            "n_features": int(X.shape[1]),
        }
    return {
        "run_format": RUN_FORMAT,
        "command": command,
        "skdec_version": __version__,
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "input": input_,
        "dataset": name,
        "n_samples": int(X.shape[0]),
        "n_features": int(X.shape[1]),
        "n_clusters": int(model.n_clusters_),
        "image_shape": None if image_shape is None else [int(v) for v in image_shape],
        "cmap": cmap,
        "has_labels": bool(has_labels),
        "parent": where(parent),
        "pixel_cache": where(pixel_cache),
        "features": features,
        "folder": None if folder is None else str(Path(folder).resolve()),
    }


def write_run(folder: Path, model, embedding, labels, y, filenames, record: dict):
    """Write the four files of a run folder into ``folder``; ``embedding`` is
    ``model.transform(X)``, computed once by the caller, which draws it too."""
    import joblib

    joblib.dump(model, folder / MODEL_FILE)
    np.save(folder / EMBEDDING_FILE, embedding)
    write_labels(folder / LABELS_FILE, labels, y, filenames)
    (folder / RUN_FILE).write_text(json.dumps(record, indent=2) + "\n")


@dataclass
class Run:
    """A run folder read back by :func:`load_run`."""

    path: Path  # the folder
    info: dict  # run.json
    model: object  # the fitted DECClusterer
    X: np.ndarray  # what the model was fitted on: the input, or its features
    y: np.ndarray | None  # its known labels, None without
    filenames: np.ndarray | None  # an image folder's files, row by row
    image_shape: tuple | None  # the rows' image shape, None for plain rows
    labels: np.ndarray  # the cluster of each row (labels.csv)
    embedding: np.ndarray  # embedding.npy
    cmap: str  # colour map of single-channel images
    pixels: np.ndarray | None = None  # the input read again, with --features

    @property
    def images(self) -> np.ndarray:
        """The rows to draw: the input's pixels, also where the model was
        fitted on a pretrained network's features of them."""
        return self.X if self.pixels is None else self.pixels

    def features_record(self) -> dict | None:
        """``run.json``'s features with the model's path made absolute (for
        :func:`run_record` of a run folder written elsewhere), or None."""
        features = self.info.get("features")
        if features is None:
            return None
        model = _absolute(features["model"], self.path, self.info.get("folder"))
        return {**features, "model": model}

    @property
    def images_root(self) -> Path | None:
        """The image folder the rows were read from, None for other input."""
        folder = self.info["input"].get("images")
        if folder is None:
            return None
        return Path(_absolute(folder, self.path, self.info.get("folder")))

    def absolute(self, key: str):
        """The path ``run.json`` records under ``key`` (``parent``,
        ``pixel_cache``) as a path to open, None where it records none."""
        value = self.info.get(key)
        if value is None:
            return None
        written = None if key == "pixel_cache" else self.info.get("folder")
        return Path(_absolute(value, self.path, written))

    def input_record(self) -> dict:
        """``run.json``'s input with its paths made absolute, for a run
        folder written elsewhere (``run_record(folder=...)`` makes them
        relative to that one)."""
        return _input_paths(self.info, self.path)


def _input_paths(info: dict, folder) -> dict:
    """``run.json``'s input with its paths made absolute."""
    record = dict(info["input"])
    for key in INPUT_PATHS:
        if record.get(key) is not None:
            record[key] = _absolute(record[key], folder, info.get("folder"))
    return record


def _need(path: Path, what: str):
    if not path.is_file():
        raise FileNotFoundError(
            f"{path.parent} has no {path.name} ({what}); is it the --output "
            "folder of skdec cluster?"
        )


def load_run(path, *, quiet=True) -> Run:
    """Read a run folder: the model, the input read again, the clusters.

    Parameters
    ----------
    path : str or path-like
        The ``--output`` folder of ``skdec cluster`` (or of a surgery command).
    quiet : bool, default=True
        No progress output while an image folder is read again.

    Returns
    -------
    run : Run
        ``model``, ``X``, ``y``, ``filenames``, ``image_shape``, ``labels``
        (the cluster of each row, from ``labels.csv``), ``embedding``,
        ``info`` (``run.json``) and ``path``. For a run of ``--features``,
        ``X`` holds the network's features of the input (read from the cache
        beside the folder, or computed again) and ``pixels`` the input.

    Raises
    ------
    FileNotFoundError
        For a missing folder or a missing file of the folder.
    NotADirectoryError
        When ``path`` is a file.
    ValueError
        For a file that cannot be read, or an input that no longer matches
        the model (another number of rows or values per row, other files).
    """
    import joblib

    from ._dec import DECClusterer

    folder = Path(path).expanduser()
    if not folder.exists():
        raise FileNotFoundError(
            f"No such run folder: {folder} (pass the --output folder of skdec "
            "cluster as --model)."
        )
    if not folder.is_dir():
        raise NotADirectoryError(f"--model {folder} is a file, not a run folder.")
    run_file, model_file = folder / RUN_FILE, folder / MODEL_FILE
    _need(run_file, "how to read the input again")
    _need(model_file, "the fitted model")
    _need(folder / LABELS_FILE, "the clusters")
    _need(folder / EMBEDDING_FILE, "the embedding")
    try:
        info = json.loads(run_file.read_text())
    except (ValueError, OSError) as exc:
        raise ValueError(f"{run_file} is not valid JSON: {exc}") from None
    if not isinstance(info, dict) or info.get("run_format") != RUN_FORMAT:
        raise ValueError(
            f"{run_file} is not a run record of this version of skdec "
            f"(run_format {RUN_FORMAT} expected)."
        )
    try:
        model = joblib.load(model_file)
    except Exception as exc:  # unpickling raises many kinds  # noqa: BLE001
        raise ValueError(f"{model_file} cannot be read: {exc}") from None
    if not isinstance(model, DECClusterer):
        raise ValueError(
            f"{model_file} holds a {type(model).__name__}, not a DECClusterer."
        )

    record = _input_paths(info, folder)
    args = input_namespace(record, quiet)
    if record.get("images") is not None and info.get("pixel_cache"):
        # beside this run folder, wherever it is now (rebuilt there if missing)
        args.pixel_cache = _absolute(info["pixel_cache"], folder)
    try:
        data = load_input(args)
    except (FileNotFoundError, NotADirectoryError, ValueError) as exc:
        raise type(exc)(f"{exc} (the input recorded in {run_file})") from None
    X, pixels = data.X, None
    features = info.get("features")
    if features is not None:
        pixels = X
        model_path = _absolute(features["model"], folder, info.get("folder"))
        try:
            X = extract_features(
                pixels, model_path, features["params"], cache_beside=folder
            )
        except FileNotFoundError as exc:
            raise FileNotFoundError(
                f"{exc} (the features model recorded in {run_file})"
            ) from None
    n, d = X.shape
    if (n, d) != (info["n_samples"], info["n_features"]):
        raise ValueError(
            f"The input recorded in {run_file} now has {n} rows of {d} values; "
            f"the model was fitted on {info['n_samples']} rows of "
            f"{info['n_features']}: the data changed since the run."
        )

    header, rows = read_labels_csv(folder / LABELS_FILE, ("index", "cluster"))
    if len(rows) != n:
        raise ValueError(
            f"{folder / LABELS_FILE} has {len(rows)} rows but the input has {n}."
        )
    try:
        labels = np.array([int(r["cluster"]) for r in rows], dtype=np.int64)
    except ValueError:
        raise ValueError(
            f"{folder / LABELS_FILE} holds a cluster that is not an integer."
        ) from None
    k = int(model.n_clusters_)
    if labels.min() < 0 or labels.max() >= k:
        raise ValueError(
            f"{folder / LABELS_FILE} names clusters outside 0-{k - 1}, the "
            "clusters of model.joblib."
        )
    if data.filenames is not None and "filename" in header:
        listed = [r["filename"] for r in rows]
        changed = [i for i, f in enumerate(listed) if f != data.filenames[i]]
        if changed:
            i = changed[0]
            raise ValueError(
                f"The image folder recorded in {run_file} changed: row {i} is "
                f"now {data.filenames[i]!r}, {listed[i]!r} in labels.csv."
            )
    embedding = np.load(folder / EMBEDDING_FILE, allow_pickle=False)
    if embedding.shape[0] != n:
        raise ValueError(
            f"{folder / EMBEDDING_FILE} has {embedding.shape[0]} rows but the "
            f"input has {n}."
        )
    shape = info.get("image_shape")
    return Run(
        path=folder,
        info=info,
        model=model,
        X=X,
        y=data.y,
        filenames=data.filenames,
        image_shape=None if shape is None else tuple(shape),
        labels=labels,
        embedding=embedding,
        cmap=info.get("cmap", data.cmap),
        pixels=pixels,
    )
