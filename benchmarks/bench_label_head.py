"""Label head vs mapper alone vs the same network trained from scratch.

For each data set and seed, DEC is fitted once on the training images (no
labels). Then, for each query strategy, label budget and volunteer accuracy,
``budget`` training subjects are chosen with :func:`skdec.select_queries`, each
gets one simulated volunteer vote (:func:`skdec.simulate_volunteers`, so the
label accuracy is the volunteer accuracy), and three classifiers are scored on
the held-out test images:

(a) ``mapper``: :class:`skdec.ClusterLabelMapper` (majority) on DEC's clusters;
(b) ``head``: :class:`skdec.LabelHeadClassifier` fine-tuned from DEC + mapper;
(c) ``scratch``: the same network with ``init='random'``, same labels.

Adam learning rates: 1e-3 for the head (fine-tuning a pretrained encoder;
1e-2 wrecks it at small budgets on Fashion-MNIST) and 1e-2 for scratch (its
better rate in a probe); ``--lr-head`` / ``--lr-scratch`` change them.

Epochs to convergence are the epochs until the training loss stopped
improving by 0.1% for 10 epochs (``best_epoch_``; early stopping on the
training loss, at most ``--max-epochs``).

Usage::

    python benchmarks/bench_label_head.py --dataset digits --seeds 0 1 2
    python benchmarks/bench_label_head.py --dataset fashion-mnist --n-train 10000 \
        --strategies central random --seeds 0
"""

import argparse
import csv
import time

import numpy as np
import torch
from sklearn.model_selection import train_test_split

from skdec import (
    ClusterLabelMapper,
    DECClusterer,
    LabelHeadClassifier,
    MLPAutoencoder,
    aggregate_votes,
    select_queries,
    simulate_volunteers,
)
from skdec.datasets import load_digits, load_fashion_mnist
from skdec.metrics import cluster_accuracy

DEC_PARAMS = {
    "digits": dict(
        autoencoder=MLPAutoencoder((256, 256), 10, epochs=100),
        max_iter=1000,
        update_interval=50,
        batch_size=64,
    ),
    "fashion-mnist": dict(
        autoencoder=MLPAutoencoder((256, 256), 10, epochs=25),
        max_iter=1500,
        update_interval=100,
        batch_size=256,
    ),
}


def load(name, n_train, seed):
    if name == "digits":
        X, y = load_digits(return_X_y=True)
        return train_test_split(X, y, test_size=0.25, stratify=y, random_state=seed)
    X_tr, y_tr = load_fashion_mnist(subset="train", return_X_y=True)
    X_te, y_te = load_fashion_mnist(subset="test", return_X_y=True)
    idx = np.random.RandomState(seed).permutation(len(X_tr))[:n_train]
    return X_tr[idx], X_te, y_tr[idx], y_te


def run(args):
    rows = []
    for seed in args.seeds:
        X_tr, X_te, y_tr, y_te = load(args.dataset, args.n_train, seed)
        t0 = time.perf_counter()
        dec = DECClusterer(10, random_state=seed, **DEC_PARAMS[args.dataset])
        dec.fit(X_tr)
        q_tr, q_te = dec.predict_proba(X_tr), dec.predict_proba(X_te)
        print(
            f"[{args.dataset} seed={seed}] DEC {time.perf_counter() - t0:.0f}s, "
            f"test cluster accuracy {cluster_accuracy(y_te, q_te.argmax(1)):.3f}",
            flush=True,
        )
        for strategy in args.strategies:
            for budget in args.budgets:
                chosen = select_queries(q_tr, budget, strategy, random_state=seed)
                for accuracy in args.accuracies:
                    votes = simulate_volunteers(
                        y_tr,
                        n_volunteers=20,
                        votes_per_subject=1,
                        accuracy=accuracy,
                        subjects=chosen,
                        random_state=seed,
                    )
                    labels = aggregate_votes(votes, subjects=np.arange(len(y_tr)))
                    labels = labels.labels
                    mapper = ClusterLabelMapper(cluster_centers=dec.cluster_centers_)
                    mapper.fit(q_tr, labels)
                    row = dict(
                        dataset=args.dataset,
                        seed=seed,
                        strategy=strategy,
                        budget=budget,
                        accuracy=accuracy,
                        label_acc=float(np.mean(labels[chosen] == y_tr[chosen])),
                        mapper_acc=mapper.score(q_te, y_te),
                    )
                    for name, init in (("head", "mapping"), ("scratch", "random")):
                        t = time.perf_counter()
                        clf = LabelHeadClassifier(
                            dec,
                            mapper,
                            init=init,
                            lr=args.lr_head if init == "mapping" else args.lr_scratch,
                            max_epochs=args.max_epochs,
                            n_iter_no_change=10,
                            tol=1e-3,
                            random_state=seed,
                        ).fit(X_tr, labels)
                        row[f"{name}_acc"] = clf.score(X_te, y_te)
                        row[f"{name}_epochs"] = clf.best_epoch_
                        row[f"{name}_s"] = time.perf_counter() - t
                    rows.append(row)
                    print(
                        " ".join(
                            f"{k}={v:.3f}" if isinstance(v, float) else f"{k}={v}"
                            for k, v in row.items()
                        ),
                        flush=True,
                    )
    return rows


def summarise(rows):
    """Mean over seeds per (strategy, budget, accuracy), as an RST table."""
    keys = sorted(
        {(r["strategy"], r["budget"], r["accuracy"]) for r in rows},
        key=lambda k: (k[0], k[1], -k[2]),
    )
    cols = ["mapper_acc", "head_acc", "scratch_acc", "head_epochs", "scratch_epochs"]
    header = [
        "strategy",
        "budget",
        "vol. acc",
        "(a) mapper",
        "(b) head",
        "(c) scratch",
        "epochs (b)",
        "epochs (c)",
    ]
    lines = []
    for key in keys:
        sel = [r for r in rows if (r["strategy"], r["budget"], r["accuracy"]) == key]
        means = [np.mean([r[c] for r in sel]) for c in cols]
        lines.append(
            [key[0], str(key[1]), f"{key[2]:.1f}"]
            + [f"{m:.3f}" for m in means[:3]]
            + [f"{m:.0f}" for m in means[3:]]
        )
    widths = [
        max(len(h), *(len(line[i]) for line in lines)) for i, h in enumerate(header)
    ]
    rule = "  ".join("=" * w for w in widths)
    out = [rule, "  ".join(h.ljust(w) for h, w in zip(header, widths)), rule]
    out += ["  ".join(c.ljust(w) for c, w in zip(line, widths)) for line in lines]
    out.append(rule)
    wins = sum(r["head_acc"] >= r["scratch_acc"] for r in rows)
    faster = sum(r["head_epochs"] < r["scratch_epochs"] for r in rows)
    out.append(
        f"head >= scratch in accuracy: {wins}/{len(rows)} runs; "
        f"head converged in fewer epochs: {faster}/{len(rows)} runs"
    )
    return "\n".join(out)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", choices=sorted(DEC_PARAMS), default="digits")
    parser.add_argument(
        "--n-train", type=int, default=10000, help="training subset of Fashion-MNIST"
    )
    parser.add_argument("--budgets", type=int, nargs="+", default=[10, 100, 1000])
    parser.add_argument("--accuracies", type=float, nargs="+", default=[1.0, 0.8, 0.6])
    parser.add_argument(
        "--strategies",
        nargs="+",
        default=["random", "central", "stratified", "uncertain"],
    )
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--max-epochs", type=int, default=200)
    parser.add_argument("--lr-head", type=float, default=1e-3)
    parser.add_argument("--lr-scratch", type=float, default=1e-2)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--csv", default=None, help="write one row per run here")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    t0 = time.perf_counter()
    rows = run(args)
    if args.csv:
        with open(args.csv, "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
    print(summarise(rows))
    print(f"total {time.perf_counter() - t0:.0f}s")


if __name__ == "__main__":
    main()
