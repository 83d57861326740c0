"""Transfer between data sets: an encoder fitted on one set, reused on another.

Study experiment 4. A ``DECClusterer`` (the defaults) is fitted on
Fashion-MNIST's 60,000 training images; its 10,000 test images are then
clustered three ways, each scored against the test labels:

* ``reuse``: the fitted model's ``predict`` on the test images (no training
  on them at all);
* ``fine-tune``: ``DECClusterer(autoencoder=PretrainedEncoder(encoder))`` on
  the test images, DEC's clustering stage starting from the transferred
  encoder (no pretraining);
* ``scratch``: the defaults fitted on the test images alone.

    python benchmarks/bench_transfer.py --seeds 0 --threads 2

Prints one row per way and seed (ACC, NMI, ARI, seconds) and writes JSON to
``benchmarks/results/transfer.json``.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

from skdec import DECClusterer, PretrainedEncoder
from skdec.datasets import load_fashion_mnist
from skdec.metrics import clustering_report


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data-dir", default=None)
    p.add_argument("--seeds", type=int, nargs="+", default=[0])
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--out", default="benchmarks/results/transfer.json")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    X_train, _ = load_fashion_mnist(args.data_dir, "train", return_X_y=True)
    X_test, y_test = load_fashion_mnist(args.data_dir, "test", return_X_y=True)
    rows = []

    def record(way, seed, labels, seconds):
        row = {"way": way, "seed": seed, "seconds": round(seconds, 1)}
        row.update(clustering_report(y_test, labels))
        rows.append(row)
        print(
            f"seed {seed} {way:>9}: ACC {row['acc']:.3f} NMI {row['nmi']:.3f} "
            f"ARI {row['ari']:.3f}  {seconds:.1f} s",
            flush=True,
        )

    for seed in args.seeds:
        t = time.perf_counter()
        source = DECClusterer(10, random_state=seed).fit(X_train)
        train_seconds = time.perf_counter() - t
        print(
            f"seed {seed}: fitted on the 60,000 training images in "
            f"{train_seconds:.1f} s",
            flush=True,
        )
        t = time.perf_counter()
        record("reuse", seed, source.predict(X_test), time.perf_counter() - t)
        t = time.perf_counter()
        tuned = DECClusterer(
            10,
            autoencoder=PretrainedEncoder(source.module_.encoder),
            random_state=seed,
        ).fit(X_test)
        record("fine-tune", seed, tuned.labels_, time.perf_counter() - t)
        t = time.perf_counter()
        scratch = DECClusterer(10, random_state=seed).fit(X_test)
        record("scratch", seed, scratch.labels_, time.perf_counter() - t)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(rows, indent=2))
    for way in ("reuse", "fine-tune", "scratch"):
        acc = np.array([r["acc"] for r in rows if r["way"] == way])
        print(f"{way:>9}: ACC {acc.mean():.3f} +/- {acc.std():.3f} over {acc.size}")


if __name__ == "__main__":
    main()
