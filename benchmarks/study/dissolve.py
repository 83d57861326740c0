"""Experiment 7: dissolving a bad cluster (delete, reinit, split, merge).

Per seed, two DEC models with a known bad cluster are fitted (the package
defaults, ``image_shape`` for images) on a training pool:

* one cluster too many (n_clusters = classes + 1): two clusters share a
  majority class (there must be such a pair); the smaller is the bad cluster.
  Operations: merge the pair, delete the bad cluster, re-initialise it.
* one cluster too few (n_clusters = classes - 1): the bad cluster is the one
  holding most samples of a second class. Operation: split it in two, by
  2-means on its members' embeddings, or by --split-labels labelled subjects
  (the means of its two most frequent labelled classes).

Every operation runs on a copy of the model twice: without refinement
(refine_iter=0: the surgery alone) and with the default refinement
(3 x update_interval DEC iterations). Reported: ACC / NMI on the pool and on
the held-out test images before, right after the surgery and after the
refinement; the stability report (share of the samples outside the operated
clusters that keep their cluster); and, as the yardstick, a refit with the
right number of clusters.

Default run (fits in 30 minutes on 2 idle cores): a pool of 5,000 training
images per seed (3 DEC fits each: classes + 1, classes - 1 and the refit),
the 10,000 test images, seeds 0, 1, 2. A larger pool:

    python benchmarks/study/dissolve.py --n-train 10000

On your own subjects:

    python benchmarks/study/dissolve.py --images DIR --image-size 64 64
"""

from __future__ import annotations

import numpy as np
from _common import (
    StudyError,
    dec_description,
    dec_params,
    fmt,
    load_or_fail,
    log,
    make_parser,
    parse,
    pyplot,
    save_figure,
    start,
    subset_rows,
    timed_logged,
    write_json,
    write_table,
)

NAME = "dissolve"
STAGES = ("surgery", "refined")


def parser():
    p = make_parser(NAME, __doc__)
    p.add_argument(
        "--n-train",
        type=int,
        default=5000,
        help="training pool the models are fitted on and the surgery sees, a "
        "random subset per seed (default: %(default)s)",
    )
    p.add_argument(
        "--split-labels",
        type=int,
        default=100,
        help="labelled pool subjects (true classes) guiding the labelled split "
        "(default: %(default)s; 0 skips it)",
    )
    p.add_argument(
        "--refine-iter",
        type=int,
        help="DEC iterations of the refinement (default: the package's, "
        "3 x update_interval)",
    )
    p.add_argument(
        "--no-reference",
        dest="reference",
        action="store_false",
        help="skip the refit with the right number of clusters",
    )
    return p


def check(args):
    if args.n_train < 10:
        raise StudyError(f"--n-train must be at least 10, got {args.n_train}.")
    if args.split_labels < 0:
        raise StudyError(f"--split-labels must be >= 0, got {args.split_labels}.")
    if args.refine_iter is not None and args.refine_iter < 1:
        raise StudyError(f"--refine-iter must be >= 1, got {args.refine_iter}.")


def majority(labels, y, k):
    """Majority class and size of each of ``k`` clusters (-1, 0 when empty)."""
    classes = np.unique(y)
    counts = np.zeros((k, classes.size), dtype=np.int64)
    np.add.at(counts, (labels, np.searchsorted(classes, y)), 1)
    major = np.where(counts.sum(1) > 0, classes[counts.argmax(1)], -1)
    return major, counts


def duplicated_pair(labels, y, k):
    """The two clusters sharing a majority class (larger first): of the
    duplicated classes, the one whose second cluster is largest."""
    major, counts = majority(labels, y, k)
    sizes = counts.sum(1)
    best = None
    for c in np.unique(major[major >= 0]):
        members = np.flatnonzero(major == c)
        if members.size < 2:
            continue
        pair = members[np.argsort(-sizes[members], kind="stable")[:2]]
        if best is None or sizes[pair[1]] > sizes[best[1]]:
            best = pair
    if best is None:  # an empty cluster: it is the bad one
        empty = int(np.argmin(sizes))
        best = np.array([int(np.argmax(sizes)), empty])
    return [int(best[0]), int(best[1])]


def mixed_cluster(labels, y, k):
    """The cluster holding most samples of a class other than its majority."""
    _, counts = majority(labels, y, k)
    second = np.sort(counts, axis=1)[:, -2] if counts.shape[1] > 1 else counts[:, 0]
    return int(np.argmax(second))


def scores(model, labels, data, y_pool):
    from skdec.metrics import clustering_report

    return {
        "n_clusters": int(model.n_clusters_),
        "pool": clustering_report(y_pool, labels),
        "test": clustering_report(data.y_test, model.predict(data.X_test)),
    }


def fit(n_clusters, X, data, seed, quick):
    from skdec import DECClusterer

    model = DECClusterer(
        n_clusters, random_state=seed, **dec_params(data.image_shape, quick)
    )
    _, seconds, _ = timed_logged(model.fit, X)
    return model, seconds


def operate(model, operation, bad, X, y_split, refine_iter, seed):
    """The operation without and with refinement: two (model, report)."""
    from skdec import dissolve_cluster, merge_clusters

    out = {}
    for stage, n_iter in (("surgery", 0), ("refined", refine_iter)):
        kwargs = dict(refine_iter=n_iter, random_state=seed, return_report=True)
        if operation == "merge":
            result = merge_clusters(model, bad, X, **kwargs)
        elif operation == "split (labels)":
            result = dissolve_cluster(model, bad, "split", X, y=y_split, **kwargs)
        else:
            result = dissolve_cluster(model, bad, operation, X, **kwargs)
        out[stage] = result
    return out


def run_seed(data, args, seed, k):
    pool = subset_rows(len(data.X_train), args.n_train, seed)
    X, y = data.X_train[pool], data.y_train[pool]
    rng = np.random.RandomState(seed)
    y_split = np.full(len(y), -1, dtype=np.int64)
    if args.split_labels:
        chosen = rng.choice(len(y), min(args.split_labels, len(y)), replace=False)
        y_split[chosen] = np.searchsorted(np.unique(y), y[chosen])
    refine_iter = args.refine_iter
    runs = []
    fits = {}
    for kind, n_clusters in (("too many", k + 1), ("too few", k - 1)):
        model, seconds = fit(n_clusters, X, data, seed, args.quick)
        labels = model.labels_
        if kind == "too many":
            pair = duplicated_pair(labels, y, n_clusters)
            bad = pair[1]
            operations = [("merge", pair), ("delete", bad), ("reinit", bad)]
        else:
            bad = mixed_cluster(labels, y, n_clusters)
            operations = [("split", bad)]
            if args.split_labels:
                operations.append(("split (labels)", bad))
        before = scores(model, labels, data, y)
        fits[kind] = {"n_clusters": n_clusters, "seconds": seconds, "bad": bad}
        runs.append(
            {"seed": int(seed), "model": kind, "operation": "none", "stage": "before"}
            | before
        )
        log(
            f"seed {seed}, {n_clusters} clusters ({kind}): ACC pool "
            f"{before['pool']['acc']:.3f} test {before['test']['acc']:.3f}, bad "
            f"cluster {bad}, fit {seconds:.0f} s"
        )
        for operation, target in operations:
            results, seconds_op, _ = timed_logged(
                operate, model, operation, target, X, y_split, refine_iter, seed
            )
            for stage in STAGES:
                after, report = results[stage]
                labels_after = (
                    report["labels_surgery"]
                    if stage == "surgery"
                    else report["labels_after"]
                )
                row = {
                    "seed": int(seed),
                    "model": kind,
                    "operation": operation,
                    "stage": stage,
                    "clusters": list(report["clusters"]),
                    "stability": report[
                        "stability_surgery" if stage == "surgery" else "stability"
                    ],
                } | scores(after, labels_after, data, y)
                if stage == "refined":
                    row["seconds"] = seconds_op
                runs.append(row)
            log(
                f"  {operation:<15} test ACC {before['test']['acc']:.3f} -> "
                f"{runs[-2]['test']['acc']:.3f} (surgery) -> "
                f"{runs[-1]['test']['acc']:.3f} (refined), stability "
                f"{runs[-1]['stability']:.3f}"
            )
    if args.reference:
        model, seconds = fit(k, X, data, seed, args.quick)
        fits["reference"] = {"n_clusters": k, "seconds": seconds}
        runs.append(
            {
                "seed": int(seed),
                "model": "refit",
                "operation": "none",
                "stage": "fitted",
            }
            | scores(model, model.labels_, data, y)
        )
        acc = runs[-1]["test"]["acc"]
        log(f"seed {seed}, refit with {k} clusters: test ACC {acc:.3f}")
    return fits, runs


def row_keys(runs):
    keys = []
    for r in runs:
        key = (r["model"], r["operation"], r["stage"])
        if key not in keys:
            keys.append(key)
    return keys


def summarise(runs, k):
    header = [
        "model",
        "operation",
        "stage",
        "clusters",
        "ACC pool",
        "NMI pool",
        "ACC test",
        "NMI test",
        "stability",
    ]
    names = {"too many": f"{k + 1} clusters", "too few": f"{k - 1} clusters"}
    names["refit"] = f"{k} clusters (refit)"
    rows = []
    for model, operation, stage in row_keys(runs):
        sel = [
            r
            for r in runs
            if (r["model"], r["operation"], r["stage"]) == (model, operation, stage)
        ]
        rows.append(
            [
                names[model],
                operation,
                stage,
                str(sel[0]["n_clusters"]),
                fmt([r["pool"]["acc"] for r in sel]),
                fmt([r["pool"]["nmi"] for r in sel]),
                fmt([r["test"]["acc"] for r in sel]),
                fmt([r["test"]["nmi"] for r in sel]),
                fmt([r["stability"] for r in sel]) if "stability" in sel[0] else "",
            ]
        )
    return header, rows


def plot(args, runs, data, k):
    plt = pyplot()
    ops = [(m, o) for m, o, s in row_keys(runs) if s == "refined"]
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
    width = 0.27
    x = np.arange(len(ops))
    for ax, metric in zip(axes, ("acc", "nmi")):
        for i, stage in enumerate(("before", "surgery", "refined")):
            means, stds = [], []
            for model, operation in ops:
                sel = [
                    r[("test")][metric]
                    for r in runs
                    if r["model"] == model
                    and (r["operation"], r["stage"])
                    == (("none", "before") if stage == "before" else (operation, stage))
                ]
                means.append(np.mean(sel))
                stds.append(np.std(sel))
            ax.bar(x + (i - 1) * width, means, width, yerr=stds, capsize=3, label=stage)
        refit = [r["test"][metric] for r in runs if r["model"] == "refit"]
        if refit:
            ax.axhline(np.mean(refit), color="k", ls="--", lw=1, label=f"refit, {k}")
        ax.set_xticks(x, [f"{o}\n({m})" for m, o in ops], fontsize=8)
        ax.set_ylabel(f"{metric.upper()} on the test images")
        lo = min(p.get_height() for p in ax.patches)
        ax.set_ylim(max(0, lo - 0.1), None)
    axes[0].legend(fontsize=8)
    fig.suptitle(f"{data.name}: surgery on a bad cluster (error bars: std over seeds)")
    return save_figure(args, fig, NAME)


def main(argv=None):
    p = parser()
    args = parse(p, argv, check)
    data = load_or_fail(p, args)
    if args.quick:
        data = data.subset(400, 200)
        args.n_train, args.split_labels = 400, 40
        args.refine_iter = args.refine_iter or 20
    k = data.n_classes
    if k < 3:
        p.exit(2, f"{p.prog}: error: the study needs at least 3 classes; got {k}.\n")
    if args.n_train > len(data.X_train):
        p.exit(
            2,
            f"{p.prog}: error: --n-train={args.n_train} exceeds the "
            f"{len(data.X_train):,} training images.\n",
        )
    started = start(
        args,
        [
            data.describe(),
            dec_description(args.quick),
            f"pool: {args.n_train:,} of the {len(data.X_train):,} training images "
            "per seed; test: all "
            f"{len(data.X_test):,} test images; models with {k + 1} and {k - 1} "
            f"clusters" + (f", refit with {k}" if args.reference else ""),
            "refinement: "
            + (
                f"{args.refine_iter} iterations"
                if args.refine_iter
                else "the default (3 x update_interval)"
            ),
        ],
    )
    fits, runs = [], []
    for seed in args.seeds:
        seed_fits, seed_runs = run_seed(data, args, seed, k)
        fits.append({"seed": int(seed), **seed_fits})
        runs.extend(seed_runs)
    header, rows = summarise(runs, k)
    write_table(args, NAME, header, rows)
    plot(args, runs, data, k)
    write_json(
        args,
        NAME,
        {
            "data": data.describe(),
            "n_classes": k,
            "fits": fits,
            "runs": runs,
            "table": {"header": header, "rows": rows},
        },
        started,
    )


if __name__ == "__main__":
    main()
