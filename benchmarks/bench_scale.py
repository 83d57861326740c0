"""Scale: a short DEC fit on 70k, 280k and 1.12M rows of 28x28 uint8 pixels
read from a memmap; time per pretraining epoch, per self-training pass, and
peak resident memory.

The data are Fashion-MNIST's 70,000 images, tiled: copy 0 as it is, each
further copy with every image shifted by a random -2..2 pixels in each
direction (zero fill). They are written once, chunk by chunk, into
``<work-dir>/fashion-<n>.u8`` (uint8, ``n x 784``) and reused by later runs.
Each size is fitted in a fresh process (its ``VmHWM`` is its own peak) with
``DECClusterer(init='kmeans', max_iter=updates * update_interval, tol=0)``
and a ``MLPAutoencoder(epochs=...)`` of the default network, reading the
memmap batch by batch (uint8 divided by 255 per batch). Per size it records:

* ``epoch_s``: wall seconds of one pretraining epoch (skorch's ``dur``, the
  mean over the epochs) and ``samples_per_s`` of pretraining;
* ``pass_s``: wall seconds of one self-training pass (``update_interval``
  mini-batches and one target update over all rows), the mean over passes;
* ``predict_s``: one ``predict`` over all rows (the data pass of a target
  update);
* ``peak_mb``: peak resident memory (VmHWM), of which the memmap's pages
  read (file-backed, ``RssFile`` at the end) are reclaimable by the kernel.

and prints a table with the ratios of time to size between consecutive
sizes (1.00 is linear). With a CUDA GPU present, each size also runs with
``device='cuda'`` and the table shows its samples per second next to the
CPU's. The target of issue 19: peak under 2 GB at all three sizes (the
float32 data alone are 3.5 GB at 1.12M rows).

    python benchmarks/bench_scale.py                         # 70k, 280k, 1.12M
    python benchmarks/bench_scale.py --sizes 20000,40000     # a smoke run
    python benchmarks/bench_scale.py --devices cpu --threads 2 --out scale.json
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

BASE = 70_000
SHIFT = 2
SIZES = (70_000, 280_000, 1_120_000)


def _shifted(images, dy, dx):
    """``images`` (n, 28, 28) shifted by (dy, dx) pixels, zero fill."""
    out = np.zeros_like(images)
    h, w = images.shape[1:]
    ys, yd = (
        (slice(0, h - dy), slice(dy, h))
        if dy >= 0
        else (slice(-dy, h), slice(0, h + dy))
    )
    xs, xd = (
        (slice(0, w - dx), slice(dx, w))
        if dx >= 0
        else (slice(-dx, w), slice(0, w + dx))
    )
    out[:, yd, xd] = images[:, ys, xs]
    return out


def write_memmap(work_dir: Path, n: int, data_dir=None) -> Path:
    """The memmap of ``n`` rows (written once, then reused)."""
    path = work_dir / f"fashion-{n}.u8"
    meta = work_dir / f"fashion-{n}.json"
    if path.is_file() and meta.is_file() and path.stat().st_size == n * 784:
        return path
    from skdec.datasets import load_fashion_mnist

    work_dir.mkdir(parents=True, exist_ok=True)
    base = load_fashion_mnist(data_dir, "all", return_X_y=True, flatten=False)[0]
    base = np.rint(base * 255).astype(np.uint8)  # the IDX files' own bytes
    rng = np.random.RandomState(0)
    out = np.memmap(path, dtype=np.uint8, mode="w+", shape=(n, 784))
    for start in range(0, n, BASE):
        stop = min(start + BASE, n)
        copy = base[: stop - start]
        if start:
            shifts = rng.randint(-SHIFT, SHIFT + 1, size=(len(copy), 2))
            tiled = np.empty_like(copy)
            for dy in range(-SHIFT, SHIFT + 1):
                for dx in range(-SHIFT, SHIFT + 1):
                    rows = np.flatnonzero((shifts[:, 0] == dy) & (shifts[:, 1] == dx))
                    tiled[rows] = _shifted(copy[rows], dy, dx)
            copy = tiled
        out[start:stop] = copy.reshape(len(copy), 784)
    out.flush()
    del out
    meta.write_text(
        json.dumps({"n": n, "shape": [n, 784], "dtype": "uint8", "seed": 0})
    )
    return path


def _status_mb(*keys):
    values = {}
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            name, _, rest = line.partition(":")
            if name in keys:
                values[name] = int(rest.split()[0]) / 1024
    except OSError:
        pass
    return values


def worker(args):
    """One fit in this (fresh) process; prints ``RESULT {json}``."""
    import torch

    from skdec import DECClusterer, MLPAutoencoder

    torch.set_num_threads(args.threads)
    X = np.memmap(args.path, dtype=np.uint8, mode="r").reshape(-1, 784)
    dims = tuple(int(d) for d in args.hidden_dims.split(","))
    dec = DECClusterer(
        10,
        autoencoder=MLPAutoencoder(dims, epochs=args.epochs, batch_size=256),
        init=args.init,
        n_init=1,
        update_interval=args.update_interval,
        max_iter=args.updates * args.update_interval,
        tol=0.0,
        batch_size=256,
        device=args.device,
        random_state=0,
    )
    t0 = time.perf_counter()
    dec.fit(X)
    fit_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    dec.predict(X)
    predict_s = time.perf_counter() - t0
    epochs = list(dec.pretrain_history_[-1][:, "dur"])
    passes = max(1, len(dec.history_) - 1)
    mem = _status_mb("VmHWM", "VmRSS", "RssAnon", "RssFile")
    result = dict(
        n=len(X),
        device=args.device,
        fit_s=fit_s,
        pretrain_s=dec.timings_["pretrain"],
        init_s=dec.timings_["init"],
        cluster_s=dec.timings_["cluster"],
        epoch_s=float(np.mean(epochs)),
        samples_per_s=len(X) / float(np.mean(epochs)),
        pass_s=dec.timings_["cluster"] / passes,
        predict_s=predict_s,
        n_iter=dec.n_iter_,
        precision=dec.precision_,
        peak_mb=mem.get("VmHWM"),
        rss_anon_mb=mem.get("RssAnon"),
        rss_file_mb=mem.get("RssFile"),
    )
    print("RESULT " + json.dumps(result), flush=True)


def run_one(args, path, device):
    command = [
        sys.executable,
        __file__,
        "--worker",
        "--path",
        str(path),
        "--device",
        device,
        "--threads",
        str(args.threads),
        "--epochs",
        str(args.epochs),
        "--updates",
        str(args.updates),
        "--update-interval",
        str(args.update_interval),
        "--init",
        args.init,
        "--hidden-dims",
        args.hidden_dims,
    ]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    if done.returncode or not lines:
        sys.stderr.write(done.stdout + done.stderr)
        raise SystemExit(f"the {device} run on {path} failed ({done.returncode})")
    return json.loads(lines[-1][len("RESULT ") :])


def table(results):
    cpu = [r for r in results if r["device"] == "cpu"]
    gpu = {r["n"]: r for r in results if r["device"] != "cpu"}
    head = (
        f"{'rows':>9} {'epoch s':>8} {'samples/s':>10} {'pass s':>7} "
        f"{'predict s':>9} {'peak MB':>8} {'file MB':>8} {'x rows':>6} "
        f"{'x epoch':>7} {'x pass':>6} {'x pred':>6}"
    )
    if gpu:
        head += f" {'GPU samples/s':>13} {'GPU peak MB':>11}"
    lines = [head]
    previous = None
    for r in cpu:
        ratios = ["", "", "", ""]
        if previous is not None:
            grow = r["n"] / previous["n"]
            ratios = [
                f"{grow:.2f}",
                f"{r['epoch_s'] / previous['epoch_s'] / grow:.2f}",
                f"{r['pass_s'] / previous['pass_s'] / grow:.2f}",
                f"{r['predict_s'] / previous['predict_s'] / grow:.2f}",
            ]
        line = (
            f"{r['n']:>9} {r['epoch_s']:>8.1f} {r['samples_per_s']:>10.0f} "
            f"{r['pass_s']:>7.2f} {r['predict_s']:>9.2f} {r['peak_mb']:>8.0f} "
            f"{r['rss_file_mb']:>8.0f} {ratios[0]:>6} {ratios[1]:>7} "
            f"{ratios[2]:>6} {ratios[3]:>6}"
        )
        if r["n"] in gpu:
            g = gpu[r["n"]]
            line += f" {g['samples_per_s']:>13.0f} {g['peak_mb']:>11.0f}"
        lines.append(line)
        previous = r
    lines.append(
        "x rows: size ratio to the previous row; x epoch / x pass / x pred: time "
        "ratio divided by the size ratio (1.00 = linear)."
    )
    return "\n".join(lines)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--work-dir", default="/tmp/skdec-scale")
    p.add_argument("--sizes", default=",".join(str(s) for s in SIZES))
    p.add_argument(
        "--devices", default=None, help="cpu,cuda (default: cpu, and cuda when present)"
    )
    p.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--updates", type=int, default=3, help="self-training passes")
    p.add_argument("--update-interval", type=int, default=140)
    p.add_argument(
        "--init", default="kmeans", help="'kmeans' (fast at 1M rows) or 'umap'"
    )
    p.add_argument("--hidden-dims", default="500,500,2000")
    p.add_argument("--data-dir", default=None, help="Fashion-MNIST's IDX files")
    p.add_argument("--out", default=None, help="write the results as JSON here")
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--path", help=argparse.SUPPRESS)
    p.add_argument("--device", default="cpu", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.worker:
        return worker(args)

    if args.devices is None:
        import torch

        args.devices = "cpu,cuda" if torch.cuda.is_available() else "cpu"
    devices = args.devices.split(",")
    sizes = [int(s) for s in args.sizes.split(",")]
    work_dir = Path(args.work_dir)
    results = []
    for n in sizes:
        t0 = time.perf_counter()
        path = write_memmap(work_dir, n, args.data_dir)
        print(
            f"data: {path} ({n} x 784 uint8) in {time.perf_counter() - t0:.1f}s",
            flush=True,
        )
        for device in devices:
            r = run_one(args, path, device)
            results.append(r)
            print(
                f"  {device}: epoch {r['epoch_s']:.1f}s, pass {r['pass_s']:.2f}s, "
                f"predict {r['predict_s']:.2f}s, peak {r['peak_mb']:.0f} MB",
                flush=True,
            )
    print()
    print(table(results))
    over = [r for r in results if r["peak_mb"] and r["peak_mb"] >= 2048]
    print("peak under 2 GB at every size:", "yes" if not over else "NO")
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(
            json.dumps(dict(vars(args), results=results), indent=2)
        )


if __name__ == "__main__":
    main()
