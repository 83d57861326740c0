"""Autoencoder pretraining throughput against this machine's matmul roofline.

Trains the DEC autoencoder d-500-500-2000-10 on random data (the speed does not
depend on the values) for a fixed number of steps, for several optimisers and
batch sizes and precisions (float32, and bfloat16 autocast as
``DECClusterer(precision='bfloat16')`` trains), both through skdec's skorch net
and as a bare torch loop, and prints the achieved GFLOP/s and the fraction of
the dense matmul throughput of the same dtype measured in the same run.

    python benchmarks/bench_throughput.py --threads 2
"""

from __future__ import annotations

import argparse
import contextlib
import json
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from skdec.net import AutoencoderNet
from skdec.nn import MLPAutoencoder

OPTIMISERS = {
    "sgd": (torch.optim.SGD, {"momentum": 0.9}),
    "adam": (torch.optim.Adam, {"foreach": False}),
    "adam-foreach": (torch.optim.Adam, {"foreach": True}),
    "adam-fused": (torch.optim.Adam, {"fused": True}),
}


DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16}


def roofline(size=2048, repeats=10, rounds=5, dtype=torch.float32):
    """Best dense matmul throughput (GFLOP/s) of ``dtype`` over ``rounds`` timings.

    The best round, not the mean: on a shared or frequency-scaling CPU a single
    timing can be half the machine's throughput, which would flatter every
    fraction reported against it.
    """
    a, b = torch.randn(size, size, dtype=dtype), torch.randn(size, size, dtype=dtype)
    torch.mm(a, b)
    best = 0.0
    for _ in range(rounds):
        t = time.perf_counter()
        for _ in range(repeats):
            torch.mm(a, b)
        best = max(best, 2 * size**3 * repeats / (time.perf_counter() - t) / 1e9)
    return best


def flops_per_sample(module):
    weights = sum(p.numel() for n, p in module.named_parameters() if "weight" in n)
    return 6 * weights


def autocast(precision):
    if precision == "float32":
        return contextlib.nullcontext()
    return torch.autocast("cpu", dtype=DTYPES[precision])


def bare_loop(X, batch, opt_name, steps, lr, precision):
    module = MLPAutoencoder(X.shape[1])
    cls, kw = OPTIMISERS[opt_name]
    opt = cls(module.parameters(), lr=lr, **kw)
    X = torch.from_numpy(X)
    t = None
    for i in range(steps + 3):
        if i == 3:
            t = time.perf_counter()  # skip warm-up steps
        idx = torch.randint(len(X), (batch,))
        xb = X[idx]
        opt.zero_grad(set_to_none=True)
        with autocast(precision):
            x_hat = module(xb)[1]
        loss = F.mse_loss(x_hat.float(), xb)
        loss.backward()
        opt.step()
    return flops_per_sample(module) * batch * steps / (time.perf_counter() - t) / 1e9


def skorch_net(X, batch, opt_name, steps, lr, precision):
    cls, kw = OPTIMISERS[opt_name]
    n = batch * steps
    net = AutoencoderNet(
        MLPAutoencoder,
        module__n_features=X.shape[1],
        max_epochs=1,
        batch_size=batch,
        lr=lr,
        optimizer=cls,
        **{f"optimizer__{k}": v for k, v in kw.items()},
        autocast_dtype=None if precision == "float32" else DTYPES[precision],
        verbose=0,
    )
    net.fit(X[: batch * 3])  # warm-up
    net.initialize()
    t = time.perf_counter()
    net.fit(X[:n])
    return flops_per_sample(net.module_) * n / (time.perf_counter() - t) / 1e9


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--steps", type=int, default=30)
    p.add_argument("--batches", type=int, nargs="+", default=[256, 1024])
    p.add_argument("--optimisers", nargs="+", default=list(OPTIMISERS))
    p.add_argument(
        "--precisions", nargs="+", choices=list(DTYPES), default=list(DTYPES)
    )
    p.add_argument("--out", default=str(Path(__file__).parent / "results"))
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    X = np.random.RandomState(0).rand(max(args.batches) * args.steps, 784)
    X = X.astype(np.float32)
    peaks = {}
    for precision in args.precisions:
        peaks[precision] = roofline(dtype=DTYPES[precision])
        print(
            f"{precision} matmul roofline: {peaks[precision]:.1f} GFLOP/s "
            f"({args.threads} threads)"
        )
    rows = []
    for precision in args.precisions:
        peak = peaks[precision]
        for batch in args.batches:
            for opt in args.optimisers:
                lr = 0.01 if opt == "sgd" else 1e-3
                bare = bare_loop(X, batch, opt, args.steps, lr, precision)
                net = skorch_net(X, batch, opt, args.steps, lr, precision)
                rows.append(
                    {
                        "precision": precision,
                        "batch": batch,
                        "optimiser": opt,
                        "bare_gflops": bare,
                        "skorch_gflops": net,
                        "roofline": peak,
                    }
                )
                print(
                    f"{precision:<8} batch {batch:5d} {opt:<13} bare {bare:6.1f} "
                    f"GFLOP/s ({bare / peak:4.0%})   skdec net {net:6.1f} GFLOP/s "
                    f"({net / peak:4.0%})",
                    flush=True,
                )
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "throughput.json").write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
