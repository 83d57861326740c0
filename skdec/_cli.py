"""The ``skdec`` command line: ``skdec cluster`` runs DEC and writes its results."""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from pathlib import Path

import numpy as np

from ._centers import INIT_STRATEGIES

DATASETS = ("digits", "fashion-mnist", "mnist")


def _read_table(path: Path, label_column: str | None):
    """Read a user's ``.npy`` or ``.csv`` file into ``(X, y or None)``."""
    suffix = path.suffix.lower()
    if not path.is_file():
        raise FileNotFoundError(f"No such data file: {path}")
    if suffix == ".npy":
        X = np.load(path, allow_pickle=False)
        return X, None
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
    return X, y


def load_input(args):
    """Return ``(X, y, name, image_shape)`` for the command-line arguments;
    ``image_shape`` is a built-in data set's, None for a user's file."""
    from . import datasets

    if args.data is not None:
        X, y = _read_table(Path(args.data), args.label_column)
        return X, y, Path(args.data).stem, None
    if args.dataset == "digits":
        X, y = datasets.load_digits(return_X_y=True)
        return X, y, args.dataset, (8, 8)
    if args.dataset == "fashion-mnist":
        X, y = datasets.load_fashion_mnist(args.data_dir, return_X_y=True)
    else:
        if args.data_dir is None:
            raise ValueError("--dataset mnist needs --data-dir DIR (IDX files).")
        X, y = datasets.load_mnist(args.data_dir, return_X_y=True)
    return X, y, args.dataset, (28, 28)


def _save_figure(model, X, labels, out: Path, title: str):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from .plotting import plot_embedding, plot_training_curves

    fig, axes = plt.subplots(1, 3, figsize=(16, 4.8))
    plot_embedding(model.transform(X), labels, ax=axes[0], title=title)
    plot_training_curves(model, axes=axes[1:])
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)


def _write_all(writers):
    """Call each ``write(path)`` of ``writers`` in turn; on an interrupt remove
    the files written so far, so that no half set of results is left."""
    written = []
    try:
        for path, write in writers:
            written.append(path)
            write(path)
    except KeyboardInterrupt:
        for path in written:
            path.unlink(missing_ok=True)
        raise


def cluster(args) -> dict:
    """Run DEC as the arguments say; write labels, metrics and a figure."""
    from . import DECClusterer
    from .metrics import clustering_report

    X, y, name, image_shape = load_input(args)
    if args.image_shape is None and not args.no_image_shape:
        args.image_shape = image_shape
    out = Path(args.output)
    out.mkdir(parents=True, exist_ok=True)
    n_clusters = args.n_clusters
    if n_clusters is None:
        n_clusters = len(np.unique(y)) if y is not None else 10
    params = dict(
        n_clusters=n_clusters,
        random_state=args.seed,
        verbose=0 if args.quiet else 1,
        device=args.device,
    )
    for key in (
        "hidden_dims",
        "pretrain_epochs",
        "max_iter",
        "gamma",
        "init",
        "batch_size",
        "precision",
        "image_shape",
    ):
        value = getattr(args, key)
        if value is not None:
            params[key] = value
    model = DECClusterer(**params)
    print(
        f"skdec: DEC with {n_clusters} clusters on {name}: "
        f"{X.shape[0]} samples x {X.shape[1]} features",
        flush=True,
    )
    start = time.perf_counter()
    labels = model.fit_predict(X)
    seconds = time.perf_counter() - start
    result = {
        "dataset": name,
        "n_samples": int(X.shape[0]),
        "n_clusters": int(n_clusters),
        "seconds": round(seconds, 2),
        "timings": {k: round(v, 2) for k, v in model.timings_.items()},
        "n_iter": int(model.n_iter_),
        "converged": bool(model.converged_),
        "precision": model.precision_,
        "params": {k: v for k, v in params.items() if k != "verbose"},
    }
    if y is not None:
        result.update(clustering_report(y, labels))

    def write_labels(path):
        with path.open("w", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow(["index", "cluster"] + (["label"] if y is not None else []))
            for i, c in enumerate(labels):
                writer.writerow([i, int(c)] + ([y[i]] if y is not None else []))

    _write_all(
        [
            (out / "labels.csv", write_labels),
            (
                out / "metrics.json",
                lambda path: path.write_text(json.dumps(result, indent=2, default=str)),
            ),
            (
                out / "dec.png",
                lambda path: _save_figure(model, X, labels, path, f"DEC on {name}"),
            ),
        ]
    )
    line = f"skdec: done in {seconds:.1f}s ({model.precision_} training steps)"
    if y is not None:
        line += f"  ACC={result['acc']:.3f}  NMI={result['nmi']:.3f}  "
        line += f"ARI={result['ari']:.3f}"
    print(line)
    print(
        f"skdec: wrote {out / 'labels.csv'}, {out / 'metrics.json'}, {out / 'dec.png'}"
    )
    return result


def _int_tuple(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated integers, got {text!r}"
        ) from None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="skdec", description="Deep embedded clustering from the command line."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("cluster", help="cluster a data set with DEC")
    p.add_argument(
        "--dataset",
        choices=DATASETS,
        default="digits",
        help="built-in data set (default: sklearn digits)",
    )
    p.add_argument(
        "--data", metavar="FILE", help="your own .npy or .csv file (rows are samples)"
    )
    p.add_argument("--label-column", help="CSV column holding known labels")
    p.add_argument("--data-dir", help="folder of IDX files (MNIST, Fashion-MNIST)")
    p.add_argument(
        "--n-clusters",
        type=int,
        help="default: number of classes, or 10 without labels",
    )
    p.add_argument("--output", default="skdec-output", help="output folder")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="cpu")
    p.add_argument(
        "--hidden-dims",
        type=_int_tuple,
        metavar="W1,W2,...",
        help="encoder widths (default 500,500,2000)",
    )
    p.add_argument("--pretrain-epochs", type=int)
    p.add_argument("--max-iter", type=int)
    p.add_argument("--batch-size", type=int)
    p.add_argument("--gamma", type=float, help="IDEC reconstruction weight")
    p.add_argument(
        "--init",
        choices=INIT_STRATEGIES,
        help="start of the clustering stage (default umap: UMAP + Gaussian mixture)",
    )
    p.add_argument(
        "--image-shape",
        type=_int_tuple,
        metavar="H,W or C,H,W",
        help="the rows are images of this shape (turns on augmentation); "
        "the built-in data sets pass theirs unless --no-image-shape",
    )
    p.add_argument(
        "--no-image-shape",
        action="store_true",
        help="treat the rows of a built-in data set as plain feature vectors",
    )
    p.add_argument(
        "--precision",
        choices=("auto", "float32", "bfloat16"),
        help="training-step arithmetic (default auto: bfloat16 where native)",
    )
    p.add_argument("--quiet", action="store_true", help="no progress output")
    return parser


#: Exit status after Ctrl-C: 128 + SIGINT, as a shell reports it.
EXIT_INTERRUPTED = 130


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        cluster(args)
    except (FileNotFoundError, ValueError) as exc:
        print(f"skdec: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("skdec: interrupted; no results written.", file=sys.stderr)
        return EXIT_INTERRUPTED
    return 0
