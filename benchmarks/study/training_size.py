"""Experiment 1: how much data DEC needs (a training-size sweep).

DECClusterer with the package defaults (n_clusters = the number of classes,
``image_shape`` for images) is fitted on nested random subsets of the training
images (1,000 ⊂ 5,000 ⊂ ... per seed) and predicts the held-out test images
(Fashion-MNIST: all 10,000). Reported per size: ACC and NMI on the images it was
fitted on (seen) and on the test images (unseen), and the fit's wall time.

Default run (fits in 30 minutes on 2 idle cores): seeds 0, 1, 2 for 1,000 and
5,000 images, seed 0 alone for 10,000, 30,000 and 60,000. The full design (3
seeds at every size, about twice as long) is

    python benchmarks/study/training_size.py --all-seeds-up-to 60000

On your own subjects (sizes above the training pool are replaced by the pool):

    python benchmarks/study/training_size.py --images DIR --image-size 64 64 \\
        --sizes 500 1000 2000
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from _common import (
    StudyError,
    dec_description,
    dec_params,
    fail,
    fmt,
    label_log_axis,
    load_or_fail,
    log,
    make_parser,
    parse,
    pyplot,
    save_figure,
    seeds_text,
    start,
    subset_rows,
    timed,
    timed_logged,
    write_json,
    write_table,
)

NAME = "training_size"
SIZES = [1000, 5000, 10000, 30000, 60000]
QUICK_SIZES = [100, 300]


def parser():
    p = make_parser(NAME, __doc__)
    p.add_argument(
        "--sizes",
        type=int,
        nargs="+",
        default=SIZES,
        help="training sizes (default: %(default)s)",
    )
    p.add_argument(
        "--all-seeds-up-to",
        type=int,
        default=5000,
        metavar="N",
        help="sizes above N run the first seed only (default: %(default)s; "
        "the full design: 60000)",
    )
    p.add_argument(
        "--resume",
        type=Path,
        metavar="JSON",
        help="a training_size.json of an earlier run on the same data: its "
        "runs are kept and only the (size, seed) pairs it lacks are fitted, "
        "e.g. --all-seeds-up-to 60000 --resume "
        "benchmarks/results/study/training_size/training_size.json turns the "
        "default run into the full design",
    )
    p.add_argument(
        "--n-clusters",
        type=int,
        help="clusters (default: the number of classes, 10 for Fashion-MNIST)",
    )
    return p


def check(args):
    if min(args.sizes) < 2:
        raise StudyError(f"--sizes must be at least 2, got {min(args.sizes)}.")
    if args.resume is not None and not args.resume.is_file():
        raise StudyError(f"--resume: no file {args.resume}.")
    if args.n_clusters is not None and args.n_clusters < 1:
        raise StudyError(f"--n-clusters must be at least 1, got {args.n_clusters}.")


def plan_sizes(args, n_pool):
    """Sizes (capped at the pool, sorted, unique) and the seeds of each."""
    capped = sorted({min(s, n_pool) for s in args.sizes})
    notes = []
    if any(s > n_pool for s in args.sizes):
        notes.append(
            f"sizes above the training pool ({n_pool:,}) are replaced by the pool"
        )
    plan = {
        s: args.seeds if s <= args.all_seeds_up_to else args.seeds[:1] for s in capped
    }
    return plan, notes


def earlier_runs(path, data, n_clusters, quick):
    """The runs of an earlier ``training_size.json`` on the same data and
    settings; anything else is refused (its numbers would not compare)."""
    try:
        record = json.loads(path.read_text())
        runs = record["runs"]
        same = {
            "data": (record["data"], data.describe()),
            "n_clusters": (record["n_clusters"], n_clusters),
            "--quick": (record["settings"]["quick"], quick),
        }
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise StudyError(
            f"--resume: {path} is not a training_size.json ({exc})."
        ) from None
    for what, (then, now) in same.items():
        if then != now:
            raise StudyError(
                f"--resume: {path} was run with {what} {then!r}, this run has "
                f"{now!r}; resume only a run on the same data and settings."
            )
    return runs


def fit_one(data, size, seed, n_clusters, quick):
    from skdec import DECClusterer
    from skdec.metrics import clustering_report

    rows = subset_rows(len(data.X_train), size, seed)
    model = DECClusterer(
        n_clusters, random_state=seed, **dec_params(data.image_shape, quick)
    )
    _, fit_s, caught = timed_logged(model.fit, data.X_train[rows])
    predicted, predict_s = timed(model.predict, data.X_test)
    seen = clustering_report(data.y_train[rows], model.labels_)
    unseen = clustering_report(data.y_test, predicted)
    return {
        "size": int(size),
        "seed": int(seed),
        "seen": seen,
        "unseen": unseen,
        "fit_seconds": fit_s,
        "predict_seconds": predict_s,
        "stage_seconds": model.timings_,
        "n_iter": int(model.n_iter_),
        "converged": bool(model.converged_),
        "rolled_back": int(sum(h["rolled_back"] for h in model.history_)),
        "warnings": caught,
    }


def summarise(runs, plan):
    header = [
        "training images",
        "seeds",
        "ACC seen",
        "ACC unseen",
        "NMI seen",
        "NMI unseen",
        "fit seconds",
    ]
    rows = []
    for size in plan:
        sel = [r for r in runs if r["size"] == size]
        rows.append(
            [
                f"{size:,}",
                seeds_text(r["seed"] for r in sel),
                fmt([r["seen"]["acc"] for r in sel]),
                fmt([r["unseen"]["acc"] for r in sel]),
                fmt([r["seen"]["nmi"] for r in sel]),
                fmt([r["unseen"]["nmi"] for r in sel]),
                fmt([r["fit_seconds"] for r in sel], 1),
            ]
        )
    return header, rows


def plot(args, runs, plan, data):
    plt = pyplot()
    sizes = list(plan)
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.6))
    for ax, metric in zip(axes[:2], ("acc", "nmi")):
        for part, style in (("seen", "o-"), ("unseen", "s--")):
            means, stds = [], []
            for size in sizes:
                vals = [r[part][metric] for r in runs if r["size"] == size]
                means.append(np.mean(vals))
                stds.append(np.std(vals))
            ax.errorbar(sizes, means, yerr=stds, fmt=style, capsize=3, label=part)
        label_log_axis(ax, sizes)
        ax.set(xlabel="training images", ylabel=metric.upper())
        ax.legend()
    means = [np.mean([r["fit_seconds"] for r in runs if r["size"] == s]) for s in sizes]
    axes[2].plot(sizes, means, "o-")
    label_log_axis(axes[2], sizes)
    axes[2].set(yscale="log", xlabel="training images")
    axes[2].set(ylabel="fit seconds")
    fig.suptitle(
        f"{data.name}: DEC by training size (unseen: {len(data.X_test):,} test "
        f"images; error bars: std over seeds)"
    )
    return save_figure(args, fig, NAME)


def main(argv=None):
    p = parser()
    args = parse(p, argv, check)
    data = load_or_fail(p, args)
    if args.quick:
        data = data.subset(300, 200)
        args.sizes = QUICK_SIZES
    n_clusters = args.n_clusters or data.n_classes
    plan, notes = plan_sizes(args, len(data.X_train))
    started = start(
        args,
        [
            data.describe(),
            dec_description(args.quick),
            f"n_clusters={n_clusters}; unseen = all {len(data.X_test):,} test images",
            "training sizes (seeds): "
            + ", ".join(f"{s:,} ({seeds_text(seeds)})" for s, seeds in plan.items())
            + (
                f"; sizes above {args.all_seeds_up_to:,} run seed {args.seeds[0]} "
                "only (all seeds: --all-seeds-up-to 60000)"
                if any(len(s) < len(args.seeds) for s in plan.values())
                else ""
            ),
            *notes,
        ],
    )
    runs = []
    if args.resume is not None:
        try:
            runs = earlier_runs(args.resume, data, n_clusters, args.quick)
        except StudyError as exc:
            fail(p, exc)
        runs = [r for r in runs if r["size"] in plan]  # the sizes asked for
        for size, seeds in plan.items():
            earlier = (r["seed"] for r in runs if r["size"] == size)
            plan[size] = sorted({*seeds, *earlier})
        log(f"resumed {len(runs)} runs from {args.resume}")
    done = {(r["size"], r["seed"]) for r in runs}
    for size, seeds in plan.items():
        for seed in seeds:
            if (size, seed) in done:
                continue
            run = fit_one(data, size, seed, n_clusters, args.quick)
            runs.append(run)
            log(
                f"size {size:,} seed {seed}: ACC seen {run['seen']['acc']:.3f} "
                f"unseen {run['unseen']['acc']:.3f}, NMI seen "
                f"{run['seen']['nmi']:.3f} unseen {run['unseen']['nmi']:.3f}, "
                f"fit {run['fit_seconds']:.1f} s"
            )
    runs.sort(key=lambda r: (r["size"], r["seed"]))
    header, rows = summarise(runs, plan)
    write_table(args, NAME, header, rows)
    plot(args, runs, plan, data)
    write_json(
        args,
        NAME,
        {
            "data": data.describe(),
            "n_clusters": n_clusters,
            "plan": {str(s): seeds for s, seeds in plan.items()},
            "runs": runs,
            "table": {"header": header, "rows": rows},
        },
        started,
    )


if __name__ == "__main__":
    main()
