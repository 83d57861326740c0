"""ClusterCNN: k-means filters versus random initialisation of a CNN trained by SGD.

The claim: a network whose convolution filters are set by k-means on image
patches needs fewer labels and fewer SGD steps than one started from the
default random initialisation. The same small CNN (Conv 5x5 -> 16, ReLU,
max-pool 2, Conv 5x5 -> 32, ReLU, max-pool 2, Linear -> classes) is trained
by SGD (momentum 0.9) from both starts, with the same seeds, labelled subsets,
batches and epochs, at several label budgets (fractions of the training
images); the test accuracy is recorded after every epoch. A linear probe (a
logistic regression on frozen first-layer features, ReLU + max-pool 4) learnt
on the same labels compares the k-means filters with the random ones.

The k-means filters are learnt without labels, layer by layer
(skdec.init_conv_stack, KMeansFilterInitializer(n_patches=20000, n_init=3,
max_iter=100)), on --n-unlabelled training images, and rescaled to the mean
filter norm of the default initialisation (only directions differ between the
two starts; --no-match-scale keeps unit-norm filters). Each layer's patch
clustering is read by its silhouette (KMeansFilterInitializer's
silhouette_reading_).

Default run (fits in 30 minutes on 2 idle cores): all 60,000 training images of
Fashion-MNIST as the pool (budgets 1% / 10% / 100%: 600 / 6,000 / 60,000
labels), all 10,000 test images, 5 epochs, seeds 0, 1, 2. Ten epochs (the
former benchmark's default):

    python benchmarks/study/kmeans_filters.py --epochs 10

Also writes the learning curves, the first-layer filters and a t-SNE map of
patches coloured by cluster.
"""

from __future__ import annotations

import numpy as np
from _common import (
    StudyError,
    fmt,
    load_or_fail,
    log,
    make_parser,
    parse,
    pyplot,
    save_figure,
    start,
    subset_rows,
    timed,
    write_json,
    write_table,
)

NAME = "kmeans_filters"
INITS = ("random", "kmeans")
POOL_SEED = 12345


def parser():
    p = make_parser(NAME, __doc__)
    p.add_argument(
        "--n-train",
        type=int,
        help="training pool, a random subset (default: all training images)",
    )
    p.add_argument(
        "--n-test", type=int, help="the first N test images (default: all of them)"
    )
    p.add_argument(
        "--budgets",
        type=float,
        nargs="+",
        default=[0.01, 0.1, 1.0],
        help="labelled fractions of the pool (default: %(default)s; at least "
        "10 labels each)",
    )
    p.add_argument(
        "--epochs", type=int, default=5, help="SGD epochs (default: %(default)s)"
    )
    p.add_argument("--batch-size", type=int, default=32, help="(default: %(default)s)")
    p.add_argument(
        "--lr", type=float, default=0.05, help="SGD rate (default: %(default)s)"
    )
    p.add_argument(
        "--n-unlabelled",
        type=int,
        default=2000,
        help="pool images the k-means filters are learnt from (default: %(default)s)",
    )
    p.add_argument(
        "--no-match-scale",
        dest="match_scale",
        action="store_false",
        help="keep unit-norm k-means filters instead of the default init's norm",
    )
    p.add_argument(
        "--no-tsne", action="store_true", help="skip the t-SNE map of patches"
    )
    return p


def check(args):
    bad = [b for b in args.budgets if not 0 < b <= 1]
    if bad:
        raise StudyError(f"--budgets are fractions in (0, 1], got {bad[0]}.")
    for name in ("epochs", "batch_size", "n_unlabelled"):
        if getattr(args, name) < 1:
            raise StudyError(f"--{name.replace('_', '-')} must be at least 1.")
    for name in ("n_train", "n_test"):
        value = getattr(args, name)
        if value is not None and value < 10:
            raise StudyError(f"--{name.replace('_', '-')} must be at least 10.")


def make_cnn(image_shape, n_classes):
    import torch

    features = torch.nn.Sequential(
        torch.nn.Conv2d(image_shape[0], 16, 5),
        torch.nn.ReLU(),
        torch.nn.MaxPool2d(2),
        torch.nn.Conv2d(16, 32, 5),
        torch.nn.ReLU(),
        torch.nn.MaxPool2d(2),
        torch.nn.Flatten(),
    )
    with torch.no_grad():
        width = features(torch.zeros(1, *image_shape)).shape[1]
    return torch.nn.Sequential(*features, torch.nn.Linear(width, n_classes))


def accuracy(net, X, y, batch_size=1000):
    import torch

    net.eval()
    correct = 0
    with torch.no_grad():
        for i in range(0, len(X), batch_size):
            pred = net(X[i : i + batch_size]).argmax(1)
            correct += int((pred == y[i : i + batch_size]).sum())
    net.train()
    return correct / len(X)


def train(net, X, y, X_test, y_test, *, epochs, batch_size, lr, seed):
    """SGD with momentum; test accuracy before training and after each epoch."""
    import torch
    import torch.nn.functional as F

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


def frozen_features(conv, X, pool=4, batch_size=2000):
    import torch
    import torch.nn.functional as F

    with torch.no_grad():
        parts = [
            F.max_pool2d(F.relu(conv(X[i : i + batch_size])), pool).flatten(1)
            for i in range(0, len(X), batch_size)
        ]
    return torch.cat(parts).numpy()


def linear_probe(conv, X, y, X_test, y_test):
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    clf = make_pipeline(StandardScaler(), LogisticRegression(max_iter=300))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(frozen_features(conv, X), y.numpy())
    return float(clf.score(frozen_features(conv, X_test), y_test.numpy()))


def kmeans_start(random_net, images, seed, args):
    """A copy of ``random_net`` whose convolutions are k-means filters."""
    import torch

    from skdec import KMeansFilterInitializer, init_conv_stack

    n_patches = 2000 if args.quick else 20000
    template = KMeansFilterInitializer(n_patches=n_patches, n_init=3, max_iter=100)
    kmeans_net = make_cnn(images.shape[1:], random_net[-1].out_features)
    kmeans_net.load_state_dict(random_net.state_dict())  # same linear layer
    fitted, seconds = timed(
        init_conv_stack, kmeans_net, images, template, random_state=seed
    )
    if args.match_scale:
        with torch.no_grad():
            convs = [m for m in kmeans_net if isinstance(m, torch.nn.Conv2d)]
            refs = [m for m in random_net if isinstance(m, torch.nn.Conv2d)]
            for conv_k, conv_r in zip(convs, refs):
                conv_k.weight.mul_(conv_r.weight.flatten(1).norm(dim=1).mean())
    info = {
        "seed": int(seed),
        "seconds": seconds,
        "silhouette": [float(f.silhouette_) for f in fitted],
        "reading": [f.silhouette_reading_ for f in fitted],
    }
    return kmeans_net, fitted, info


def run_seed(tensors, args, seed, n_classes):
    import torch

    X_train, y_train, X_test, y_test = tensors
    rng = np.random.RandomState(seed)
    torch.manual_seed(seed)
    random_net = make_cnn(X_train.shape[1:], n_classes)
    unlabelled = X_train[rng.choice(len(X_train), args.n_unlabelled, replace=False)]
    kmeans_net, fitted, info = kmeans_start(random_net, unlabelled.numpy(), seed, args)
    log(
        f"seed {seed}: k-means filters in {info['seconds']:.1f} s, silhouettes "
        + ", ".join(
            f"{s:.3f} ({r})" for s, r in zip(info["silhouette"], info["reading"])
        )
    )
    starts = {"random": random_net.state_dict(), "kmeans": kmeans_net.state_dict()}
    runs = []
    for budget in args.budgets:
        n_labels = max(10, int(round(budget * len(X_train))))
        labelled = torch.as_tensor(
            np.sort(rng.choice(len(X_train), n_labels, replace=False))
        )
        X, y = X_train[labelled], y_train[labelled]
        for init_name in INITS:
            net = make_cnn(X_train.shape[1:], n_classes)
            net.load_state_dict(starts[init_name])
            probe, probe_s = timed(linear_probe, net[0], X, y, X_test, y_test)
            curve, train_s = timed(
                train,
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
                    "seed": int(seed),
                    "budget": budget,
                    "n_labels": n_labels,
                    "init": init_name,
                    "test_accuracy_per_epoch": curve,
                    "linear_probe_accuracy": probe,
                    "train_seconds": train_s,
                    "probe_seconds": probe_s,
                }
            )
            log(
                f"seed {seed} {budget:g} ({n_labels} labels) {init_name:6s} probe "
                f"{probe:.3f}, test accuracy by epoch "
                + " ".join(f"{a:.3f}" for a in curve)
                + f" ({train_s:.0f} s)"
            )
    return info, fitted[0], unlabelled.numpy(), runs


def shown_epochs(epochs):
    return (
        list(range(1, epochs + 1))
        if epochs <= 5
        else sorted({1, 2, epochs // 2, epochs})
    )


def summarise(runs, infos, args):
    epochs = shown_epochs(args.epochs)
    header = ["labels", "init", *(f"epoch {e}" for e in epochs), "linear probe"]
    rows = []
    for budget in args.budgets:
        for init_name in INITS:
            sel = [r for r in runs if r["budget"] == budget and r["init"] == init_name]
            curves = np.array([r["test_accuracy_per_epoch"] for r in sel])
            n = sel[0]["n_labels"]
            rows.append(
                [
                    f"{n:,} ({budget:.0%})",
                    "k-means" if init_name == "kmeans" else "random",
                    *(fmt(curves[:, e]) for e in epochs),
                    fmt([r["linear_probe_accuracy"] for r in sel]),
                ]
            )
    n_layers = len(infos[0]["silhouette"])
    sil_header = [
        "seed",
        *(f"layer {i + 1} silhouette" for i in range(n_layers)),
        "fit s",
    ]
    sil_rows = [
        [
            str(info["seed"]),
            *(f"{s:.3f} ({r})" for s, r in zip(info["silhouette"], info["reading"])),
            f"{info['seconds']:.1f}",
        ]
        for info in infos
    ]
    return (header, rows), (sil_header, sil_rows)


def plot(args, runs, first_layer, unlabelled, n_labels):
    plt = pyplot()
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
        ax.set(title=f"{n_labels[budget]:,} labels ({budget:.0%})", xlabel="epoch")
    axes[0, 0].set_ylabel("test accuracy")
    axes[0, 0].legend()
    curves_path = save_figure(args, fig, NAME)

    filters = first_layer.filters_[:, 0]
    fig, axes = plt.subplots(2, len(filters) // 2, figsize=(len(filters) / 2, 1.2))
    for ax, w in zip(axes.ravel(), filters):
        ax.imshow(w, cmap="gray")
        ax.axis("off")
    save_figure(args, fig, f"{NAME}_filters")

    if not args.no_tsne:
        from sklearn.manifold import TSNE

        n = 300 if args.quick else 1500
        patches, labels = first_layer.sample_patches(unlabelled, n, random_state=0)
        emb = TSNE(
            init="pca", random_state=0, perplexity=min(30, n // 4)
        ).fit_transform(patches)
        fig, ax = plt.subplots(figsize=(5, 5))
        ax.scatter(emb[:, 0], emb[:, 1], c=labels, cmap="tab20", s=4)
        ax.set(title="t-SNE of first-layer patches, coloured by k-means cluster")
        save_figure(args, fig, f"{NAME}_tsne")
    return curves_path


def main(argv=None):
    p = parser()
    args = parse(p, argv, check)
    data = load_or_fail(p, args)
    if data.image_shape is None:
        p.exit(
            2,
            f"{p.prog}: error: the CNN needs images (--images, or --data "
            "of shape (n, H, W) or (n, C, H, W)).\n",
        )
    if min(data.image_shape[1:]) < 16:
        p.exit(
            2,
            f"{p.prog}: error: images of {data.image_shape} are too small "
            "for two 5x5 convolutions with pooling (16 x 16 at least).\n",
        )
    import torch

    if args.quick:
        data = data.subset(300, 200)
        args.epochs, args.n_unlabelled = 2, 100
    n_train = min(args.n_train or len(data.X_train), len(data.X_train))
    n_test = min(args.n_test or len(data.X_test), len(data.X_test))
    if args.n_unlabelled > n_train:
        p.exit(
            2,
            f"{p.prog}: error: --n-unlabelled={args.n_unlabelled} exceeds "
            f"the pool ({n_train}).\n",
        )
    classes = np.unique(data.y_train)
    # the pool's order matters (labelled subsets are drawn by position): the
    # former benchmarks/bench_kmeans_filters.py drew it so, and its runs
    # are reproduced exactly
    pool = subset_rows(len(data.X_train), n_train, POOL_SEED)
    shape = (-1, *data.image_shape)
    tensors = (
        torch.as_tensor(data.X_train[pool].reshape(shape)),
        torch.as_tensor(np.searchsorted(classes, data.y_train[pool])).long(),
        torch.as_tensor(data.X_test[:n_test].reshape(shape)),
        torch.as_tensor(np.searchsorted(classes, data.y_test[:n_test])).long(),
    )
    n_labels = {b: max(10, int(round(b * n_train))) for b in args.budgets}
    started = start(
        args,
        [
            data.describe(),
            f"pool: {n_train:,} training images; test: {n_test:,} images; labels "
            + ", ".join(f"{n:,} ({b:.0%})" for b, n in n_labels.items()),
            f"{args.epochs} epochs of SGD (batch {args.batch_size}, lr {args.lr}); "
            f"k-means filters from {args.n_unlabelled:,} unlabelled pool images",
        ],
    )
    infos, runs = [], []
    for seed in args.seeds:
        info, first_layer, unlabelled, seed_runs = run_seed(
            tensors, args, seed, classes.size
        )
        infos.append(info)
        runs.extend(seed_runs)
    (header, rows), (sil_header, sil_rows) = summarise(runs, infos, args)
    write_table(args, NAME, header, rows)
    write_table(args, f"{NAME}_silhouette", sil_header, sil_rows)
    plot(args, runs, first_layer, unlabelled, n_labels)
    write_json(
        args,
        NAME,
        {
            "data": data.describe(),
            "n_train": n_train,
            "n_test": n_test,
            "runs": runs,
            "kmeans": infos,
            "table": {"header": header, "rows": rows},
            "silhouette_table": {"header": sil_header, "rows": sil_rows},
        },
        started,
    )


if __name__ == "__main__":
    main()
