"""Benchmark skdec's DEC against baselines, side by side, in one run.

Methods (``--methods``):

* ``skdec``      DECClusterer with its defaults, updated by ``--dec-params`` (JSON);
                 also reports ``start``: the same run's labels before the DEC
                 stage (`init_labels_`: the start partition, no extra cost);
* ``kmeans``     sklearn KMeans on the raw data, n_init=10;
* ``clustpy``    ClustPy's DEC (PyPI ``clustpy``) in its own virtual environment
                 (``--clustpy-python``, made by ``--setup-clustpy``); skipped with a
                 message when that interpreter is missing;
* ``n2d``        ClustPy's N2D in the same environment, with UMAP as its manifold
                 step (10 components, 20 neighbours, ``min_dist=0``), as
                 ../shared/PEERS.md runs it.

Each run is a separate process, so peak resident memory is per run (skdec's
includes the peaks of the worker processes of its start, ``n_jobs``). Per run and
as mean +/- std over seeds it prints ACC, NMI, ARI, wall time (pretraining /
centre initialisation / clustering for skdec), peak RSS, and writes JSON + CSV.
It also measures this machine's dense matmul throughput in float32 and bfloat16
and reports the fraction of it, in the dtype of the run's ``precision_``, that
skdec's autoencoder pretraining achieved (the roofline).

Examples::

    python benchmarks/bench_dec.py --dataset digits --seeds 0 1 2
    python benchmarks/bench_dec.py --dataset fashion-mnist --methods skdec kmeans
    python benchmarks/bench_dec.py --dataset digits --dec-params '{"gamma": 0.1}' \\
        --tag idec
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from _memory import peak_rss_mb, workers_peak_mb  # benchmarks/_memory.py

HERE = Path(__file__).resolve().parent
DEFAULT_CLUSTPY = Path.home() / "venvs" / "clustpy" / "bin" / "python"

CLUSTPY_WORKER = r"""
import json, resource, sys, time
import numpy as np
import torch
torch.set_num_threads(int(sys.argv[4]))
X = np.load(sys.argv[1]); n_clusters = int(sys.argv[2]); seed = int(sys.argv[3])
method = sys.argv[6]
t = time.perf_counter()
if method == "clustpy":
    from clustpy.deep import DEC
    model = DEC(n_clusters=n_clusters, random_state=seed).fit(X)
    labels = model.dec_labels_
else:
    import umap
    from clustpy.deep import N2D
    model = N2D(n_clusters=n_clusters, manifold_class=umap.UMAP,
                manifold_params={"n_components": n_clusters, "n_neighbors": 20,
                                 "min_dist": 0.0}, random_state=seed).fit(X)
    labels = model.labels_
seconds = time.perf_counter() - t
np.save(sys.argv[5], np.asarray(labels))
# VmHWM: this process's own peak (ru_maxrss also counts the parent's memory
# at the fork that started it)
hwm = [l for l in open("/proc/self/status") if l.startswith("VmHWM:")]
peak = int(hwm[0].split()[1]) / 1024 if hwm else (
    resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
print("RESULT " + json.dumps({"seconds": seconds, "peak_rss_mb": peak}))
"""


def load(dataset, data_dir):
    from skdec import datasets

    if dataset == "digits":
        return datasets.load_digits(return_X_y=True)
    if dataset.startswith(("fashion-mnist", "mnist")):
        # fashion-mnist, fashion-mnist-test, fashion-mnist-train, mnist-test, ...
        base, _, subset = dataset.partition("-mnist")
        subset = subset.lstrip("-") or "all"
        if base == "fashion":
            return datasets.load_fashion_mnist(data_dir, subset, return_X_y=True)
        return datasets.load_mnist(data_dir, subset, return_X_y=True)
    X = np.load(dataset)
    y_path = Path(dataset).with_name(Path(dataset).stem + "_labels.npy")
    return X, (np.load(y_path) if y_path.exists() else None)


def ae_flops_per_sample(model):
    """FLOPs of one forward+backward pass of a fully connected autoencoder
    for one sample (its encoder's weights, mirrored by the decoder)."""
    weights = sum(
        p.numel()
        for n, p in model.module_.encoder.named_parameters()
        if n.endswith("weight")
    )
    return 6 * 2 * weights  # forward 2 per weight, backward 4 per weight


def matmul_gflops(threads):
    """Dense matmul throughput per precision with ``threads`` torch threads."""
    import torch
    from bench_throughput import DTYPES, roofline  # sibling script

    torch.set_num_threads(threads)
    return {name: roofline(dtype=dtype) for name, dtype in DTYPES.items()}


def worker(args):
    """Run one method on one seed; print a RESULT line of JSON."""
    import torch

    torch.set_num_threads(args.threads)
    X = np.load(args.x_path)
    n_clusters = args.n_clusters
    out = {}
    if args.method == "kmeans":
        from sklearn.cluster import KMeans

        t = time.perf_counter()
        labels = KMeans(n_clusters, n_init=10, random_state=args.seed).fit_predict(X)
        out["seconds"] = time.perf_counter() - t
    else:
        from skdec import (
            ContrastiveEncoder,
            ConvAutoencoder,
            DECClusterer,
            MLPAutoencoder,
            ShiftRotate,
            StackedAutoencoder,
        )

        # nested names reach the autoencoder: {"autoencoder__epochs": 50};
        # {"autoencoder": "stacked"} picks the paper's layer-wise pretraining,
        # {"autoencoder": "conv", "image_shape": [28, 28]} the convolutional one;
        # {"augment": "shift-rotate", "augment__max_shift": 0.05} sets the amounts;
        # {"autoencoder": "contrastive", "autoencoder__augment": {"flip": true}}
        # gives the contrastive encoder's views ShiftRotate(flip=True)
        params = dict(json.loads(args.dec_params or "{}"))
        if params.get("augment") == "shift-rotate":
            params["augment"] = ShiftRotate()
        if isinstance(params.get("autoencoder__augment"), dict):
            params["autoencoder__augment"] = ShiftRotate(
                **params["autoencoder__augment"]
            )
        kind = params.pop("autoencoder", "mlp")
        kinds = {
            "mlp": MLPAutoencoder,
            "stacked": StackedAutoencoder,
            "conv": ConvAutoencoder,
            "contrastive": ContrastiveEncoder,
        }
        ae = kinds[kind]()
        model = DECClusterer(n_clusters, autoencoder=ae, random_state=args.seed)
        model.set_params(**params)
        t = time.perf_counter()
        model.fit(X)
        out["seconds"] = time.perf_counter() - t
        out["timings"] = model.timings_
        out["n_iter"] = model.n_iter_
        out["converged"] = model.converged_
        out["rolled_back"] = sum(h["rolled_back"] for h in model.history_)
        out["precision"] = model.precision_
        labels = model.labels_
        np.save(args.labels_path + ".init.npy", model.init_labels_)
        if model.pretrain_history_:
            history = model.pretrain_history_[-1]
            # every pretraining run costs the same; layer-wise pretraining does
            # other work besides the end-to-end epochs, so it gets no figure
            samples = len(X) * len(history) * len(model.pretrain_losses_)
            if kind == "mlp":
                out["pretrain_gflops"] = (
                    ae_flops_per_sample(model) * samples / model.timings_["pretrain"]
                ) / 1e9
            out["pretrain_loss"] = float(history[-1, "train_loss"])
    np.save(args.labels_path, labels)
    out["own_peak_rss_mb"] = peak_rss_mb()
    # the start's worker processes (n_jobs) are alive until this one ends
    out["workers_peak_rss_mb"] = workers_peak_mb()
    out["peak_rss_mb"] = out["own_peak_rss_mb"] + out["workers_peak_rss_mb"]
    print("RESULT " + json.dumps(out), flush=True)


def run_child(cmd):
    done = subprocess.run(cmd, capture_output=True, text=True)
    for line in done.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[7:])
    raise RuntimeError(f"{cmd[:3]} failed:\n{done.stderr[-3000:]}")


def setup_clustpy(python):
    venv = Path(python).parent.parent
    steps = [
        [sys.executable, "-m", "venv", str(venv)],
        [python, "-m", "pip", "install", "-q", "torch==2.14.1", "torchvision==0.29.1"],
        [python, "-m", "pip", "install", "-q", "clustpy==0.0.3", "umap-learn"],
    ]
    for step in steps:
        print("setup:", " ".join(step), flush=True)
        if subprocess.run(step).returncode != 0:
            print("setup: failed; ClustPy runs will be skipped", flush=True)
            return


def scores(y, labels):
    from skdec.metrics import clustering_report

    return {k: float(v) for k, v in clustering_report(y, labels).items()}


def summarise(rows):
    print(
        f"\n{'method':<12}{'ACC':>16}{'NMI':>16}{'ARI':>16}{'seconds':>18}"
        f"{'peak MB':>10}"
    )
    by_method = {}
    for r in rows:
        by_method.setdefault(r["method"], []).append(r)
    summary = {}
    for method, rs in by_method.items():
        s = {}
        for key in ("acc", "nmi", "ari", "seconds", "peak_rss_mb"):
            vals = np.array([r[key] for r in rs if r.get(key) is not None], float)
            s[key] = (float(vals.mean()), float(vals.std())) if len(vals) else None
        summary[method] = s

        def fmt(v, digits=3):
            return "n/a" if v is None else f"{v[0]:.{digits}f} +/- {v[1]:.{digits}f}"

        print(
            f"{method:<12}{fmt(s['acc']):>16}{fmt(s['nmi']):>16}"
            f"{fmt(s['ari']):>16}{fmt(s['seconds'], 1):>18}"
            f"{s['peak_rss_mb'][0] if s['peak_rss_mb'] else float('nan'):>10.0f}"
        )
    a = summary.get("skdec")
    for peer in ("clustpy", "n2d", "kmeans"):
        b = summary.get(peer)
        if a is None or b is None or not a["acc"] or not b["acc"]:
            continue
        print(
            f"skdec / {peer} (same run, same machine): time ratio "
            f"{a['seconds'][0] / b['seconds'][0]:.2f}, ACC ratio "
            f"{a['acc'][0] / b['acc'][0]:.3f}, NMI ratio "
            f"{a['nmi'][0] / b['nmi'][0]:.3f}"
        )
    return summary


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--dataset",
        default="digits",
        help="digits, fashion-mnist, mnist (with --data-dir) or a .npy",
    )
    p.add_argument("--data-dir")
    p.add_argument(
        "--methods", nargs="+", default=["skdec", "kmeans", "clustpy", "n2d"]
    )
    p.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    p.add_argument("--n-clusters", type=int, default=10)
    p.add_argument("--dec-params", default="{}", help="JSON DECClusterer params")
    p.add_argument("--threads", type=int, default=os.cpu_count())
    p.add_argument("--tag", default="default")
    p.add_argument("--out", default=str(HERE / "results"))
    p.add_argument("--clustpy-python", default=str(DEFAULT_CLUSTPY))
    p.add_argument(
        "--setup-clustpy",
        action="store_true",
        help="create ClustPy's virtual environment first",
    )
    # internal: one run in a child process
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--method", help=argparse.SUPPRESS)
    p.add_argument("--seed", type=int, help=argparse.SUPPRESS)
    p.add_argument("--x-path", help=argparse.SUPPRESS)
    p.add_argument("--labels-path", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.worker:
        return worker(args)

    if args.setup_clustpy and "clustpy" in args.methods:
        setup_clustpy(args.clustpy_python)
    X, y = load(args.dataset, args.data_dir)
    X = np.ascontiguousarray(X, dtype=np.float32)
    name = Path(args.dataset).stem
    print(
        f"{name}: {X.shape[0]} x {X.shape[1]}, {args.threads} torch threads, "
        f"{platform.processor() or platform.machine()}",
        flush=True,
    )
    gflops = matmul_gflops(args.threads)
    print(
        "dense matmul roofline: "
        + ", ".join(f"{k} {v:.1f} GFLOP/s" for k, v in gflops.items()),
        flush=True,
    )

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        x_path = os.path.join(tmp, "X.npy")
        np.save(x_path, X)
        for seed in args.seeds:
            for method in args.methods:
                labels_path = os.path.join(tmp, f"{method}-{seed}.npy")
                if method in ("clustpy", "n2d"):
                    if not Path(args.clustpy_python).exists():
                        print(
                            f"clustpy: skipped, no interpreter at "
                            f"{args.clustpy_python} (use --setup-clustpy)"
                        )
                        continue
                    script = os.path.join(tmp, "clustpy_worker.py")
                    Path(script).write_text(CLUSTPY_WORKER)
                    cmd = [
                        args.clustpy_python,
                        script,
                        x_path,
                        str(args.n_clusters),
                        str(seed),
                        str(args.threads),
                        labels_path,
                        method,
                    ]
                else:
                    cmd = [
                        sys.executable,
                        __file__,
                        "--worker",
                        "--method",
                        method,
                        "--seed",
                        str(seed),
                        "--x-path",
                        x_path,
                        "--labels-path",
                        labels_path,
                        "--n-clusters",
                        str(args.n_clusters),
                        "--dec-params",
                        args.dec_params,
                        "--threads",
                        str(args.threads),
                    ]
                res = run_child(cmd)
                row = {"dataset": name, "method": method, "seed": seed, **res}
                if y is not None:
                    row.update(scores(y, np.load(labels_path)))
                rows.append(row)
                extra = ""
                if method == "skdec":
                    t = res["timings"]
                    extra = (
                        f" (pretrain {t['pretrain']:.1f} / init {t['init']:.1f} / "
                        f"cluster {t['cluster']:.1f}; {res['n_iter']} iterations"
                    )
                    if res.get("rolled_back"):
                        extra += f", {res['rolled_back']} collapse roll-back(s)"
                    if "pretrain_gflops" in res:
                        peak = gflops[res["precision"]]
                        extra += (
                            f"; {res['precision']} pretraining "
                            f"{res['pretrain_gflops']:.1f} GFLOP/s = "
                            f"{res['pretrain_gflops'] / peak:.0%} of roofline"
                        )
                    extra += ")"
                    init = np.load(labels_path + ".init.npy")
                    ae = {
                        "dataset": name,
                        "method": "start",
                        "seed": seed,
                        "seconds": t["pretrain"] + t["init"],
                        "peak_rss_mb": res["peak_rss_mb"],
                    }
                    if y is not None:
                        ae.update(scores(y, init))
                    rows.append(ae)
                acc = (
                    f"ACC {row['acc']:.3f} NMI {row['nmi']:.3f} ARI {row['ari']:.3f} "
                    if "acc" in row
                    else ""
                )
                print(
                    f"seed {seed} {method:<8} {acc}{res['seconds']:.1f}s "
                    f"peak {res['peak_rss_mb']:.0f} MB{extra}",
                    flush=True,
                )

    # a roofline timed while something else ran reads low and flatters every
    # fraction; time it again after the runs and keep the higher of the two
    after = matmul_gflops(args.threads)
    gflops = {k: max(v, after[k]) for k, v in gflops.items()}
    fractions = []
    for row in rows:
        if "pretrain_gflops" in row:
            peak = gflops[row["precision"]]
            row["roofline_fraction"] = row["pretrain_gflops"] / peak
            fractions.append(f"seed {row['seed']} {row['roofline_fraction']:.0%}")
    print(
        "matmul roofline timed again after the runs, the higher kept: "
        + ", ".join(f"{k} {v:.1f} GFLOP/s" for k, v in gflops.items())
        + f"; pretraining fractions: {', '.join(fractions) or 'none'}",
        flush=True,
    )

    summary = summarise(rows)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    stem = out / f"dec-{name}-{args.tag}"
    record = {
        "dataset": name,
        "dec_params": json.loads(args.dec_params),
        "threads": args.threads,
        "matmul_gflops": gflops,
        "runs": rows,
        "summary": summary,
        "command": " ".join(sys.argv),
    }
    stem.with_suffix(".json").write_text(json.dumps(record, indent=2, default=str))
    keys = sorted({k for r in rows for k in r if k != "timings"})
    with stem.with_suffix(".csv").open("w", newline="") as fh:
        w = csv.DictWriter(fh, keys, extrasaction="ignore")
        w.writeheader()
        w.writerows(rows)
    print(f"\nwrote {stem}.json and {stem}.csv")


if __name__ == "__main__":
    main()
