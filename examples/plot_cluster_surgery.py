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

from skdec import DECClusterer, MLPAutoencoder, dissolve_cluster, merge_clusters
from skdec.datasets import load_digits
from skdec.metrics import cluster_accuracy
from skdec.plotting import plot_cluster_montage

torch.set_num_threads(1)
digits = load_digits()
X, y = digits.data, digits.target


def purity(labels):
    """Share of the samples in their cluster's most frequent digit."""
    return sum(np.bincount(y[labels == c]).max() for c in np.unique(labels)) / len(y)


dec = DECClusterer(
    10,
    autoencoder=MLPAutoencoder((256, 256, 512), epochs=50),
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
# The clusters of DEC, eight random members each (the row label gives the
# cluster id and its size) ...
order = np.random.RandomState(0).permutation(len(X))
fig = plot_cluster_montage(digits.images, dec.labels_, order)
fig.suptitle("DEC on the digits")

# %%
# ... and where the members of the mixed cluster went after each surgery and
# its refinement: one row per cluster that received some of them.
members = np.flatnonzero(dec.labels_ == mixed)
for name, model in results.items():
    fig = plot_cluster_montage(
        digits.images[members], model.labels_[members], np.argsort(order[members])
    )
    fig.suptitle(f"{name}: the members of cluster {mixed}")
plt.show()
