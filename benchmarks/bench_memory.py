"""The gallery's grid search over init strategies with and without ``memory``.

``DECClusterer(memory=...)`` caches the pretraining, so a search over
clustering-stage parameters pretrains once per fold instead of once per fold
and candidate. This runs the search of ``examples/plot_grid_search_init.py``
both ways in one process, one after the other, and prints the wall times,
their ratio and whether every cross-validated score is identical.

    python benchmarks/bench_memory.py            # the gallery's search
    python benchmarks/bench_memory.py --epochs 100 --inits umap kmeans gmm
    python benchmarks/bench_memory.py --hidden-dims 500 500 2000 --epochs auto

With ``k`` candidates, 2 folds and the refit, a search fits ``2k + 1`` models
and the cache pretrains 3 of them, so the speed-up is at most ``(2k + 1) / 3``
(3.0x for the gallery's four candidates), reached only when the clustering
stage costs nothing; the second line is a search whose fits are mostly
pretraining (the default network).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler

from skdec import DECClusterer, MLPAutoencoder
from skdec.datasets import load_digits
from skdec.metrics import accuracy_scorer


def dec_objective(estimator, X, y=None):
    return estimator.score(X)


def search(X, y, inits, hidden_dims, epochs, memory):
    pipe = make_pipeline(
        MinMaxScaler(),
        DECClusterer(
            10,
            autoencoder=MLPAutoencoder(hidden_dims, epochs=epochs),
            max_iter=300,
            memory=memory,
            random_state=0,
        ),
    )
    grid = GridSearchCV(
        pipe,
        {"decclusterer__init": inits},
        scoring={"acc": accuracy_scorer, "kl": dec_objective},
        refit="acc",
        cv=2,
    )
    t = time.perf_counter()
    grid.fit(X, y)
    return time.perf_counter() - t, grid.cv_results_


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--epochs", type=lambda v: v if v == "auto" else int(v), default=30)
    p.add_argument("--hidden-dims", type=int, nargs="+", default=[128, 128])
    p.add_argument(
        "--inits", nargs="+", default=["kmeans", "spherical-kmeans", "gmm", "random"]
    )
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--out", default="benchmarks/results/memory.json")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    X, y = load_digits(return_X_y=True)
    plain_s, plain = search(
        X, y, args.inits, tuple(args.hidden_dims), args.epochs, None
    )
    with tempfile.TemporaryDirectory() as cache:
        cached_s, cached = search(
            X, y, args.inits, tuple(args.hidden_dims), args.epochs, cache
        )
    same = all(
        np.array_equal(plain[k], cached[k])
        for k in plain
        if k.startswith(("split", "mean_test", "std_test"))
    )
    print(
        f"digits, {len(args.inits)} inits x 2 folds, network {args.hidden_dims}, "
        f"{args.epochs} epochs"
    )
    bound = (2 * len(args.inits) + 1) / 3
    print(
        f"{2 * len(args.inits) + 1} fits, 3 pretrainings with memory: "
        f"at most x{bound:.2f}"
    )
    print(f"without memory {plain_s:7.1f} s")
    print(f"with memory    {cached_s:7.1f} s   speed-up x{plain_s / cached_s:.2f}")
    print(f"identical scores: {same}")
    for params, acc in zip(plain["params"], plain["mean_test_acc"]):
        print(f"  {params['decclusterer__init']:>17}: ACC {acc:.3f}")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(
        json.dumps(
            dict(
                inits=args.inits,
                epochs=args.epochs,
                hidden_dims=args.hidden_dims,
                bound=bound,
                seconds_without=plain_s,
                seconds_with=cached_s,
                speedup=plain_s / cached_s,
                identical_scores=same,
            ),
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
