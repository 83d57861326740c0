"""Autoencoder pretraining: end-to-end and greedy layer-wise denoising."""

from __future__ import annotations

import torch
from torch import nn

from .net import AutoencoderNet, embed
from .nn import DenoisingLayerPair, EncoderDecoder

OPTIMIZERS = {"adam": torch.optim.Adam, "sgd": torch.optim.SGD}


def optimizer_kwargs(name: str, momentum: float) -> dict:
    """skorch keyword arguments selecting the optimiser ``name``.

    Both use PyTorch's fused kernels: one pass over all parameters instead of a
    chain of element-wise operations per tensor (Adam: measured in
    ``benchmarks/bench_throughput.py``; SGD with momentum: 27 per-tensor calls,
    0.6 ms of a digits clustering step, replaced by one).
    """
    kwargs = {"optimizer": OPTIMIZERS[name], "optimizer__fused": True}
    if name == "sgd":
        kwargs["optimizer__momentum"] = momentum
    return kwargs


def train_autoencoder(
    module,
    X,
    *,
    epochs,
    lr,
    batch_size,
    optimizer,
    momentum,
    device,
    verbose,
    augmenter=None,
    autocast_dtype=None,
):
    """Fit ``module`` (returning ``(code, x_hat)``) to reconstruct ``X``.

    ``augmenter`` (optional) transforms each training batch, which is then both
    the input and the reconstruction target.

    Returns the fitted :class:`~skdec.net.AutoencoderNet`.
    """
    net = AutoencoderNet(
        module,
        max_epochs=epochs,
        lr=lr,
        batch_size=batch_size,
        device=device,
        verbose=verbose,
        augmenter=augmenter,
        autocast_dtype=autocast_dtype,
        **optimizer_kwargs(optimizer, momentum),
    )
    return net.fit(X)


def pretrain_layerwise(
    dims,
    X,
    *,
    activation,
    corruption,
    epochs,
    finetune_epochs,
    lr,
    batch_size,
    optimizer,
    momentum,
    device,
    verbose,
    augmenter=None,
    autocast_dtype=None,
):
    """Greedy layer-wise denoising pretraining followed by end-to-end fine-tuning.

    Each pair ``dims[i] -> dims[i+1]`` is trained as a denoising autoencoder
    (dropout ``corruption`` on its input and code) on the clean codes of the
    pairs below it, as in Xie et al. (2016). The stacked encoder and decoder are
    then fine-tuned end-to-end without corruption (``augmenter``, if any, is
    used during this fine-tuning only: the layer pairs see hidden codes).

    Returns
    -------
    stacked : nn.Module
        Module with ``encoder`` and ``decoder`` returning ``(z, x_hat)``.
    nets : list of AutoencoderNet
        The fitted nets: one per layer pair, then the fine-tuning net.
    """
    n_pairs = len(dims) - 1
    common = dict(
        lr=lr,
        batch_size=batch_size,
        optimizer=optimizer,
        momentum=momentum,
        device=device,
        verbose=verbose,
        autocast_dtype=autocast_dtype,
    )
    H = X
    encoders, decoders, nets = [], [], []
    for i in range(n_pairs):
        pair = DenoisingLayerPair(
            dims[i],
            dims[i + 1],
            activation=activation,
            encoder_activation=i < n_pairs - 1,
            decoder_activation=i > 0,
            corruption=corruption,
        )
        net = train_autoencoder(pair, H, epochs=epochs, **common)
        nets.append(net)
        trained = net.module_
        encoders.append(trained.encoder)
        decoders.insert(0, trained.decoder)
        H = embed(trained.encoder, H, device=device).cpu()
    stacked = EncoderDecoder(nn.Sequential(*encoders), nn.Sequential(*decoders))
    net = train_autoencoder(
        stacked, X, epochs=finetune_epochs, augmenter=augmenter, **common
    )
    nets.append(net)
    return net.module_, nets
