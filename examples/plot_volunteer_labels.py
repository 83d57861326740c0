"""
Labelling every digit from a few noisy volunteer answers
========================================================

A citizen-science project clusters its unlabelled subjects with DEC, shows a
few subjects per cluster to volunteers, aggregates their noisy answers and maps
each cluster to a label. Here the subjects are scikit-learn's 8x8 digits and
the volunteers are simulated (each answers correctly 80% of the time, give or
take 10%); we compare the query strategies and the mapping strategies by the
accuracy of the labels given to *all* subjects.
"""

# %%
# Cluster the digits
# ------------------
import matplotlib.pyplot as plt
import numpy as np

from skdec import (
    ClusterLabelMapper,
    DECClusterer,
    MLPAutoencoder,
    aggregate_votes,
    select_queries,
    simulate_volunteers,
)
from skdec.datasets import load_digits
from skdec.plotting import plot_cluster_montage

digits = load_digits()
X, y = digits.data, digits.target
dec = DECClusterer(
    n_clusters=10,
    autoencoder=MLPAutoencoder((256, 256, 512), epochs=25),
    max_iter=280,
    n_init=3,
    random_state=0,
)
Q = dec.fit(X).predict_proba(X)
clusters = Q.argmax(axis=1)

# %%
# Ask the volunteers
# ------------------
# A budget of 40 subjects, each shown to 3 of 15 volunteers. For each query
# strategy, aggregate the votes (majority and Dawid-Skene), map clusters to
# labels and score the labels of all 1,797 digits.
budget, subjects = 40, np.arange(len(X))
results = {}
for query in ("random", "central", "uncertain", "stratified"):
    asked = select_queries(Q, budget, query, random_state=0)
    votes = simulate_volunteers(
        y, 15, 3, accuracy=0.8, accuracy_spread=0.1, subjects=asked, random_state=0
    )
    for method in ("majority", "dawid-skene"):
        agg = aggregate_votes(votes, method, subjects=subjects, model="one-coin")
        for strategy in ("majority", "hungarian", "probabilistic"):
            mapper = ClusterLabelMapper(
                strategy, cluster_centers=dec.cluster_centers_
            ).fit(Q, agg.labels, sample_weight=agg.confidence)
            accuracy = np.mean(mapper.predict(Q) == y)
            results[query, method, strategy] = accuracy

print(f"{'query':<11} {'votes':<12} {'majority':>9} {'hungarian':>9} {'probab.':>9}")
for query in ("random", "central", "uncertain", "stratified"):
    for method in ("majority", "dawid-skene"):
        row = [
            results[query, method, s]
            for s in ("majority", "hungarian", "probabilistic")
        ]
        print(f"{query:<11} {method:<12} " + " ".join(f"{a:9.3f}" for a in row))

# %%
# How good are the aggregated labels themselves?
# ----------------------------------------------
# On the subjects that were asked, with less reliable volunteers, Dawid-Skene
# learns whom to trust.
asked = select_queries(Q, 300, "stratified", random_state=0)
for accuracy in (0.6, 0.8):
    votes = simulate_volunteers(
        y,
        15,
        3,
        accuracy=accuracy,
        accuracy_spread=0.2,
        subjects=asked,
        random_state=0,
    )
    line = [f"volunteer accuracy {accuracy}:"]
    for method in ("majority", "dawid-skene"):
        agg = aggregate_votes(votes, method, model="one-coin")
        line.append(f"{method} {np.mean(agg.labels == y[agg.subjects]):.3f}")
    print("  ".join(line))

# %%
# What the volunteers see
# -----------------------
# The most central subjects of each cluster, as a volunteer would be shown.
asked = select_queries(Q, 60, "central", random_state=0)
fig = plot_cluster_montage(digits.images, clusters, asked, n_per_cluster=6)
fig.suptitle("Most central digits of each DEC cluster")
plt.show()
