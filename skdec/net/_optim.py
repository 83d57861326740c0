"""The optimisers the nets of skdec train with."""

from __future__ import annotations

import torch

__all__ = ["OPTIMIZERS", "optimizer_kwargs"]

OPTIMIZERS = {"adam": torch.optim.Adam, "sgd": torch.optim.SGD}


def optimizer_kwargs(name: str, momentum: float) -> dict:
    """skorch keyword arguments selecting the optimiser ``name``.

    Both use PyTorch's fused kernels: one pass over all parameters instead of a
    chain of element-wise operations per tensor (Adam: measured in
    ``benchmarks/bench_throughput.py``; SGD with momentum: 27 per-tensor calls,
    0.6 ms of a digits clustering step, replaced by one). ``momentum`` is used
    by SGD only.
    """
    kwargs = {"optimizer": OPTIMIZERS[name], "optimizer__fused": True}
    if name == "sgd":
        kwargs["optimizer__momentum"] = momentum
    return kwargs
