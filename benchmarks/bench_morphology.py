"""Survey cut-outs: clusters of MorphologyFeatures against k-means on the
pixels, on a folder with a ``classes.csv`` (OBJID,CLASS) beside it.

The folder is read as ``skdec cluster --images DIR`` reads it (32x32 RGB, the
centre crop and stretch chosen by 'auto'), or with ``--size``/``--stretch``.
Per seed, into ``--clusters`` clusters: k-means on the pixels (n_init=10);
``make_pipeline(MorphologyFeatures, StandardScaler, ...)`` with k-means
(n_init=10), a full-covariance Gaussian mixture (n_init=3) and, with
``--dec``, DECClusterer's defaults; and an all-labels ceiling (this
benchmark only), a logistic regression's 5-fold predictions on the same
features. Scores as in bench_survey.py (NMI, ARI, mapped balanced accuracy,
MI and H(C) in nats)::

    python benchmarks/bench_morphology.py ../shared/data/gz1-dev --seeds 0 1 2 3 4 --dec
"""

from __future__ import annotations

import argparse
import csv
import json
import resource
import sys
import time
from pathlib import Path

import numpy as np
from sklearn.cluster import KMeans
from sklearn.linear_model import LogisticRegression
from sklearn.mixture import GaussianMixture
from sklearn.model_selection import cross_val_predict
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

sys.path.insert(0, str(Path(__file__).parent))
from bench_survey import FOUR, scores  # noqa: E402

from skdec import DECClusterer, MorphologyFeatures  # noqa: E402
from skdec._inputs import IMAGE_DEFAULTS  # noqa: E402
from skdec.datasets import load_image_folder  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", type=Path, help="holds images/ and classes.csv")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--clusters", type=int, default=10)
    parser.add_argument("--size", type=int, default=IMAGE_DEFAULTS["image_size"][0])
    parser.add_argument("--stretch", default=IMAGE_DEFAULTS["stretch"])
    parser.add_argument("--dec", action="store_true", help="also DECClusterer")
    args = parser.parse_args(argv)
    classes = {
        r["OBJID"]: int(r["CLASS"])
        for r in csv.DictReader(open(args.root / "classes.csv"))
    }
    options = dict(IMAGE_DEFAULTS, image_size=(args.size, args.size))
    options["stretch"] = None if args.stretch == "linear" else args.stretch
    start = time.perf_counter()
    bunch = load_image_folder(args.root / "images", **options)
    print(
        f"read {len(bunch.data)} images {bunch.image_shape}, crop "
        f"{bunch.center_crop}, stretch {bunch.stretch}: "
        f"{time.perf_counter() - start:.1f}s",
        flush=True,
    )
    y = np.array([FOUR[classes[Path(f).stem]] for f in bunch.filenames])
    start = time.perf_counter()
    morph = MorphologyFeatures(bunch.image_shape).fit_transform(bunch.data)
    feature_seconds = time.perf_counter() - start
    Z = StandardScaler().fit_transform(morph)
    print(f"{Z.shape[1]} features per image in {feature_seconds:.1f}s", flush=True)
    k = args.clusters
    readout = make_pipeline(StandardScaler(), LogisticRegression(max_iter=3000))
    ceiling = scores(cross_val_predict(readout, morph, y, cv=5), y)
    results = []
    for seed in args.seeds:
        row = {"seed": seed}
        methods = [
            ("kmeans_pixels", KMeans(k, n_init=10, random_state=seed), bunch.data),
            ("morphology_kmeans", KMeans(k, n_init=10, random_state=seed), Z),
            (
                "morphology_gmm",
                GaussianMixture(k, covariance_type="full", n_init=3, random_state=seed),
                Z,
            ),
        ]
        if args.dec:
            methods.append(
                ("morphology_dec", DECClusterer(n_clusters=k, random_state=seed), Z)
            )
        for name, estimator, data in methods:
            start = time.perf_counter()
            labels = estimator.fit_predict(data)
            row[name] = {**scores(labels, y), "seconds": time.perf_counter() - start}
        results.append(row)
        print(json.dumps(row), flush=True)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak memory {peak:.0f} MB; features {feature_seconds:.1f}s")
    print("all labels, logistic regression (5-fold):", json.dumps(ceiling))
    for name in results[0]:
        if name == "seed":
            continue
        for key in ("nmi", "ari", "balanced_acc", "mi", "h_clusters", "seconds"):
            v = [r[name][key] for r in results]
            print(f"{name:18s} {key:13s} {np.mean(v):.3f} +- {np.std(v):.3f}")


if __name__ == "__main__":
    main()
