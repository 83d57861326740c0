"""K-means filters versus random initialisation of a small CNN trained by SGD.

The ClusterCNN claim: a network whose convolution filters are set by k-means
on image patches needs fewer labels and fewer SGD steps than one started from
the default random initialisation. This script trains the same CNN (same
architecture, seeds, labelled subsets, batches and epochs) from both starts on
Fashion-MNIST at several label budgets, and records the test accuracy after
every epoch; it also fits a logistic regression on frozen first-layer
features (k-means filters against random filters).

The k-means filters are learnt without labels, layer by layer
(:func:`skdec.init_conv_stack`), on ``--n-unlabelled`` images of the
training pool.

The run reported in ``docs/benchmarks.rst`` (453 s on a busy 2-core
machine)::

    python benchmarks/bench_kmeans_filters.py --n-train 6000 --n-test 1000 \
        --budgets 0.01 0.1 1.0 --seeds 0 1 2 --epochs 5 --n-unlabelled 1000

The defaults (the full 60,000-image pool, 10 epochs, the whole test set)
were not run here: they are about 20 times the training work.

Writes ``benchmarks/results/kmeans_filters.json`` (every number),
``kmeans_filters_summary.csv`` and three figures (learning curves, the
first-layer filters, a t-SNE of patches coloured by cluster).
"""

import argparse
import csv
import json
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skdec import KMeansFilterInitializer, init_conv_stack
from skdec.datasets import load_fashion_mnist

RESULTS = Path(__file__).parent / "results"


def make_cnn():
    return torch.nn.Sequential(
        torch.nn.Conv2d(1, 16, 5),
        torch.nn.ReLU(),
        torch.nn.MaxPool2d(2),
        torch.nn.Conv2d(16, 32, 5),
        torch.nn.ReLU(),
        torch.nn.MaxPool2d(2),
        torch.nn.Flatten(),
        torch.nn.Linear(32 * 4 * 4, 10),
    )


@torch.no_grad()
def accuracy(net, X, y, batch_size=1000):
    net.eval()
    correct = 0
    for i in range(0, len(X), batch_size):
        correct += int(
            (net(X[i : i + batch_size]).argmax(1) == y[i : i + batch_size]).sum()
        )
    net.train()
    return correct / len(X)


def train(net, X, y, X_test, y_test, *, epochs, batch_size, lr, seed):
    """SGD with momentum; test accuracy before training and after each epoch."""
    opt = torch.optim.SGD(net.parameters(), lr=lr, momentum=0.9)
    gen = torch.Generator().manual_seed(seed)
    curve = [accuracy(net, X_test, y_test)]
    for _ in range(epochs):
        order = torch.randperm(len(X), generator=gen)
        for i in range(0, len(X), batch_size):
            idx = order[i : i + batch_size]
            opt.zero_grad()
            F.cross_entropy(net(X[idx]), y[idx]).backward()
            opt.step()
        curve.append(accuracy(net, X_test, y_test))
    return curve


@torch.no_grad()
def frozen_features(conv, X, pool=4):
    return F.max_pool2d(F.relu(conv(X)), pool).flatten(1).numpy()


def linear_probe(conv, X, y, X_test, y_test):
    clf = make_pipeline(StandardScaler(), LogisticRegression(max_iter=300))
    clf.fit(frozen_features(conv, X), y.numpy())
    return clf.score(frozen_features(conv, X_test), y_test.numpy())


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-train", type=int, default=60000, help="training pool")
    parser.add_argument("--n-test", type=int, default=10000)
    parser.add_argument("--budgets", type=float, nargs="+", default=[0.01, 0.1, 1.0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--lr", type=float, default=0.05)
    parser.add_argument("--n-unlabelled", type=int, default=2000)
    parser.add_argument(
        "--no-match-scale",
        dest="match_scale",
        action="store_false",
        help="keep unit-norm k-means filters instead of the default init's norm",
    )
    parser.add_argument("--no-plots", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(1)
    RESULTS.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()

    Xtr, ytr = load_fashion_mnist(subset="train", return_X_y=True, flatten=False)
    Xte, yte = load_fashion_mnist(subset="test", return_X_y=True, flatten=False)
    pool = np.random.RandomState(12345).permutation(len(Xtr))[: args.n_train]
    Xtr, ytr = Xtr[pool], ytr[pool]
    Xte, yte = Xte[: args.n_test], yte[: args.n_test]
    X_train = torch.as_tensor(Xtr[:, None])
    y_train = torch.as_tensor(ytr).long()
    X_test = torch.as_tensor(Xte[:, None])
    y_test = torch.as_tensor(yte).long()

    template = KMeansFilterInitializer(n_patches=20000, n_init=3, max_iter=100)
    runs = []
    kmeans_info = []
    for seed in args.seeds:
        rng = np.random.RandomState(seed)
        torch.manual_seed(seed)
        random_net = make_cnn()
        kmeans_net = make_cnn()
        kmeans_net.load_state_dict(random_net.state_dict())  # same linear layer
        unlabelled = Xtr[rng.choice(len(Xtr), args.n_unlabelled, replace=False)]
        t0 = time.perf_counter()
        fitted = init_conv_stack(
            kmeans_net, unlabelled[:, None], template, random_state=seed
        )
        if args.match_scale:
            # Same per-layer filter norm as the default init: only directions
            # differ between the two starts.
            with torch.no_grad():
                for conv_k, conv_r in zip(
                    (kmeans_net[0], kmeans_net[3]), (random_net[0], random_net[3])
                ):
                    norm = conv_r.weight.flatten(1).norm(dim=1).mean()
                    conv_k.weight.mul_(norm)
        kmeans_info.append(
            {
                "seed": seed,
                "seconds": time.perf_counter() - t0,
                "silhouette": [f.silhouette_ for f in fitted],
                "reading": [f.silhouette_reading_ for f in fitted],
            }
        )
        starts = {"random": random_net.state_dict(), "kmeans": kmeans_net.state_dict()}
        for budget in args.budgets:
            n_labels = max(10, int(round(budget * len(Xtr))))
            labelled = torch.as_tensor(
                np.sort(rng.choice(len(Xtr), n_labels, replace=False))
            )
            X, y = X_train[labelled], y_train[labelled]
            for init_name, state in starts.items():
                net = make_cnn()
                net.load_state_dict(state)
                probe = linear_probe(net[0], X, y, X_test, y_test)
                t0 = time.perf_counter()
                curve = train(
                    net,
                    X,
                    y,
                    X_test,
                    y_test,
                    epochs=args.epochs,
                    batch_size=args.batch_size,
                    lr=args.lr,
                    seed=seed,
                )
                runs.append(
                    {
                        "seed": seed,
                        "budget": budget,
                        "n_labels": n_labels,
                        "init": init_name,
                        "test_accuracy_per_epoch": curve,
                        "linear_probe_accuracy": probe,
                        "train_seconds": time.perf_counter() - t0,
                    }
                )
                print(
                    f"seed={seed} budget={budget:g} ({n_labels} labels) {init_name:6s} "
                    f"probe={probe:.3f} acc/epoch="
                    + " ".join(f"{a:.3f}" for a in curve),
                    flush=True,
                )

    summary = summarise(runs, args)
    print_table(summary, args)
    print("k-means silhouettes (layer 1, layer 2):")
    for info in kmeans_info:
        sil = ", ".join(
            f"{s:.3f} ({r})" for s, r in zip(info["silhouette"], info["reading"])
        )
        print(f"  seed {info['seed']}: {sil}; fit {info['seconds']:.1f} s")
    total = time.perf_counter() - start
    print(f"total wall time: {total:.0f} s")
    with open(RESULTS / "kmeans_filters.json", "w") as f:
        json.dump(
            {
                "args": vars(args),
                "runs": runs,
                "kmeans": kmeans_info,
                "summary": summary,
                "wall_seconds": total,
            },
            f,
            indent=1,
        )
    with open(RESULTS / "kmeans_filters_summary.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(summary[0]))
        writer.writeheader()
        writer.writerows(summary)
    if not args.no_plots:
        plot(runs, args, fitted[0], unlabelled)


def summarise(runs, args):
    rows = []
    for budget in args.budgets:
        for init_name in ("random", "kmeans"):
            sel = [r for r in runs if r["budget"] == budget and r["init"] == init_name]
            curves = np.array([r["test_accuracy_per_epoch"] for r in sel])
            probes = np.array([r["linear_probe_accuracy"] for r in sel])
            row = {"budget": budget, "n_labels": sel[0]["n_labels"], "init": init_name}
            for e in range(curves.shape[1]):
                row[f"epoch{e}_mean"] = float(curves[:, e].mean())
                row[f"epoch{e}_std"] = float(curves[:, e].std())
            row["probe_mean"] = float(probes.mean())
            row["probe_std"] = float(probes.std())
            rows.append(row)
    return rows


def print_table(summary, args):
    shown = sorted({1, max(1, args.epochs // 2), args.epochs})
    head = (
        ["budget", "labels", "init"] + [f"epoch {e}" for e in shown] + ["linear probe"]
    )
    print(" | ".join(head))
    for row in summary:
        cells = [f"{row['budget']:g}", str(row["n_labels"]), row["init"]]
        cells += [
            f"{row[f'epoch{e}_mean']:.3f} +/- {row[f'epoch{e}_std']:.3f}" for e in shown
        ]
        cells.append(f"{row['probe_mean']:.3f} +/- {row['probe_std']:.3f}")
        print(" | ".join(cells))


def plot(runs, args, first_layer, unlabelled):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.manifold import TSNE

    fig, axes = plt.subplots(
        1,
        len(args.budgets),
        figsize=(4 * len(args.budgets), 3.2),
        sharey=True,
        squeeze=False,
    )
    for ax, budget in zip(axes[0], args.budgets):
        for init_name, colour in (("random", "tab:grey"), ("kmeans", "tab:blue")):
            curves = np.array(
                [
                    r["test_accuracy_per_epoch"]
                    for r in runs
                    if r["budget"] == budget and r["init"] == init_name
                ]
            )
            mean, std = curves.mean(0), curves.std(0)
            epochs = np.arange(len(mean))
            ax.plot(epochs, mean, color=colour, label=init_name)
            ax.fill_between(epochs, mean - std, mean + std, color=colour, alpha=0.25)
        n_labels = next(r["n_labels"] for r in runs if r["budget"] == budget)
        ax.set(title=f"{budget:g} of labels ({n_labels})", xlabel="epoch")
    axes[0, 0].set_ylabel("test accuracy")
    axes[0, 0].legend()
    fig.tight_layout()
    fig.savefig(RESULTS / "kmeans_filters_curves.png", dpi=100)

    filters = first_layer.filters_[:, 0]
    fig, axes = plt.subplots(2, len(filters) // 2, figsize=(len(filters) / 2, 1.2))
    for ax, w in zip(axes.ravel(), filters):
        ax.imshow(w, cmap="gray")
        ax.axis("off")
    fig.savefig(RESULTS / "kmeans_filters_grid.png", dpi=100)

    patches, labels = first_layer.sample_patches(unlabelled, 1500, random_state=0)
    emb = TSNE(init="pca", random_state=0).fit_transform(patches)
    fig, ax = plt.subplots(figsize=(5, 5))
    ax.scatter(emb[:, 0], emb[:, 1], c=labels, cmap="tab20", s=4)
    ax.set(title="t-SNE of 5x5 patches, coloured by k-means cluster")
    fig.savefig(RESULTS / "kmeans_filters_tsne.png", dpi=100)


if __name__ == "__main__":
    main()
