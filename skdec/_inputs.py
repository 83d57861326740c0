"""The input of the command line: a built-in data set, a user's file or a
folder of images, read into rows of ``X`` (and known labels when there are).

``skdec cluster`` reads its input from its options; the later commands of the
workflow (``skdec select``, ``labels``, ...) read the same input again from
the record that ``cluster`` leaves in ``run.json`` (:mod:`skdec._run`).
"""

from __future__ import annotations

import argparse
import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = [
    "DATASETS",
    "IMAGE_DEFAULTS",
    "INPUT_OPTIONS",
    "INPUT_PATHS",
    "LoadedInput",
    "UsageError",
    "check_rows",
    "image_options",
    "input_namespace",
    "input_record",
    "load_input",
    "read_table",
]

DATASETS = ("digits", "fashion-mnist", "mnist")
# the options of --images and their defaults: 32x32 keeps a run quick on a
# laptop CPU (an RGB image is 3072 inputs, like CIFAR-10)
IMAGE_DEFAULTS = {
    "image_size": (32, 32),
    "color": "rgb",
    "resize": "crop",
    "center_crop": "auto",
    "stretch": "auto",
    "on_error": "raise",
}
#: the options naming the input, as ``argparse`` stores them
INPUT_OPTIONS = ("dataset", "data", "images", "data_dir", "label_column")
#: the input options naming files or folders
INPUT_PATHS = _PATH_OPTIONS = ("data", "images", "data_dir")


class UsageError(ValueError):
    """Options that cannot go together, or an option without the one it
    needs: the command line exits with 2, as argparse does for its own
    errors, where a failed run exits with 1."""


def check_rows(X, source: str) -> np.ndarray:
    """``X`` as a 2-D float array of finite values, one row per sample, or a
    ValueError naming ``source`` and what is wrong with it."""
    X = np.asarray(X)
    if X.dtype.kind not in "biuf":
        raise ValueError(f"{source} holds {X.dtype} values; numbers are needed.")
    if X.ndim == 1:
        raise ValueError(
            f"{source} holds a 1-D array of shape {X.shape}; one row per sample "
            "is needed (a 2-D array: for one feature, save X.reshape(-1, 1))."
        )
    if X.ndim != 2:
        raise ValueError(
            f"{source} holds an array of shape {X.shape}; one row per sample is "
            "needed (a 2-D array: flatten images with X.reshape(len(X), -1) "
            "and give their shape with --image-shape)."
        )
    if X.shape[0] == 0 or X.shape[1] == 0:
        raise ValueError(f"{source} holds no samples (shape {X.shape}).")
    if X.dtype.kind == "f":
        bad = ~np.isfinite(X)
        if bad.any():
            row, column = (int(v[0]) for v in np.nonzero(bad))
            raise ValueError(
                f"{source} holds {int(bad.sum())} NaN or infinite value(s), the "
                f"first at row {row}, column {column}; fill or drop them."
            )
    return X


def read_table(path: Path, label_column: str | None):
    """Read a user's ``.npy`` or ``.csv`` file into ``(X, y or None)``."""
    suffix = path.suffix.lower()
    if not path.is_file():
        raise FileNotFoundError(f"No such data file: {path}")
    if suffix == ".npy":
        if label_column is not None:
            raise ValueError("--label-column applies to a .csv file only.")
        try:
            X = np.load(path, allow_pickle=False)
        except (ValueError, OSError, EOFError) as exc:
            raise ValueError(f"{path} is not a readable .npy array: {exc}") from None
        return check_rows(X, path.name), None
    if suffix != ".csv":
        raise ValueError(f"Unsupported data file {path.name!r}: use .npy or .csv.")
    with path.open(newline="") as fh:
        rows = list(csv.reader(fh))
    if not rows:
        raise ValueError(f"{path} is empty.")
    header = None
    try:
        [float(v) for v in rows[0]]
    except ValueError:
        header, rows = rows[0], rows[1:]
    width = len(header) if header is not None else len(rows[0]) if rows else 0
    for i, row in enumerate(rows):
        if len(row) != width:
            line = i + 1 + (header is not None)
            raise ValueError(
                f"{path.name}, line {line}: {len(row)} values where the first "
                f"line has {width}."
            )
    y = None
    if label_column is not None:
        if header is None or label_column not in header:
            raise ValueError(
                f"--label-column {label_column!r} is not in the CSV header {header!r}."
            )
        j = header.index(label_column)
        y = np.array([r[j] for r in rows])
        rows = [r[:j] + r[j + 1 :] for r in rows]
    try:
        X = np.array(rows, dtype=np.float64)
    except ValueError as exc:
        raise ValueError(f"{path} holds non-numeric values: {exc}") from None
    if X.ndim == 1:  # no rows, or rows without values
        X = X.reshape(len(rows), -1)
    return check_rows(X, path.name), y


@dataclass
class LoadedInput:
    """What :func:`load_input` read."""

    X: np.ndarray
    y: np.ndarray | None  # known labels, None without
    name: str
    image_shape: tuple | None  # the rows' own image shape; None for plain rows
    filenames: np.ndarray | None = None  # an image folder's files, row by row
    skipped: list | None = None  # an image folder's (file, error) left out
    cmap: str = "gray_r"  # single-channel montages: 'gray_r' draws 1 as ink


def load_input(args) -> LoadedInput:
    """Read the input the command-line arguments name: a built-in data set,
    a user's file (``--data``) or a folder of images (``--images``)."""
    from . import datasets

    if args.images is not None:
        return _load_image_folder(args)
    given = [f"--{k.replace('_', '-')}" for k in IMAGE_DEFAULTS if getattr(args, k)]
    if getattr(args, "labels_from_folders", False):
        given.append("--labels-from-folders")
    if given:
        raise UsageError(f"{', '.join(given)} apply to --images DIR only.")
    if args.data is not None:
        X, y = read_table(Path(args.data), args.label_column)
        return LoadedInput(X, y, Path(args.data).stem, None)
    if args.dataset == "digits":
        X, y = datasets.load_digits(return_X_y=True)
        return LoadedInput(X, y, args.dataset, (8, 8))
    if args.dataset == "fashion-mnist":
        X, y = datasets.load_fashion_mnist(args.data_dir, return_X_y=True)
    else:
        if args.data_dir is None:
            raise UsageError("--dataset mnist needs --data-dir DIR (IDX files).")
        X, y = datasets.load_mnist(args.data_dir, return_X_y=True)
    return LoadedInput(X, y, args.dataset, (28, 28))


def _load_image_folder(args) -> LoadedInput:
    """``--images DIR``: the files' pixels, their relative paths, the
    unreadable files and, with ``--labels-from-folders``, their first-level
    sub-folders as labels.

    With ``args.pixel_cache`` (a file), the pixels are decoded once into that
    uint8 memmap (``load_image_folder(memmap=...)``, reused while the files
    and the image options are unchanged) and returned as float32 in [0, 1]."""
    from .datasets import load_image_folder

    root = Path(args.images).expanduser()
    cache = getattr(args, "pixel_cache", None) or None
    try:
        bunch = load_image_folder(
            root, **image_options(args), memmap=cache, verbose=0 if args.quiet else 1
        )
    except ValueError as exc:  # the hint in the command line's words
        message = str(exc).replace("Pass on_error='skip'", "Pass --on-error skip")
        raise ValueError(message) from exc
    X = bunch.data
    if X.dtype == np.uint8:  # the cache: scaled as load_image_folder scales
        X = np.divide(bunch.data, np.float32(255), dtype=np.float32)
    y = None
    if getattr(args, "labels_from_folders", False):
        if "target" not in bunch:
            raise ValueError(
                f"--labels-from-folders: some files of {root} lie directly in "
                "it, not in a sub-folder naming their label."
            )
        y = bunch.target_names[bunch.target]
    return LoadedInput(
        X,
        y,
        root.resolve().name,
        tuple(bunch.image_shape),
        filenames=bunch.filenames,
        skipped=bunch.get("skipped", []),
        cmap="gray",  # pixels as stored: 1 is white
    )


def image_options(args) -> dict:
    """``load_image_folder``'s arguments from the options of ``--images``."""
    return {
        key: default if getattr(args, key) is None else getattr(args, key)
        for key, default in IMAGE_DEFAULTS.items()
    }


def input_record(args) -> dict:
    """The input options of ``args`` as ``run.json`` records them: paths made
    absolute (a later command may run from another folder) and the image
    options, with their defaults, for ``--images`` only."""
    record = {}
    for key in INPUT_OPTIONS:
        value = getattr(args, key)
        if key in _PATH_OPTIONS and value is not None:
            value = str(Path(value).expanduser().resolve())
        record[key] = value
    if args.images is not None or args.data is not None:
        record["dataset"] = None  # the option's default, not what was read
    if args.images is not None:
        options = image_options(args)
        options["image_size"] = list(options["image_size"])
        record.update(options)
        record["labels_from_folders"] = bool(args.labels_from_folders)
    return record


def input_namespace(record: dict, quiet: bool) -> argparse.Namespace:
    """The arguments :func:`load_input` needs, from an :func:`input_record`."""
    args = {key: record.get(key) for key in INPUT_OPTIONS}
    for key in IMAGE_DEFAULTS:
        value = record.get(key)
        args[key] = tuple(value) if key == "image_size" and value else value
    if args["dataset"] is None and args["data"] is None and args["images"] is None:
        raise ValueError("run.json names no input (dataset, data or images).")
    # run.json files written before the option took sub-folders as labels
    images = args["images"] is not None
    args["labels_from_folders"] = images and record.get("labels_from_folders", True)
    return argparse.Namespace(**args, quiet=quiet)
