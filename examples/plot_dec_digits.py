"""
Deep Embedded Clustering of handwritten digits
==============================================

Cluster scikit-learn's 8x8 digits without labels, the way a citizen-science
team would cluster its unlabelled subjects: pretrain an autoencoder, initialise
the centres with k-means on its embedding, then let DEC sharpen the clusters.
The labels are used only to score the result, up to a permutation of the
cluster ids.
"""

# %%
# Data and a baseline
# -------------------
# :func:`skdec.datasets.load_digits` scales the pixels to [0, 1].
import time

import matplotlib.pyplot as plt
from sklearn.cluster import KMeans

from skdec import DECClusterer, MLPAutoencoder
from skdec.datasets import load_digits
from skdec.metrics import clustering_report
from skdec.plotting import plot_embedding, plot_training_curves

X, y = load_digits(return_X_y=True)
kmeans_labels = KMeans(10, n_init=10, random_state=0).fit_predict(X)
print("k-means on the pixels:", clustering_report(y, kmeans_labels))

# %%
# DEC
# ---
# A smaller network and shorter training than the defaults keep this example
# fast; ``verbose=1`` would print the progress of both stages.
dec = DECClusterer(
    n_clusters=10,
    autoencoder=MLPAutoencoder((256, 256, 512), epochs=60),
    random_state=0,
)
start = time.perf_counter()
labels = dec.fit_predict(X)
print(f"DEC in {time.perf_counter() - start:.1f}s:", clustering_report(y, labels))
print("iterations:", dec.n_iter_, "converged:", dec.converged_)

# %%
# The embedding and the training curves
# -------------------------------------
fig, axes = plt.subplots(1, 3, figsize=(15, 4.5))
plot_embedding(dec.transform(X), labels, ax=axes[0], title="DEC embedding")
plot_training_curves(dec, axes=axes[1:])
fig.tight_layout()
plt.show()

# %%
# Soft assignments
# ----------------
# ``predict_proba`` gives the Student's t soft assignment of every subject: the
# least confident subjects are good candidates to show volunteers.
proba = dec.predict_proba(X)
least_confident = proba.max(axis=1).argsort()[:8]
fig, axes = plt.subplots(1, 8, figsize=(10, 1.6))
for ax, i in zip(axes, least_confident):
    ax.imshow(X[i].reshape(8, 8), cmap="gray_r")
    ax.set_title(f"{proba[i].max():.2f}")
    ax.axis("off")
plt.show()
