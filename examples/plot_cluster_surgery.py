"""
=====================================
Cluster surgery: dissolving a cluster
=====================================

Volunteers reviewing a clustering often find a cluster that is useless: it
mixes two classes, or holds a class nobody cares about. Refitting from scratch
would throw away the training of all the good clusters. With
:func:`skdec.dissolve_cluster` a fitted :class:`skdec.DECClusterer` is operated
on directly:

- ``'delete'`` removes the centre; the members go to their next-best cluster;
- ``'reinit'`` moves the centre to a sample that the other centres fit worst;
- ``'split'`` cuts the cluster in two, by 2-means on the members' embeddings
  or by the classes of the few members that carry a label.

:func:`skdec.merge_clusters` does the inverse of a split. After each surgery a
short DEC refinement continues the self-training; the *stability* is the
fraction of the samples outside the operated cluster that keep their cluster.
"""

# %%
# Fit DEC on the digits
# ---------------------
# Modest settings keep the example fast on a laptop CPU.
import matplotlib.pyplot as plt
import numpy as np
import torch

from skdec import DECClusterer, dissolve_cluster, merge_clusters
from skdec.datasets import load_digits
from skdec.metrics import cluster_accuracy

torch.set_num_threads(1)
digits = load_digits()
X, y = digits.data, digits.target


def purity(labels):
    """Share of the samples in their cluster's most frequent digit."""
    return sum(np.bincount(y[labels == c]).max() for c in np.unique(labels)) / len(y)


dec = DECClusterer(
    10,
    hidden_dims=(256, 256, 512),
    pretrain_epochs=50,
    max_iter=700,
    random_state=0,
).fit(X)
print(
    f"DEC accuracy: {cluster_accuracy(y, dec.labels_):.3f}, "
    f"purity: {purity(dec.labels_):.3f}"
)

# %%
# Find the most mixed cluster
# ---------------------------
# The purity of a cluster is the share of its most frequent digit.
sizes = np.bincount(dec.labels_)
shares = (
    np.array([np.bincount(y[dec.labels_ == c], minlength=10).max() for c in range(10)])
    / sizes
)
mixed = int(shares.argmin())
print("purity per cluster:", np.round(shares, 2))
top = np.bincount(y[dec.labels_ == mixed], minlength=10)
print(f"cluster {mixed} is the most mixed; digits inside:", top)


def montage(ax_row, images, labels, title):
    """Five random images of each cluster, one column per cluster."""
    rng = np.random.RandomState(0)
    k = labels.max() + 1
    for c, ax in enumerate(ax_row):
        ax.set_axis_off()
        members = np.flatnonzero(labels == c)
        if c >= k or len(members) == 0:
            continue
        pick = rng.choice(members, min(5, len(members)), replace=False)
        column = np.vstack([np.pad(images[i], 1) for i in pick])
        ax.imshow(column, cmap="gray_r")
        ax.set_title(str(c), fontsize=8)
    ax_row[0].text(-12, 25, title, rotation=90, va="center", fontsize=8)


# %%
# Dissolve it each way
# --------------------
# Each surgery returns a new model (the fitted ``dec`` is left untouched) and,
# with ``return_report=True``, a report holding the clusters before and right
# after the surgery and after the refinement. For ``'split'`` we pretend that
# volunteers labelled 10 % of the images (-1 marks the unlabelled ones).
rng = np.random.RandomState(0)
y_partial = np.where(rng.rand(len(y)) < 0.1, y, -1)

runs = {
    "delete": dict(strategy="delete"),
    "reinit": dict(strategy="reinit"),
    "split (2-means)": dict(strategy="split"),
    "split (labels)": dict(strategy="split", y=y_partial),
}
results = {}
print(
    f"{'strategy':>16} {'k':>3} {'ACC':>6} {'ACC ref.':>8} {'purity ref.':>11} "
    f"{'stable':>6} {'stable ref.':>11}"
)
for name, kwargs in runs.items():
    model, report = dissolve_cluster(
        dec,
        mixed,
        X=X,
        refine_iter=280,
        random_state=0,
        return_report=True,
        **kwargs,
    )
    results[name] = model
    print(
        f"{name:>16} {model.n_clusters:3d} "
        f"{cluster_accuracy(y, report['labels_surgery']):6.3f} "
        f"{cluster_accuracy(y, model.labels_):8.3f} {purity(model.labels_):11.3f} "
        f"{report['stability_surgery']:6.3f} {report['stability']:11.3f}"
    )

# %%
# Merging is the inverse operation: here we merge the two children of the
# label-guided split back into one cluster.
split = results["split (labels)"]
children = [mixed, split.n_clusters - 1]
merged, report = merge_clusters(
    split, children, X, refine_iter=280, random_state=0, return_report=True
)
print(
    f"merge {children}: k={merged.n_clusters}, "
    f"ACC {cluster_accuracy(y, merged.labels_):.3f}, "
    f"purity {purity(merged.labels_):.3f}, "
    f"stability {report['stability']:.3f}"
)

# %%
# Cluster montages
# ----------------
# One column per cluster, five random members each: the mixed cluster before
# surgery, and where its digits went.
rows = {"DEC": dec, **results}
fig, axes = plt.subplots(len(rows), 11, figsize=(8, 1.9 * len(rows)))
for ax_row, (name, model) in zip(axes, rows.items()):
    montage(ax_row, digits.images, model.labels_, name)
fig.suptitle(f"Dissolving cluster {mixed} of DEC on the digits")
plt.show()
