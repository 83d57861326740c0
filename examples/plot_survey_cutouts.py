"""
Clustering survey cut-outs: galaxies with no up and no left
===========================================================

A Galaxy Zoo team holds a folder of sky-survey cut-outs: a galaxy at the
centre of a mostly empty frame, with field stars around it, in any
orientation. Clustered as they are, such images group by brightness, size and
field stars rather than by morphology. Three things change that, each the
default for a folder of images:

1. **Reading**: ``center_crop='auto'`` keeps the centred square that holds
   most of the mean image's light, and ``stretch='auto'`` then stretches each
   image between its own percentiles (faint spiral arms become visible).
2. **Representation**: the mean image looks the same turned and mirrored, so
   :class:`skdec.ContrastiveEncoder` learns an embedding that does not see
   orientation (SimCLR on two rotated, flipped, shifted views of each subject,
   pooled over the eight turns and mirrors when embedding).
3. **Clustering**: DEC self-training from a UMAP start on that embedding.

Here this runs on 1,000 of the 3,332 development cut-outs shipped with the
examples (``examples/data/gz1-sample``, resized to 96x96). Scores on 1,000
subjects are noisy; the measured results on all 3,332, over five seeds, are in
:doc:`/benchmarks`. The same run from the command line, with montages of every
cluster written to the run folder::

    skdec cluster --images DIR --output runs/galaxies
"""

# %%
# Reading the cut-outs
# --------------------
# The sample sits beside this script (or in ``examples/`` of a source
# checkout). Its ``classes.csv`` holds the class most volunteers chose; it is
# used only to score the clusters at the end.
import csv
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from skdec.datasets import load_image_folder, orientation_symmetry

here = Path(__file__).parent if "__file__" in globals() else Path.cwd()
sample = next(
    p / "data" / "gz1-sample"
    for p in (here, here / "examples", here.parent / "examples")
    if (p / "data" / "gz1-sample").is_dir()
)
whole = load_image_folder(sample / "images", image_size=(32, 32))
bunch = load_image_folder(
    sample / "images", image_size=(32, 32), center_crop="auto", stretch="auto"
)
print(f"{len(bunch.data)} cut-outs, crop {bunch.center_crop}, stretch {bunch.stretch}")

fig, axes = plt.subplots(2, 8, figsize=(10, 2.8))
for column, row in enumerate(range(0, 80, 10)):
    for ax, b in zip(axes[:, column], (whole, bunch)):
        ax.imshow(b.images[row])
        ax.set_axis_off()
axes[0, 0].set_title("whole frame", loc="left", fontsize=9)
axes[1, 0].set_title("as read: centre crop, percentile stretch", loc="left", fontsize=9)
fig.tight_layout()

# %%
# No preferred orientation
# ------------------------
# :func:`skdec.datasets.orientation_symmetry` is the mean image's lowest
# correlation with its turns and mirror images. At 0.9 or above,
# ``skdec cluster --autoencoder auto`` (the default) chooses the contrastive
# encoder (galaxies), below it the fully connected autoencoder (handwritten
# digits, clothes).
symmetry = orientation_symmetry(bunch.data, bunch.image_shape)
print(f"orientation symmetry {symmetry:.2f}")

# %%
# Four classes to score against
# -----------------------------
# Elliptical, spiral (clockwise and anticlockwise are mirror images of each
# other), edge-on, and other (mergers, "don't know"). About 70% are
# ellipticals, so the scores are NMI, ARI and the balanced accuracy of labels
# mapped from ten labelled subjects per cluster, never plain accuracy.
from sklearn.metrics import (
    adjusted_rand_score,
    balanced_accuracy_score,
    normalized_mutual_info_score,
)

FOUR = {0: 0, 1: 1, 2: 1, 3: 2, 4: 3, 5: 3}
NAMES = ["elliptical", "spiral", "edge-on", "other"]
with open(sample / "classes.csv", newline="") as f:
    classes = {r["OBJID"]: FOUR[int(r["CLASS"])] for r in csv.DictReader(f)}
y = np.array([classes[Path(name).stem] for name in bunch.filenames])
print(dict(zip(NAMES, np.bincount(y, minlength=4))))


def mapped_balanced_accuracy(clusters, seed=0, per_cluster=10):
    """Each cluster takes the majority class of ten random members."""
    rng = np.random.RandomState(seed)
    mapped = np.empty_like(y)
    for k in np.unique(clusters):
        members = np.flatnonzero(clusters == k)
        shown = rng.choice(members, min(per_cluster, len(members)), replace=False)
        mapped[members] = np.bincount(y[shown], minlength=4).argmax()
    return balanced_accuracy_score(y, mapped)


def scores(clusters):
    return (
        f"NMI {normalized_mutual_info_score(y, clusters):.3f}  "
        f"ARI {adjusted_rand_score(y, clusters):.3f}  "
        f"mapped balanced accuracy {mapped_balanced_accuracy(clusters):.3f}"
    )


# %%
# The baseline: k-means on the pixels read
# ----------------------------------------
from sklearn.cluster import KMeans

n_clusters = 10
pixels_kmeans = KMeans(n_clusters, n_init=10, random_state=0).fit_predict(bunch.data)
print("k-means on pixels:", scores(pixels_kmeans))

# %%
# The contrastive encoder and DEC
# -------------------------------
# The encoder's defaults (its number of epochs grows as the collection
# shrinks) are those of ``skdec cluster``; only the clustering stage is cut
# short here, to keep the example quick. ``init_labels_`` is the UMAP start,
# ``labels_`` the partition after self-training.
from skdec import ContrastiveEncoder, DECClusterer

dec = DECClusterer(
    n_clusters,
    autoencoder=ContrastiveEncoder(),
    image_shape=bunch.image_shape,
    max_iter=300,
    random_state=0,
)
clusters = dec.fit_predict(bunch.data)
print("UMAP start:       ", scores(dec.init_labels_))
print("DEC:              ", scores(clusters))
print({stage: f"{seconds:.0f}s" for stage, seconds in dec.timings_.items()})

# %%
# Measuring the light instead of learning it
# ------------------------------------------
# :class:`skdec.MorphologyFeatures` measures each subject about the centre of
# the frame: concentration, asymmetry, smoothness, Gini coefficient, axis
# ratio, azimuthal Fourier modes (arms and bars), radial profile and colours.
# No turn or mirror image changes them, and nothing is trained, so a Gaussian
# mixture on them takes seconds. On all 3,332 development cut-outs it gave
# more telling clusters than DEC on the contrastive embedding
# (:doc:`/benchmarks`).
from sklearn.mixture import GaussianMixture
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skdec import MorphologyFeatures

measured = make_pipeline(
    MorphologyFeatures(bunch.image_shape),
    StandardScaler(),
    GaussianMixture(n_clusters, covariance_type="full", n_init=3, random_state=0),
)
morphology_clusters = measured.fit_predict(bunch.data)
print("morphology, GMM:  ", scores(morphology_clusters))

# %%
# A montage of each cluster
# -------------------------
# One row per cluster, its most confident subjects first: what a team would
# show volunteers to name the cluster. The row labels give each cluster's
# size and its majority class (from the scoring labels).
from skdec.plotting import plot_cluster_montage

confidence = dec.predict_proba(bunch.data)[np.arange(len(clusters)), clusters]
order = np.argsort(-confidence, kind="stable")
fig = plt.figure(figsize=(9.5, n_clusters + 0.8))
plot_cluster_montage(bunch.images, clusters, order, n_per_cluster=8, fig=fig)
for k, ax in zip(np.unique(clusters), fig.axes[::8]):
    members = y[clusters == k]
    majority = NAMES[np.bincount(members, minlength=4).argmax()]
    ax.set_ylabel(
        f"{k}: {members.size}\n{majority}", rotation=0, ha="right", va="center"
    )
fig.suptitle("DEC on the contrastive embedding: the most confident subjects")
plt.show()
