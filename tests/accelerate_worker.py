"""One process of the two-process runs of tests/test_distributed.py.

Launched by ``python -m torch.distributed.run --standalone --nproc_per_node 2
tests/accelerate_worker.py OUT``; every process writes ``OUT/rank<r>.npz``
(what it computed) and the main process also ``OUT/model.joblib`` (the fitted
estimator, as a script writes its results from the main process only).
"""

from __future__ import annotations

import sys
from pathlib import Path


def blobs():
    """The data of the tests: well separated blobs, and a DEC that clusters
    them perfectly in one process."""
    from sklearn.datasets import make_blobs

    from skdec import MLPAutoencoder

    X, y = make_blobs(300, n_features=5, centers=3, cluster_std=0.5, random_state=0)
    X = X.astype("float32")
    params = dict(
        autoencoder=MLPAutoencoder(
            hidden_dims=(32,), n_components=3, epochs=15, batch_size=64
        ),
        init="kmeans",
        n_init=3,
        max_iter=60,
        update_interval=20,
        batch_size=64,
        random_state=0,
    )
    return X, y, params


def _dec_net(X, make_net, callback, **kwargs):
    """A DEC net around a fixed module, built by ``make_net(net_class, module,
    **kwargs)`` (a strategy's ``net``)."""
    import torch

    from skdec.net import DECNet
    from skdec.nn import ClusteringLayer, DECModule

    torch.manual_seed(0)
    encoder = torch.nn.Sequential(
        torch.nn.Linear(X.shape[1], 16), torch.nn.ReLU(), torch.nn.Linear(16, 3)
    )
    with torch.no_grad():  # one sample of each blob: no cluster starts empty
        centers = encoder(torch.as_tensor(X[[4, 2, 0]]))
    module = DECModule(encoder, ClusteringLayer(3, 3, 1.0, centers))
    return make_net(
        DECNet,
        module,
        batch_size=64,
        callbacks=[("target", callback)],
        verbose=0,
        **kwargs,
    )


def rolled_back(X, make_net):
    """The ``rolled_back`` flags of a short DEC run whose collapse check
    (``collapse_share=1``: any cluster losing a member) rolls back."""
    import warnings

    import numpy as np

    from skdec.net import ClusterCollapseWarning, TargetDistributionUpdate

    callback = TargetDistributionUpdate(
        update_interval=4, max_iter=12, collapse_share=1.0, batch_size=64
    )
    net = _dec_net(X, make_net, callback, max_epochs=4, lr=0.5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ClusterCollapseWarning)
        net.fit(X, np.arange(len(X)))
    return [u["rolled_back"] for u in callback.updates_]


def first_target(X, make_net):
    """The target distribution of the first update of a DEC net built by
    ``make_net(module, **kwargs)`` around a fixed module (``max_iter=0``: the
    start is recorded, nothing is trained)."""
    import numpy as np

    from skdec.net import TargetDistributionUpdate

    callback = TargetDistributionUpdate(max_iter=0, batch_size=64)
    net = _dec_net(X, make_net, callback, max_epochs=1)
    net.fit(X, np.arange(len(X)))
    return net.target_.cpu().numpy()


def main(out):
    import joblib
    import numpy as np
    import torch
    from accelerate import Accelerator

    from skdec import DECClusterer
    from skdec.net import gather_rows, parallelism

    torch.set_num_threads(1)
    accelerator = Accelerator(cpu=True)
    rank = accelerator.process_index
    X, y, params = blobs()

    # the rows each process computes in a gathered pass, and the result
    seen = []

    def compute(part):
        seen.append(len(part))
        return torch.as_tensor(part) * 2

    gathered = gather_rows(accelerator, X[:7], compute).numpy()

    parallel = parallelism(accelerator, torch.device("cpu"))
    target = first_target(X, parallel.net)
    rollbacks = rolled_back(X, parallel.net)

    model = DECClusterer(3, accelerator="auto", **params).fit(X)
    np.savez(
        out / f"rank{rank}.npz",
        n_processes=accelerator.num_processes,
        seen=np.array(seen),
        gathered=gathered,
        target=target,
        rolled_back=rollbacks,
        labels=model.labels_,
        pretrain_batch=model.pretrain_history_[-1][0, "batches", 0, "train_batch_size"],
        cluster_batch=model.dec_net_.history[0, "batches", 0, "train_batch_size"],
        n_iter=model.n_iter_,
    )
    if accelerator.is_main_process:
        joblib.dump(model, out / "model.joblib")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
