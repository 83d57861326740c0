"""Experiment 2: volunteers' labels on a DEC model (label head, mapping, scratch).

Per seed, DECClusterer (the package defaults, ``image_shape`` for images) is
fitted ONCE, without labels, on a training pool and reused for the whole grid.
For each query strategy and label budget, ``budget`` pool subjects are chosen by
skdec.select_queries on DEC's soft assignment; each gets one simulated
volunteer vote (skdec.simulate_volunteers, 20 volunteers: the label accuracy is
the volunteer accuracy). Three classifiers learn from those labels and are
scored on the held-out test images:

  (a) mapping: skdec.ClusterLabelMapper (majority per cluster) on DEC's clusters;
  (b) head:    skdec.LabelHeadClassifier(FrozenEstimator(dec), mapper), the DEC
               network fine-tuned from the mapping (Adam, lr 1e-3);
  (c) scratch: the same network with init='random' (every weight re-drawn),
               the same labels, fitted at each --lr-scratch rate (Adam, 1e-3
               and 1e-2): the table keeps the rate with the better test
               accuracy, an upper bound for training from scratch (no rate
               suits every run: 1e-2 stays at chance on 10-100 labels in
               most runs, and wins some of those with 1,000).

Epochs to converge: best_epoch_ of early stopping on the training loss
(patience 10 epochs, relative tol 1e-3; at most --max-epochs); "ran" counts the
epochs run.

Default run (fits in 30 minutes on 2 idle cores): a pool of 10,000 training
images per seed, budgets 10 / 100 / 1,000, volunteer accuracies 1.0 / 0.8 / 0.6,
the four strategies, at most 50 epochs, the 10,000 test images; seeds 0, 1, 2.
Finer budgets, the whole training set as the pool and 100 epochs (about three
times as long):

    python benchmarks/study/volunteers.py --budgets 10 30 100 300 1000 \\
        --n-train 60000 --max-epochs 100

On your own subjects:

    python benchmarks/study/volunteers.py --data X.npy --labels y.npy \\
        --n-train 5000 --budgets 10 50 200
"""

from __future__ import annotations

from functools import partial

import numpy as np
from _common import (
    StudyError,
    dec_description,
    dec_params,
    fmt,
    label_log_axis,
    load_or_fail,
    log,
    make_parser,
    parse,
    pyplot,
    save_figure,
    start,
    subset_rows,
    timed,
    timed_logged,
    write_json,
    write_table,
)

NAME = "volunteers"
STRATEGIES = ["random", "central", "uncertain", "stratified"]
CLASSIFIERS = ("mapping", "head", "scratch")
N_VOLUNTEERS = 20


def parser():
    p = make_parser(NAME, __doc__)
    p.add_argument(
        "--n-train",
        type=int,
        default=10000,
        help="training pool DEC is fitted on and queries are drawn from, a "
        "random subset per seed (default: %(default)s; 60000: all of "
        "Fashion-MNIST's training images)",
    )
    p.add_argument(
        "--budgets",
        type=int,
        nargs="+",
        default=[10, 100, 1000],
        help="label budgets (default: %(default)s)",
    )
    p.add_argument(
        "--accuracies",
        type=float,
        nargs="+",
        default=[1.0, 0.8, 0.6],
        help="volunteer accuracies (default: %(default)s)",
    )
    p.add_argument(
        "--strategies",
        nargs="+",
        choices=STRATEGIES,
        default=STRATEGIES,
        metavar="STRATEGY",
        help="query strategies: random, central, uncertain, stratified "
        "(default: all four)",
    )
    p.add_argument(
        "--max-epochs",
        type=int,
        default=50,
        help="epochs of (b) and (c) at most (default: %(default)s)",
    )
    p.add_argument("--lr-head", type=float, default=1e-3, help="(b)'s Adam rate")
    p.add_argument(
        "--lr-scratch",
        type=float,
        nargs="+",
        default=[1e-3, 1e-2],
        help="(c)'s Adam rates; each is fitted and the one of better test "
        "accuracy is kept (default: %(default)s)",
    )
    p.add_argument(
        "--n-clusters",
        type=int,
        help="clusters (default: the number of classes, 10 for Fashion-MNIST)",
    )
    return p


def check(args):
    if args.n_train < 2:
        raise StudyError(f"--n-train must be at least 2, got {args.n_train}.")
    if min(args.budgets) < 1:
        raise StudyError(f"--budgets must be at least 1, got {min(args.budgets)}.")
    bad = [a for a in args.accuracies if not 0 <= a <= 1]
    if bad:
        raise StudyError(f"--accuracies must lie in [0, 1], got {bad[0]}.")
    rates = [args.lr_head, *args.lr_scratch]
    if min(rates) <= 0:
        raise StudyError(
            f"--lr-head and --lr-scratch must be positive, got {min(rates)}."
        )
    if args.max_epochs < 1:
        raise StudyError(f"--max-epochs must be at least 1, got {args.max_epochs}.")


def volunteer_labels(y_pool, chosen, accuracy, seed):
    """One simulated vote per chosen subject; -1 for the others."""
    from skdec import aggregate_votes, simulate_volunteers

    votes = simulate_volunteers(
        y_pool,
        n_volunteers=N_VOLUNTEERS,
        votes_per_subject=1,
        accuracy=accuracy,
        subjects=chosen,
        random_state=seed,
    )
    return aggregate_votes(votes, subjects=np.arange(len(y_pool))).labels


def fit_classifier(dec, mapper, X, labels, X_test, y_test, init, lr, args, seed):
    from sklearn.frozen import FrozenEstimator

    from skdec import LabelHeadClassifier

    clf = LabelHeadClassifier(
        FrozenEstimator(dec),
        mapper,
        init=init,
        lr=lr,
        max_epochs=args.max_epochs,
        n_iter_no_change=10,
        tol=1e-3,
        random_state=seed,
    )
    try:
        _, seconds = timed(clf.fit, X, labels)
    except ValueError as exc:  # e.g. the labels hold one class only
        return {"acc": float("nan"), "epochs": None, "ran": None, "error": str(exc)}
    return {
        "acc": float(clf.score(X_test, y_test)),
        "epochs": int(clf.best_epoch_),
        "ran": int(clf.n_epochs_),
        "seconds": seconds,
    }


def best_scratch(by_lr):
    """The scratch fit of best test accuracy (its rate under ``"lr"``); a
    failed fit (NaN) only when every rate failed."""
    finite = {lr: r for lr, r in by_lr.items() if np.isfinite(r["acc"])}
    if not finite:
        lr, result = next(iter(by_lr.items()))
    else:
        lr, result = max(finite.items(), key=lambda item: item[1]["acc"])
    return {**result, "lr": float(lr)}


def run_seed(data, args, seed, n_clusters):
    from skdec import ClusterLabelMapper, DECClusterer, select_queries
    from skdec.metrics import clustering_report

    pool = subset_rows(len(data.X_train), args.n_train, seed)
    X, y = data.X_train[pool], data.y_train[pool]
    dec = DECClusterer(
        n_clusters, random_state=seed, **dec_params(data.image_shape, args.quick)
    )
    _, dec_s, _ = timed_logged(dec.fit, X)
    q_pool, q_test = dec.predict_proba(X), dec.predict_proba(data.X_test)
    dec_run = {
        "seed": int(seed),
        "fit_seconds": dec_s,
        "pool": clustering_report(y, dec.labels_),
        "test": clustering_report(data.y_test, q_test.argmax(axis=1)),
    }
    log(
        f"seed {seed}: DEC on {len(X):,} pool images in {dec_s:.0f} s, test "
        f"cluster ACC {dec_run['test']['acc']:.3f}"
    )
    runs = []
    for strategy in args.strategies:
        for budget in args.budgets:
            chosen = select_queries(q_pool, budget, strategy, random_state=seed)
            for accuracy in args.accuracies:
                labels = volunteer_labels(y, chosen, accuracy, seed)
                mapper = ClusterLabelMapper(cluster_centers=dec.cluster_centers_)
                mapper.fit(q_pool, labels)
                run = {
                    "seed": int(seed),
                    "strategy": strategy,
                    "budget": int(budget),
                    "accuracy": float(accuracy),
                    "label_acc": float(np.mean(labels[chosen] == y[chosen])),
                    "n_classes_labelled": int(np.unique(labels[chosen]).size),
                    "mapping": {"acc": float(mapper.score(q_test, data.y_test))},
                }
                fit = partial(
                    fit_classifier, dec, mapper, X, labels, data.X_test, data.y_test
                )
                run["head"] = fit("mapping", args.lr_head, args, seed)
                run["scratch_by_lr"] = {
                    str(lr): fit("random", lr, args, seed) for lr in args.lr_scratch
                }
                run["scratch"] = best_scratch(run["scratch_by_lr"])
                runs.append(run)
                log(
                    f"seed {seed} {strategy:<10} {budget:>5} labels, volunteers "
                    f"{accuracy:.1f}: mapping {run['mapping']['acc']:.3f} head "
                    f"{run['head']['acc']:.3f} ({run['head']['epochs']} ep) "
                    f"scratch {run['scratch']['acc']:.3f} "
                    f"({run['scratch']['epochs']} ep, lr {run['scratch']['lr']:g}; "
                    + ", ".join(
                        f"{lr}: {r['acc']:.3f}"
                        for lr, r in run["scratch_by_lr"].items()
                    )
                    + ")"
                )
    return dec_run, runs


def _epochs(sel, name):
    return [r[name]["epochs"] for r in sel if r[name]["epochs"] is not None]


def summarise(runs, args):
    header = [
        "strategy",
        "labels",
        "volunteers",
        "label acc",
        "(a) mapping",
        "(b) head",
        "(c) scratch, better rate",
        "epochs (b)",
        "epochs (c)",
    ]
    rows = []
    for strategy in args.strategies:
        for budget in args.budgets:
            for accuracy in args.accuracies:
                sel = [
                    r
                    for r in runs
                    if (r["strategy"], r["budget"], r["accuracy"])
                    == (strategy, budget, accuracy)
                ]
                rows.append(
                    [
                        strategy,
                        str(budget),
                        f"{accuracy:.1f}",
                        fmt([r["label_acc"] for r in sel], 2),
                        *(fmt([r[c]["acc"] for r in sel]) for c in CLASSIFIERS),
                        fmt(_epochs(sel, "head"), 0),
                        fmt(_epochs(sel, "scratch"), 0),
                    ]
                )
    return header, rows


def headline(runs):
    ok = [r for r in runs if np.isfinite(r["head"]["acc"] + r["scratch"]["acc"])]
    wins = sum(r["head"]["acc"] >= r["scratch"]["acc"] for r in ok)
    beats_map = sum(r["head"]["acc"] >= r["mapping"]["acc"] for r in ok)
    faster = sum(r["head"]["epochs"] < r["scratch"]["epochs"] for r in ok)
    return (
        f"head >= scratch in test accuracy: {wins}/{len(ok)} runs; head >= "
        f"mapping: {beats_map}/{len(ok)}; head converged in fewer epochs than "
        f"scratch: {faster}/{len(ok)}"
    )


def _curve(runs, key, budgets):
    means, stds = [], []
    for b in budgets:
        vals = [key(r) for r in runs if r["budget"] == b]
        vals = [v for v in vals if v is not None and np.isfinite(v)]
        means.append(np.mean(vals) if vals else np.nan)
        stds.append(np.std(vals) if vals else np.nan)
    return np.array(means), np.array(stds)


def plot(args, runs, data):
    plt = pyplot()
    budgets = args.budgets
    n_rows, n_cols = len(args.strategies), len(args.accuracies)
    fig, axes = plt.subplots(
        n_rows,
        n_cols,
        figsize=(3.6 * n_cols, 2.8 * n_rows),
        sharex=True,
        sharey=True,
        squeeze=False,
    )
    for i, strategy in enumerate(args.strategies):
        for j, accuracy in enumerate(args.accuracies):
            ax = axes[i, j]
            sel = [
                r
                for r in runs
                if r["strategy"] == strategy and r["accuracy"] == accuracy
            ]
            for name, style in zip(CLASSIFIERS, ("o-", "s-", "^--")):
                mean, std = _curve(sel, lambda r, n=name: r[n]["acc"], budgets)
                ax.errorbar(budgets, mean, yerr=std, fmt=style, capsize=3, label=name)
            label_log_axis(ax, budgets)
            ax.set(title=f"{strategy}, volunteers {accuracy:.1f}")
            if i == n_rows - 1:
                ax.set_xlabel("labels")
            if j == 0:
                ax.set_ylabel("test accuracy")
    axes[0, 0].legend()
    fig.suptitle(f"{data.name}: accuracy on {len(data.X_test):,} test images")
    acc_path = save_figure(args, fig, NAME)

    fig, axes = plt.subplots(1, n_cols, figsize=(3.6 * n_cols, 3), squeeze=False)
    for j, accuracy in enumerate(args.accuracies):
        ax = axes[0, j]
        sel = [r for r in runs if r["accuracy"] == accuracy]
        for name, style in (("head", "s-"), ("scratch", "^--")):
            mean, std = _curve(sel, lambda r, n=name: r[n]["epochs"], budgets)
            ax.errorbar(budgets, mean, yerr=std, fmt=style, capsize=3, label=name)
        label_log_axis(ax, budgets)
        ax.set(xlabel="labels", title=f"volunteers {accuracy:.1f}")
    axes[0, 0].set_ylabel("epochs to converge")
    axes[0, 0].legend()
    fig.suptitle("epochs to converge (all strategies; error bars: std)")
    return acc_path, save_figure(args, fig, f"{NAME}_epochs")


def main(argv=None):
    p = parser()
    args = parse(p, argv, check)
    data = load_or_fail(p, args)
    if args.quick:
        data = data.subset(400, 200)
        args.n_train, args.budgets = 400, [10, 40]
        args.accuracies, args.max_epochs = [1.0, 0.6], 5
    if args.n_train > len(data.X_train):
        p.exit(
            2,
            f"{p.prog}: error: --n-train={args.n_train} exceeds the "
            f"{len(data.X_train):,} training images.\n",
        )
    if max(args.budgets) > args.n_train:
        p.exit(
            2,
            f"{p.prog}: error: budget {max(args.budgets)} exceeds the pool "
            f"(--n-train={args.n_train}).\n",
        )
    n_clusters = args.n_clusters or data.n_classes
    started = start(
        args,
        [
            data.describe(),
            dec_description(args.quick),
            f"pool: {args.n_train:,} of the {len(data.X_train):,} training images "
            f"per seed (DEC fitted once per seed); test: all {len(data.X_test):,} "
            "test images",
            f"strategies {', '.join(args.strategies)}; budgets "
            f"{', '.join(map(str, args.budgets))}; volunteer accuracies "
            f"{', '.join(map(str, args.accuracies))}; at most {args.max_epochs} "
            "epochs",
        ],
    )
    dec_runs, runs = [], []
    for seed in args.seeds:
        dec_run, seed_runs = run_seed(data, args, seed, n_clusters)
        dec_runs.append(dec_run)
        runs.extend(seed_runs)
    header, rows = summarise(runs, args)
    write_table(args, NAME, header, rows)
    summary = headline(runs)
    log(summary)
    log(
        "DEC alone (test cluster ACC): "
        + fmt([d["test"]["acc"] for d in dec_runs])
        + f", fit {fmt([d['fit_seconds'] for d in dec_runs], 0)} s"
    )
    plot(args, runs, data)
    write_json(
        args,
        NAME,
        {
            "data": data.describe(),
            "n_clusters": n_clusters,
            "dec": dec_runs,
            "runs": runs,
            "headline": summary,
            "table": {"header": header, "rows": rows},
        },
        started,
    )


if __name__ == "__main__":
    main()
