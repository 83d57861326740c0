"""The ``skdec`` command line: ``skdec cluster`` runs DEC and writes its
results; the later commands of the workflow are in :mod:`skdec._workflow`."""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import numpy as np

from ._cli_params import (
    UsageError,
    add_class_options,
    add_estimator_options,
    class_params,
    estimator_params,
)
from ._images import display_images, tile_images
from ._inputs import (
    DATASETS,
    IMAGE_DEFAULTS,
    image_options,
    input_record,
    load_input,
)
from ._run import (
    extract_features,
    features_model,
    pixel_cache_path,
    run_record,
    staged,
    write_run,
)
from ._workflow import add_workflow_commands

MONTAGE_COLUMNS = 8  # subjects per cluster in montage.png
GRID_SUBJECTS = 32  # subjects in each montages/cluster_<k>.png
SKIPPED_SHOWN = 10  # unreadable files named in the output


def _save_figure(model, embedding, labels, out: Path, title: str):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from .plotting import plot_embedding, plot_training_curves

    fig, axes = plt.subplots(1, 3, figsize=(16, 4.8))
    plot_embedding(embedding, labels, ax=axes[0], title=title)
    plot_training_curves(model, axes=axes[1:])
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)


def cluster(args) -> dict:
    """Run DEC as the arguments say; write labels, metrics, a figure and, for
    images, montages of the clusters."""
    from . import DECClusterer
    from .metrics import clustering_report
    from .net import is_main_process

    out = Path(args.output)
    features = _features_options(args)
    use_cache = args.images is not None and args.pixel_cache
    args.pixel_cache = pixel_cache_path(out, input_record(args)) if use_cache else None
    start = time.perf_counter()
    data = load_input(args)
    load_seconds = time.perf_counter() - start
    X, y, name = data.X, data.y, data.name
    if args.images is not None:
        print(
            f"skdec: read {len(X)} images of {'x'.join(map(str, data.image_shape))} "
            f"(C x H x W) from {args.images} in {load_seconds:.1f}s",
            flush=True,
        )
        _report_skipped(data.skipped)
    if args.image_shape is None and not args.no_image_shape:
        args.image_shape = data.image_shape
    pixels = X  # the rows drawn
    if features is not None:
        X, features = _extract(args, data, features, out)
    if args.autoencoder == "auto" and features is not None:
        args.autoencoder = "mlp"  # features are not images
    elif args.autoencoder == "auto":
        args.autoencoder = _choose_autoencoder(args, data)
    out.mkdir(parents=True, exist_ok=True)  # an unwritable folder fails now
    n_clusters = args.n_clusters
    if n_clusters is None:
        n_clusters = len(np.unique(y)) if y is not None else 10
        origin = "the number of known classes" if y is not None else "the default"
        if not args.quiet:
            print(
                f"skdec: {n_clusters} clusters ({origin}; --n-clusters sets "
                "another number)",
                flush=True,
            )
    params = dict(
        n_clusters=n_clusters,
        random_state=args.seed,
        verbose=0 if args.quiet else 1,
        **estimator_params(args),
    )
    if args.image_shape is not None and features is None:
        params["image_shape"] = args.image_shape
    if args.no_augment:
        params["augment"] = False
    # under a launch of several processes (--accelerator auto), every process
    # fits and the main one alone reports and writes the results
    main = is_main_process(params.get("accelerator"), params.get("device", "cpu"))
    model = DECClusterer(**params)
    if main:
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
        "load_seconds": round(load_seconds, 2),
        "seconds": round(seconds, 2),
        "timings": {k: round(v, 2) for k, v in model.timings_.items()},
        "n_iter": int(model.n_iter_),
        "converged": bool(model.converged_),
        "precision": model.precision_,
        "params": {
            k: repr(v) if k == "autoencoder" else v
            for k, v in params.items()
            if k != "verbose"
        },
    }
    if args.images is not None:
        result["images"] = _image_folder_record(args, data)
    if features is not None:
        result["features"] = {**features, "n_features": int(X.shape[1])}
    if y is not None:
        result.update(clustering_report(y, labels))
    if not main:
        return result
    display_shape = args.image_shape or data.image_shape
    record = run_record(
        "cluster",
        input_record(args),
        model,
        X,
        name=name,
        has_labels=y is not None,
        image_shape=display_shape,
        cmap=data.cmap,
        folder=out,
        pixel_cache=args.pixel_cache,
        features=features,
    )
    with staged(out) as folder:
        # the run folder (model.joblib, embedding.npy, labels.csv, run.json)
        # that the later commands read with --model
        embedding = model.transform(X)  # one pass: saved and drawn
        write_run(folder, model, embedding, labels, y, data.filenames, record)
        (folder / "metrics.json").write_text(json.dumps(result, indent=2, default=str))
        _save_figure(model, embedding, labels, folder / "dec.png", f"DEC on {name}")
        montages = [
            out / p.relative_to(folder)
            for p in _write_montages(
                folder, model, X, labels, display_shape, data.cmap, name, pixels
            )
        ]
    written = [out / n for n in ("labels.csv", "metrics.json", "dec.png")]
    written += [out / n for n in ("model.joblib", "embedding.npy", "run.json")]
    line = f"skdec: done in {seconds:.1f}s ({model.precision_} training steps)"
    if y is not None:
        line += f"  ACC={result['acc']:.3f}  NMI={result['nmi']:.3f}  "
        line += f"ARI={result['ari']:.3f}"
    print(line)
    print(f"skdec: wrote {', '.join(map(str, written + montages[:1]))}")
    if montages[1:]:
        print(
            f"skdec: wrote {len(montages) - 1} per-cluster montages "
            f"{montages[1].parent / 'cluster_<k>.png'}"
        )
    return result


def _features_options(args) -> dict | None:
    """``--features``: the model file (absolute) and FeatureExtractor's
    options that were given, checked before the input is read; None
    without it."""
    given = class_params(args, "features")
    if args.features is None:
        if given:
            names = ", ".join("--features-" + k.replace("_", "-") for k in given)
            raise UsageError(f"{names} apply to --features FILE only.")
        return None
    try:
        path = features_model(args.features, f"--features {args.features}")
    except ValueError as exc:  # not a model file: a usage error
        raise UsageError(str(exc)) from None
    if path.suffix.lower() == ".onnx":
        from ._features import _import_onnxruntime

        _import_onnxruntime()  # the extra to install, before the input is read
    return {"model": str(path.resolve()), "params": given}


def _extract(args, data, features, out):
    """The features of the input's rows through the ``--features`` network,
    and the record of it (``run.json``'s ``features``)."""
    shape = args.image_shape
    params = dict(features["params"])
    params["image_shape"] = None if shape is None else [int(v) for v in shape]
    for key in ("mean", "std"):
        if isinstance(params.get(key), tuple):
            params[key] = list(params[key])
    start = time.perf_counter()
    X = extract_features(data.X, features["model"], params, cache_beside=out)
    if not args.quiet:
        print(
            f"skdec: {X.shape[1]} features per subject from {args.features} in "
            f"{time.perf_counter() - start:.1f}s",
            flush=True,
        )
    return X, {"model": features["model"], "params": params}


def _floats(text: str):
    """``--features-mean`` and ``--features-std``: a number or one per
    channel, comma-separated."""
    try:
        values = tuple(float(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a number or comma-separated numbers, got {text!r}"
        ) from None
    return values[0] if len(values) == 1 else values


def _choose_autoencoder(args, data) -> str:
    """``--autoencoder auto``: the contrastive encoder for a folder of images
    with no preferred orientation, else the fully connected autoencoder."""
    from ._image_folder import ORIENTATION_FREE
    from .datasets import orientation_symmetry

    if args.images is None or args.image_shape is None:
        return "mlp"
    symmetry = orientation_symmetry(data.X, args.image_shape)
    kind = "contrastive" if symmetry >= ORIENTATION_FREE else "mlp"
    if not args.quiet:
        print(
            f"skdec: the mean image correlates {symmetry:.2f} with its turns and "
            f"mirror images ({'at least' if kind == 'contrastive' else 'below'} "
            f"{ORIENTATION_FREE}): --autoencoder {kind}",
            flush=True,
        )
    return kind


def _report_skipped(skipped):
    """Print the image files that ``--on-error skip`` left out."""
    if not skipped:
        return
    print(
        f"skdec: skipped {len(skipped)} unreadable image file"
        f"{'s' if len(skipped) > 1 else ''} (listed in metrics.json):",
        flush=True,
    )
    for filename, error in skipped[:SKIPPED_SHOWN]:
        print(f"  {filename}: {error}")
    if len(skipped) > SKIPPED_SHOWN:
        print(f"  ... and {len(skipped) - SKIPPED_SHOWN} more")


def _image_folder_record(args, data) -> dict:
    """metrics.json's account of an image folder: how it was read and which
    files were left out."""
    return {
        "folder": str(Path(args.images).expanduser().resolve()),
        **image_options(args),
        "image_shape": list(data.image_shape),
        "labels_from_subfolders": data.y is not None,
        "n_skipped": len(data.skipped),
        "skipped": [{"filename": f, "error": e} for f, e in data.skipped],
    }


def _write_montages(out: Path, model, X, labels, image_shape, cmap, name, pixels):
    """``montage.png`` (one row per cluster, its most confident subjects
    first) and ``montages/cluster_<k>.png`` (up to GRID_SUBJECTS of them in
    a grid); the paths written, none when the rows are not drawable images.

    A subject's confidence is its soft assignment (``predict_proba``) to its
    own cluster; ``pixels`` are the rows drawn (``X`` but with --features)."""
    if image_shape is None:
        return []
    images = display_images(pixels, image_shape)
    if images is None:
        print(
            f"skdec: no montage: images of shape {tuple(image_shape)} have "
            "channels other than 1, 3 or 4"
        )
        return []
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from .plotting import plot_cluster_montage

    confidence = model.predict_proba(X)[np.arange(len(labels)), labels]
    order = np.argsort(-confidence, kind="stable")
    ids = np.unique(labels)
    fig = plt.figure(figsize=(MONTAGE_COLUMNS + 1.2, len(ids) + 0.8))
    plot_cluster_montage(
        images, labels, order, n_per_cluster=MONTAGE_COLUMNS, cmap=cmap, fig=fig
    )
    fig.supylabel("cluster (subjects)")
    fig.suptitle(f"{name}: the most confident subjects of each cluster")
    fig.savefig(out / "montage.png", dpi=100)
    plt.close(fig)
    written = [out / "montage.png"]

    folder = out / "montages"
    folder.mkdir(exist_ok=True)
    for old in folder.glob("cluster_*.png"):  # of an earlier run
        old.unlink()
    for k in ids:
        members = order[labels[order] == k]
        shown = members[:GRID_SUBJECTS]
        n_columns = min(MONTAGE_COLUMNS, len(shown))
        n_rows = -(-len(shown) // n_columns)
        aspect = images.shape[1] / images.shape[2]
        fig, ax = plt.subplots(figsize=(n_columns, n_rows * aspect + 0.5))
        ax.imshow(
            tile_images(images[shown], n_columns),
            cmap=cmap,
            vmin=0,
            vmax=1,
            interpolation="nearest",
        )
        ax.set_axis_off()
        ax.set_title(
            f"cluster {k}: {len(members)} subjects"
            + (
                f", the {len(shown)} most confident"
                if len(shown) < len(members)
                else ", most confident first"
            ),
            fontsize=9,
        )
        fig.tight_layout(pad=0.2)
        path = folder / f"cluster_{k}.png"
        fig.savefig(path, dpi=100)
        plt.close(fig)
        written.append(path)
    return written


def _int_tuple(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated integers, got {text!r}"
        ) from None


def _crop(text: str):
    """``--crop``: 'auto' or a fraction in (0, 1]."""
    if text == "auto":
        return text
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not 0 < value <= 1:
        raise argparse.ArgumentTypeError(
            f"invalid --crop {text!r}: expected auto or a fraction in (0, 1]"
        )
    return value


def _image_size(text: str) -> tuple[int, int]:
    size = _int_tuple(text)
    if len(size) != 2 or min(size) < 1:
        raise argparse.ArgumentTypeError(
            f"expected two positive integers H,W, got {text!r}"
        )
    return size


def _add_features_options(p):
    from ._features import FeatureExtractor

    group = p.add_argument_group(
        "pretrained features (--features)",
        "cluster a pretrained network's features of the rows instead of the rows "
        "(FeatureExtractor's hyperparameters; see its documentation)",
    )
    group.add_argument(
        "--features",
        metavar="FILE",
        help="a pretrained network, TorchScript (.pt, .pth, .ts, .torchscript: "
        "written by torch.jit.save) or ONNX (.onnx: needs pip install "
        "'skdec[onnx]'); each image (C x H x W, pixels in [0, 1]) or row goes "
        "through it and DEC clusters its flattened outputs; the later commands "
        "still draw the images. The features are kept in .skdec-cache/ beside "
        "the --output folder",
    )
    add_class_options(
        p,
        FeatureExtractor,
        "features",
        title="",
        skip={"model", "image_shape", "mean", "std"},
        flag_prefix="--features-",
        group=group,
    )
    for name, doc in (
        ("mean", "subtracted from the input, per channel, before the network"),
        ("std", "the centred input is divided by it, per channel"),
    ):
        group.add_argument(
            f"--features-{name}",
            dest=f"features__{name}",
            type=_floats,
            default=argparse.SUPPRESS,
            metavar="VALUE",
            help=f"{doc} (a number or one per channel, comma-separated, e.g. "
            "ImageNet's "
            + ("0.485,0.456,0.406" if name == "mean" else "0.229,0.224,0.225")
            + "; default none)",
        )


def build_parser() -> argparse.ArgumentParser:
    from . import __version__

    parser = argparse.ArgumentParser(
        prog="skdec",
        description="Deep embedded clustering from the command line: "
        "'skdec cluster' fits a model and writes a run folder, which the "
        "other commands take as --model.",
    )
    parser.add_argument("--version", action="version", version=f"skdec {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    p = sub.add_parser(
        "cluster",
        help="cluster a data set with DEC and write a run folder",
        description="Fit DECClusterer on a built-in data set, a .npy/.csv "
        "file or a folder of images, and write the run folder (labels.csv, "
        "metrics.json, dec.png, model.joblib, embedding.npy, run.json and, "
        "for images, montages) that the other commands read with --model.",
    )
    source = p.add_argument_group("input (one of --dataset, --data, --images)")
    one_source = source.add_mutually_exclusive_group()
    one_source.add_argument(
        "--dataset",
        choices=DATASETS,
        default="digits",
        help="built-in data set (default: sklearn digits)",
    )
    one_source.add_argument(
        "--data", metavar="FILE", help="your own .npy or .csv file (rows are samples)"
    )
    one_source.add_argument(
        "--images",
        metavar="DIR",
        help="a folder of image files (PNG, JPEG, TIFF, BMP, WebP, FITS), read "
        "with its sub-folders (see --labels-from-folders)",
    )
    source.add_argument("--label-column", help="CSV column holding known labels")
    source.add_argument("--data-dir", help="folder of IDX files (MNIST, Fashion-MNIST)")
    images = p.add_argument_group("image folder (with --images)")
    height, width = IMAGE_DEFAULTS["image_size"]
    images.add_argument(
        "--image-size",
        type=_image_size,
        metavar="H,W",
        help=f"resize every image to H x W pixels (default {height},{width}: quick "
        "on a laptop CPU; the network's input has C*H*W values)",
    )
    images.add_argument(
        "--color",
        choices=("rgb", "grayscale"),
        help="read 3 channels or 1 (default rgb; grayscale for single-channel "
        "images, a third of the input)",
    )
    images.add_argument(
        "--resize",
        choices=("crop", "pad"),
        help="keep the aspect ratio by cropping the centre or by padding with "
        "black (default crop)",
    )
    images.add_argument(
        "--crop",
        dest="center_crop",
        type=_crop,
        metavar="FRACTION",
        help="keep the central FRACTION of each image's width and height "
        "before resizing (survey cut-outs: the subject without the field "
        "around it); auto (default) measures the collection's mean image and "
        "crops only where a centred subject fills less than 0.75 of the frame; "
        "1 keeps the whole frame",
    )
    images.add_argument(
        "--stretch",
        choices=("auto", "percentile", "asinh", "log", "linear"),
        help="intensity stretch of each image: percentile maps its 1st and "
        "99.5th percentiles to black and white; asinh and log lift faint "
        "structure (astropy's stretches); linear keeps the pixels; auto "
        "(default): percentile where --crop crops, else linear",
    )
    images.add_argument(
        "--labels-from-folders",
        action=argparse.BooleanOptionalAction,
        default=False,
        help="take the first-level sub-folders' names as known labels (every "
        "file must lie in one; they are scored against and set the default "
        "--n-clusters); default no: sub-folders (sites, cameras, nights) "
        "only organise the files",
    )
    images.add_argument(
        "--pixel-cache",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="keep the decoded pixels (8 bits per value) in "
        ".skdec-cache/ beside the --output folder, so that the later commands "
        "read them instead of decoding the folder again; it is rebuilt when "
        "the files or the image options change (default yes)",
    )
    images.add_argument(
        "--on-error",
        choices=("raise", "skip"),
        help="an unreadable file stops the run (default raise) or is left out "
        "and listed in the output and metrics.json (skip)",
    )
    p.add_argument(
        "--n-clusters",
        type=int,
        help="number of clusters (default: the number of known classes, or 10 "
        "without labels; the command says which it took)",
    )
    p.add_argument(
        "--output",
        default="skdec-output",
        metavar="DIR",
        help="the run folder to write (default skdec-output)",
    )
    p.add_argument(
        "--seed",
        type=int,
        default=0,
        help="random_state of DECClusterer: the same seed, data and options "
        "give the same clusters (default 0)",
    )
    p.add_argument(
        "--image-shape",
        type=_int_tuple,
        metavar="H,W or C,H,W",
        help="the rows are images of this shape (turns on augmentation for "
        "images at least 20 pixels a side); the built-in data sets pass "
        "theirs unless --no-image-shape",
    )
    p.add_argument(
        "--no-image-shape",
        action="store_true",
        help="treat the rows of a built-in data set as plain feature vectors",
    )
    p.add_argument(
        "--no-augment",
        action="store_true",
        help="no shift/rotation augmentation of image rows (on with an image "
        "shape of at least 20 pixels a side)",
    )
    _add_features_options(p)
    add_estimator_options(p)
    p.add_argument("--quiet", action="store_true", help="no progress output")
    p.set_defaults(run=cluster)
    add_workflow_commands(sub)
    return parser


#: Exit status after Ctrl-C: 128 + SIGINT, as a shell reports it.
EXIT_INTERRUPTED = 130


#: Exit status of a usage error (argparse's own), and of a failed run.
EXIT_USAGE, EXIT_FAILED = 2, 1


def main(argv=None) -> int:
    """Run the command of ``argv``; the exit status: 0, 1 for a failed run
    (one line on standard error, no traceback), 2 for a usage error (as
    argparse exits for its own), 130 after Ctrl-C."""
    args = build_parser().parse_args(argv)
    try:
        args.run(args)
    except UsageError as exc:
        print(f"skdec: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except (
        OSError,  # a missing file, an --output that is a file, a full disk
        ValueError,  # bad input: the message names the file and the row
        ImportError,  # an optional extra that is not installed
        RuntimeError,
        MemoryError,
    ) as exc:
        message = str(exc).strip() or type(exc).__name__
        print(f"skdec: error: {' '.join(message.split())}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        print("skdec: interrupted; no results written.", file=sys.stderr)
        return EXIT_INTERRUPTED
    return 0
