"""Survey cut-outs: ``skdec cluster --images DIR`` against k-means on the pixels
it read, on a folder with a ``classes.csv`` (OBJID,CLASS) beside it.

Scores four classes (Galaxy Zoo 1: 0 elliptical, 1+2 spiral, 3 edge-on, 4+5
other): NMI, ARI and the balanced accuracy of labels mapped from 10 random
subjects per cluster (mean of 5 draws), per seed, each run in its own
process, one at a time::

    python benchmarks/bench_survey.py ../shared/data/gz1-dev --seeds 0 1 2 3 4

Each score also gives the entropy of the clusters ``h_clusters`` and their
mutual information with the classes ``mi`` (nats; NMI is ``2 mi / (H(classes)
+ h_clusters)``), so that a gain in NMI can be told from a change of cluster
sizes. Where the quality is lost is measured on the run's final embedding
(``embedding.npy``): k-means into as many clusters, and two ceilings that use
every label (this benchmark only; nothing in a fit sees them): a logistic
regression's 5-fold predictions (``readout_4``) and k-means into as many
clusters on its predicted class probabilities (``readout_k``).
"""

from __future__ import annotations

import argparse
import csv
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from sklearn.cluster import KMeans
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import (
    adjusted_rand_score,
    balanced_accuracy_score,
    mutual_info_score,
    normalized_mutual_info_score,
)
from sklearn.model_selection import cross_val_predict
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

FOUR = {0: 0, 1: 1, 2: 1, 3: 2, 4: 3, 5: 3}


def mapped_balanced_accuracy(pred, y, seed, per_cluster=10):
    """Each cluster takes the majority class of ``per_cluster`` random members."""
    rng = np.random.RandomState(seed)
    mapping = {}
    for c in np.unique(pred):
        members = np.flatnonzero(pred == c)
        picked = rng.choice(members, min(per_cluster, len(members)), replace=False)
        mapping[c] = np.bincount(y[picked], minlength=4).argmax()
    return balanced_accuracy_score(y, np.array([mapping[c] for c in pred]))


def scores(pred, y):
    return {
        "nmi": normalized_mutual_info_score(y, pred),
        "ari": adjusted_rand_score(y, pred),
        "balanced_acc": float(
            np.mean([mapped_balanced_accuracy(pred, y, s) for s in range(5)])
        ),
        "mi": mutual_info_score(y, pred),
        "h_clusters": mutual_info_score(pred, pred),
    }


def embedding_stages(Z, y, n_clusters, seed):
    """k-means on the embedding ``Z``, and the two all-labels ceilings."""
    readout = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
    proba = cross_val_predict(readout, Z, y, cv=5, method="predict_proba")
    return {
        "embedding_kmeans": scores(
            KMeans(n_clusters, n_init=10, random_state=seed).fit_predict(Z), y
        ),
        "readout_4": scores(proba.argmax(1), y),
        "readout_k": scores(
            KMeans(n_clusters, n_init=10, random_state=seed).fit_predict(proba), y
        ),
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", type=Path, help="holds images/ and classes.csv")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--extra", default="", help="more skdec cluster options")
    parser.add_argument("--out", type=Path, default=Path("/tmp/skdec-bench-survey"))
    args = parser.parse_args(argv)
    classes = {
        r["OBJID"]: int(r["CLASS"])
        for r in csv.DictReader(open(args.root / "classes.csv"))
    }
    results = []
    for seed in args.seeds:
        out = args.out / f"seed{seed}"
        cmd = [
            sys.executable,
            "-m",
            "skdec",
            "cluster",
            "--images",
            str(args.root / "images"),
        ]
        cmd += [
            "--seed",
            str(seed),
            "--output",
            str(out),
            "--quiet",
            *args.extra.split(),
        ]
        start = time.perf_counter()
        subprocess.run(cmd, check=True)
        seconds = time.perf_counter() - start
        rows = list(csv.DictReader(open(out / "labels.csv")))
        name_key = next(k for k in rows[0] if k in ("file", "filename", "name"))
        y = np.array([FOUR[classes[Path(r[name_key]).stem]] for r in rows])
        pred = np.array([int(r["cluster"]) for r in rows])
        import joblib

        start_labels = joblib.load(out / "model.joblib").init_labels_
        # the largest child so far: each seed's run is at least as large
        peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        from skdec._inputs import IMAGE_DEFAULTS
        from skdec.datasets import load_image_folder

        pixels = load_image_folder(args.root / "images", **IMAGE_DEFAULTS).data
        km = KMeans(int(pred.max()) + 1, n_init=10, random_state=seed).fit_predict(
            pixels
        )
        results.append(
            {
                "seed": seed,
                "seconds": seconds,
                "peak_rss_mb_max_so_far": round(peak_mb),
                "skdec_start": scores(start_labels, y),
                "skdec": scores(pred, y),
                "kmeans": scores(km, y),
                **embedding_stages(
                    np.load(out / "embedding.npy"), y, int(pred.max()) + 1, seed
                ),
            }
        )
        print(json.dumps(results[-1]), flush=True)
    print(f"H(classes) {mutual_info_score(y, y):.3f} nats")
    for method in (
        "kmeans",
        "embedding_kmeans",
        "skdec_start",
        "skdec",
        "readout_4",
        "readout_k",
    ):
        for key in ("nmi", "ari", "balanced_acc", "mi", "h_clusters"):
            v = [r[method][key] for r in results]
            print(f"{method:11s} {key:13s} {np.mean(v):.3f} +- {np.std(v):.3f}")


if __name__ == "__main__":
    main()
