"""What the study's commands share: data, seeds, timing, results, tables, plots.

Each command in this folder is one experiment of the study (see
``docs/study.rst``). By default they run on Fashion-MNIST (fitting on the
training images, scoring on the 10,000 test images); ``--images DIR`` or
``--data X.npy --labels y.npy`` run them on a team's own subjects, split once
into a training pool and held-out test images (``--test-fraction``, stratified,
the same split for every seed).

``--quick`` swaps in tiny data, one seed and small networks so that a command
checks itself in seconds (the tests run it); its numbers mean nothing.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import sys
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

# benchmarks/_memory.py, shared with bench_dec.py
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from _memory import peak_rss_mb  # noqa: E402

RESULTS = Path(__file__).resolve().parents[1] / "results" / "study"

#: Split seed for a team's own data: one held-out set for every run seed.
SPLIT_SEED = 0


class StudyError(Exception):
    """Bad input to a command: reported as one line, exit status 2."""


# ---------------------------------------------------------------- arguments
def make_parser(name, doc, *, seeds=(0, 1, 2), data=True):
    """The argument parser of command ``name`` with the shared options."""
    first, _, rest = doc.strip().partition("\n")
    parser = argparse.ArgumentParser(
        prog=f"{name}.py",
        description=first,
        epilog=rest.strip(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--seeds",
        type=int,
        nargs="+",
        default=list(seeds),
        help="run seeds (default: %(default)s)",
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=2,
        help="torch threads (default: %(default)s, the study's 2-core machine)",
    )
    parser.add_argument(
        "--output",
        type=Path,
        default=RESULTS / name,
        help="folder for the table, the JSON and the plots "
        f"(default: benchmarks/results/study/{name}/)",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="tiny data, the first seed only, small networks: checks the "
        "command in seconds; the numbers mean nothing",
    )
    if data:
        add_data_arguments(parser)
    return parser


def add_data_arguments(parser):
    group = parser.add_argument_group(
        "data",
        "Fashion-MNIST by default; --images or --data/--labels for your own "
        "subjects (labels are needed: they score the results).",
    )
    group.add_argument(
        "--data-dir",
        help="folder of Fashion-MNIST's IDX files (default: the package's "
        "default folders)",
    )
    group.add_argument(
        "--images",
        metavar="DIR",
        help="a folder of images, one sub-folder per class "
        "(skdec.datasets.load_image_folder)",
    )
    group.add_argument(
        "--image-size",
        type=int,
        nargs=2,
        metavar=("H", "W"),
        help="resize --images to H x W (needed when their sizes differ)",
    )
    group.add_argument(
        "--grayscale", action="store_true", help="read --images with one channel"
    )
    group.add_argument(
        "--data",
        metavar="X.npy",
        help="array of subjects: (n, features) rows, or (n, H, W) / "
        "(n, C, H, W) images; uint8 is divided by 255, floats are taken as "
        "scaled",
    )
    group.add_argument(
        "--labels", metavar="y.npy", help="true class of each row of --data"
    )
    group.add_argument(
        "--test-fraction",
        type=float,
        default=0.2,
        help="share of --images / --data held out as test images "
        "(stratified, split seed 0; default: %(default)s)",
    )


def fail(parser, message):
    """One line ``<command>: error: ...`` on standard error, exit status 2."""
    print(f"{parser.prog}: error: {message}", file=sys.stderr)
    sys.exit(2)


def parse(parser, argv=None, check=None):
    """Parse and check the arguments; bad input exits with status 2."""
    args = parser.parse_args(argv)
    try:
        if args.threads < 1:
            raise StudyError(f"--threads must be at least 1, got {args.threads}.")
        if len(set(args.seeds)) != len(args.seeds):
            raise StudyError(f"--seeds repeats a seed: {args.seeds}.")
        if hasattr(args, "test_fraction") and not 0 < args.test_fraction < 1:
            raise StudyError(
                f"--test-fraction must lie in (0, 1), got {args.test_fraction}."
            )
        if check is not None:
            check(args)
    except StudyError as exc:
        fail(parser, exc)
    if args.quick:
        args.seeds = args.seeds[:1]
    return args


def seeds_text(seeds):
    return ", ".join(str(s) for s in seeds)


# --------------------------------------------------------------------- data
@dataclass
class Data:
    """A training pool and held-out test images, with true classes."""

    name: str
    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    image_shape: tuple | None

    @property
    def n_classes(self):
        return int(np.unique(self.y_train).size)

    def describe(self):
        shape = (
            "x".join(map(str, self.image_shape))
            if self.image_shape
            else f"{self.X_train.shape[1]} features"
        )
        return (
            f"{self.name}: {len(self.X_train):,} training / {len(self.X_test):,} "
            f"test subjects, {shape}, {self.n_classes} classes"
        )

    def subset(self, n_train, n_test, seed=SPLIT_SEED):
        """The first ``n_train`` / ``n_test`` of a seeded shuffle (quick mode)."""
        rng = np.random.RandomState(seed)
        tr = rng.permutation(len(self.X_train))[:n_train]
        te = rng.permutation(len(self.X_test))[:n_test]
        return Data(
            self.name,
            self.X_train[tr],
            self.y_train[tr],
            self.X_test[te],
            self.y_test[te],
            self.image_shape,
        )


def _scaled(X):
    if X.dtype == np.uint8:
        return X.astype(np.float32) / 255.0
    if not np.issubdtype(X.dtype, np.number) or X.dtype.kind == "c":
        raise StudyError(f"--data must hold real numbers, got dtype {X.dtype}.")
    return X.astype(np.float32)


def _split(name, X, y, image_shape, test_fraction):
    from sklearn.model_selection import train_test_split

    counts = np.unique(y, return_counts=True)[1]
    if counts.size < 2:
        raise StudyError(f"the labels of {name} hold one class only.")
    stratify = y if counts.min() >= 2 else None
    try:
        X_tr, X_te, y_tr, y_te = train_test_split(
            X,
            y,
            test_size=test_fraction,
            stratify=stratify,
            random_state=SPLIT_SEED,
        )
    except ValueError as exc:
        raise StudyError(f"cannot hold out test images of {name}: {exc}") from exc
    return Data(name, X_tr, y_tr, X_te, y_te, image_shape)


def load_data(args):
    """The data the arguments name; raises StudyError on bad input."""
    if args.images and args.data:
        raise StudyError("give --images or --data, not both.")
    if args.labels and not args.data:
        raise StudyError("--labels goes with --data.")
    if (args.image_size or args.grayscale) and not args.images:
        raise StudyError("--image-size and --grayscale go with --images.")
    if args.images:
        from skdec.datasets import load_image_folder

        try:
            bunch = load_image_folder(
                args.images,
                image_size=tuple(args.image_size) if args.image_size else None,
                color="grayscale" if args.grayscale else "rgb",
            )
        except (OSError, ValueError) as exc:
            raise StudyError(str(exc)) from exc
        if "target" not in bunch:
            raise StudyError(
                f"{args.images} has images outside class sub-folders; the study "
                "needs a class per image (one sub-folder per class)."
            )
        name = Path(args.images).name
        return _split(
            name,
            bunch.data,
            bunch.target,
            tuple(bunch.image_shape),
            args.test_fraction,
        )
    if args.data:
        if not args.labels:
            raise StudyError("--data needs --labels (the true class of each row).")
        try:
            X = np.load(args.data, allow_pickle=False)
            y = np.load(args.labels, allow_pickle=False)
        except (OSError, ValueError) as exc:
            raise StudyError(f"cannot read --data/--labels: {exc}") from exc
        if X.ndim not in (2, 3, 4):
            raise StudyError(
                f"--data must be (n, features), (n, H, W) or (n, C, H, W); got "
                f"shape {X.shape}."
            )
        if y.ndim != 1 or len(y) != len(X):
            raise StudyError(
                f"--labels must be one label per row of --data ({len(X)}); got "
                f"shape {y.shape}."
            )
        image_shape = None
        if X.ndim > 2:
            image_shape = X.shape[1:] if X.ndim == 4 else (1, *X.shape[1:])
            X = X.reshape(len(X), -1)
        X = _scaled(X)
        if not np.isfinite(X).all():
            raise StudyError("--data holds NaN or infinite values.")
        return _split(
            Path(args.data).stem,
            X,
            y,
            image_shape and tuple(image_shape),
            args.test_fraction,
        )
    from skdec.datasets import load_fashion_mnist

    try:
        train = load_fashion_mnist(args.data_dir, "train")
        test = load_fashion_mnist(args.data_dir, "test")
    except (OSError, ValueError) as exc:
        raise StudyError(str(exc).splitlines()[0]) from exc
    return Data(
        "Fashion-MNIST",
        train.data,
        train.target,
        test.data,
        test.target,
        tuple(train.image_shape),
    )


def load_or_fail(parser, args):
    """:func:`load_data`, or exit with status 2 and one line on bad input."""
    try:
        return load_data(args)
    except StudyError as exc:
        fail(parser, exc)


def subset_rows(n_pool, size, seed):
    """The first ``size`` rows of a seeded shuffle of a pool of ``n_pool``:
    for one seed, a smaller subset lies inside every larger one."""
    return np.random.RandomState(seed).permutation(n_pool)[:size]


# ---------------------------------------------------------------- DEC setup
def dec_params(image_shape, quick):
    """DECClusterer parameters: the package defaults (with ``image_shape``
    for images), or a tiny network for ``--quick``."""
    params = {"image_shape": image_shape}
    if quick:
        from skdec import MLPAutoencoder

        params.update(
            autoencoder=MLPAutoencoder((64,), 10, epochs=5),
            init="kmeans",
            n_init=2,
            max_iter=40,
            update_interval=20,
        )
    return params


def dec_description(quick):
    if quick:
        return (
            "DEC: quick (MLPAutoencoder((64,), 10, epochs=5), init='kmeans', "
            "max_iter=40): not the package defaults"
        )
    return "DEC: the package defaults (image_shape for images)"


# ----------------------------------------------------------- timing, memory
def timed(func, *args, **kwargs):
    """``(func(*args, **kwargs), wall seconds)``."""
    start = time.perf_counter()
    result = func(*args, **kwargs)
    return result, time.perf_counter() - start


def timed_logged(func, *args, **kwargs):
    """:func:`timed`, printing each warning raised (one line each) instead of
    letting it through; returns ``(result, seconds, warning class names)``."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for category in (ImportWarning, DeprecationWarning, PendingDeprecationWarning):
            warnings.simplefilter("ignore", category)
        result, seconds = timed(func, *args, **kwargs)
    for w in caught:
        log(f"  warning: {w.category.__name__}: {str(w.message).splitlines()[0]}")
    return result, seconds, [w.category.__name__ for w in caught]


def start(args, plan):
    """Set torch's threads, make the output folder, print the plan."""
    import torch

    torch.set_num_threads(args.threads)
    args.output.mkdir(parents=True, exist_ok=True)
    print(
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"torch on {args.threads} thread(s); seeds {seeds_text(args.seeds)}"
        + ("; QUICK MODE (tiny data, numbers mean nothing)" if args.quick else ""),
        flush=True,
    )
    for line in plan:
        print(line, flush=True)
    return time.perf_counter()


def log(message):
    print(message, flush=True)


# ---------------------------------------------------------------- summaries
def mean_std(values):
    values = np.asarray(values, dtype=np.float64)
    values = values[np.isfinite(values)]
    if values.size == 0:
        return float("nan"), float("nan")
    return float(values.mean()), float(values.std())


def fmt(values, digits=3):
    """``mean ± std`` of ``values`` (``mean`` alone for one value)."""
    values = np.atleast_1d(np.asarray(values, dtype=np.float64))
    mean, std = mean_std(values)
    if np.isnan(mean):
        return "n/a"
    if values.size == 1:
        return f"{mean:.{digits}f}"
    return f"{mean:.{digits}f} ± {std:.{digits}f}"


def rst_table(header, rows):
    """A reStructuredText simple table of strings."""
    rows = [[str(c) for c in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]
    rule = "  ".join("=" * w for w in widths)

    def line(cells):
        return "  ".join(c.ljust(w) for c, w in zip(cells, widths)).rstrip()

    return "\n".join([rule, line(header), rule, *map(line, rows), rule])


def write_table(args, name, header, rows):
    """Print the table; write it as ``<name>.rst`` and ``<name>.csv``."""
    text = rst_table(header, rows)
    print("\n" + text, flush=True)
    (args.output / f"{name}.rst").write_text(text + "\n")
    with open(args.output / f"{name}.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)
    return text


def _jsonable(value):
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, tuple):
        return list(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def write_json(args, name, record, started):
    """Write ``<name>.json``: the record, the command, settings, machine,
    wall time and peak memory; prints and returns the wall time."""
    import torch

    import skdec

    wall = time.perf_counter() - started
    record = {
        "command": " ".join([Path(sys.argv[0]).name, *sys.argv[1:]]),
        "settings": vars(args),
        "machine": {
            "processor": platform.processor() or platform.machine(),
            "cores": os.cpu_count(),
            "torch_threads": args.threads,
            "torch": torch.__version__,
            "skdec": skdec.__version__,
        },
        "wall_seconds": wall,
        "peak_rss_mb": peak_rss_mb(),
        **record,
    }
    path = args.output / f"{name}.json"
    path.write_text(json.dumps(record, indent=1, default=_jsonable) + "\n")
    print(
        f"\nwall time {wall:.0f} s, peak memory {record['peak_rss_mb']:.0f} MB; "
        f"wrote {args.output}/{name}.{{json,rst,csv,png}}",
        flush=True,
    )
    return wall


def pyplot():
    """matplotlib's pyplot on the Agg backend (no display needed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def short_count(value):
    """``1000`` -> ``'1k'``, ``2500`` -> ``'2.5k'``, ``300`` -> ``'300'``."""
    if value >= 1000 and value % 100 == 0:
        return f"{value / 1000:g}k"
    return f"{value:,}"


def label_log_axis(ax, values):
    """A logarithmic x axis ticked at ``values`` only (1k for 1,000: close
    ticks such as 5,000 and 10,000 stay readable)."""
    from matplotlib.ticker import NullLocator

    ax.set_xscale("log")
    ax.set_xticks(values, [short_count(v) for v in values])
    ax.xaxis.set_minor_locator(NullLocator())


def save_figure(args, fig, name):
    path = args.output / f"{name}.png"
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    pyplot().close(fig)
    return path
