"""
===============================================
From clusters to a classifier: the label head
===============================================

A DEC clustering plus a few volunteer labels already gives every subject a
label: :class:`skdec.ClusterLabelMapper` maps each cluster to the label of
its labelled members. :class:`skdec.LabelHeadClassifier` goes one step
further: it puts a layer that maps the cluster soft assignment to labels,
initialised from that mapping, on top of the clustering network, and
fine-tunes the whole network on the volunteer labels.

Here 100 digits are labelled by simulated volunteers who are right 80% of the
time. We compare, on held-out digits, (a) the mapper alone, (b) the fine-tuned
head and (c) the same network trained from scratch on the same labels.
"""

# %%
# Cluster the digits, then ask volunteers about 100 of them
# ---------------------------------------------------------
import matplotlib.pyplot as plt
import numpy as np
import torch
from sklearn.model_selection import train_test_split

from skdec import (
    ClusterLabelMapper,
    DECClusterer,
    LabelHeadClassifier,
    MLPAutoencoder,
    aggregate_votes,
    select_queries,
    simulate_volunteers,
)
from skdec.datasets import load_digits

torch.set_num_threads(1)
X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(
    X, y, test_size=0.25, stratify=y, random_state=0
)
dec = DECClusterer(
    10,
    autoencoder=MLPAutoencoder((256, 256), 10, epochs=100),
    max_iter=1000,
    update_interval=50,
    batch_size=64,
    random_state=0,
).fit(X_train)
q_train = dec.predict_proba(X_train)

chosen = select_queries(q_train, 100, "central", random_state=0)
votes = simulate_volunteers(
    y_train,
    n_volunteers=20,
    votes_per_subject=1,
    accuracy=0.8,
    subjects=chosen,
    random_state=0,
)
labels = aggregate_votes(votes, subjects=np.arange(len(y_train))).labels
print(
    f"{np.sum(labels != -1)} labelled subjects, "
    f"{np.mean(labels[chosen] == y_train[chosen]):.0%} of them correctly"
)

# %%
# (a) the mapper, (b) the label head, (c) the same network from scratch
# ---------------------------------------------------------------------
# The head fine-tunes a pretrained encoder, so it uses a small learning rate
# (the default, 1e-3); from scratch a larger one (1e-2) works better.
mapper = ClusterLabelMapper(cluster_centers=dec.cluster_centers_)
mapper.fit(q_train, labels)
head = LabelHeadClassifier(dec, mapper, max_epochs=100, random_state=0)
head.fit(X_train, labels)
scratch = LabelHeadClassifier(
    dec, mapper, init="random", lr=1e-2, max_epochs=100, random_state=0
)
scratch.fit(X_train, labels)

print(
    f"(a) mapper  test accuracy {mapper.score(dec.predict_proba(X_test), y_test):.3f}"
)
for name, clf in (("(b) head   ", head), ("(c) scratch", scratch)):
    print(
        f"{name} test accuracy {clf.score(X_test, y_test):.3f}, "
        f"converged after {clf.best_epoch_} epochs"
    )

# %%
# Training curves
# ---------------
# Training cross-entropy per epoch; the dotted lines mark the epoch whose
# weights early stopping kept (``best_epoch_``).
fig, ax = plt.subplots(figsize=(6, 3.5))
for name, clf in (("label head", head), ("from scratch", scratch)):
    epochs = [row["epoch"] for row in clf.history_]
    ax.plot(epochs, [row["train_loss"] for row in clf.history_], label=name)
    ax.axvline(clf.best_epoch_, ls=":", color=ax.lines[-1].get_color())
ax.set(xlabel="epoch", ylabel="training cross-entropy", yscale="log")
ax.legend()
fig.tight_layout()

# %%
# How fine-tuning changed the mapping
# -----------------------------------
# Rows are clusters, columns digits: the probability of each digit given the
# cluster, before and after fine-tuning.
fig, axes = plt.subplots(1, 2, figsize=(8, 3.8), sharey=True)
for ax, mapping, title in zip(
    axes, (head.initial_mapping_, head.mapping_), ("initial mapping", "fine-tuned")
):
    ax.imshow(mapping, vmin=0, vmax=1, cmap="viridis")
    ax.set(title=title, xlabel="digit", xticks=range(10))
axes[0].set_ylabel("cluster")
fig.tight_layout()
plt.show()
