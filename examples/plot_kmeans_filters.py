"""
=====================================================
Convolution filters from k-means on image patches
=====================================================

A convolution filter can be read as an anchor vector in patch space: the
centroids of clustered image patches make good filters (the ClusterCNN view).
:class:`skdec.KMeansFilterInitializer` learns such filters without labels.
Here we look at the filters and at the patch clusters, use the filter
responses as features for a linear classifier, and train a small CNN by SGD
from k-means filters and from the default random initialisation, with few and
with all labels.
"""

# %%
# Filters from unlabelled digits
# ------------------------------
# The 8x8 digits are cut into 3x3 patches; flat (background) patches are
# dropped, each patch is contrast-normalised, and k-means finds 8 centroids.
import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn.functional as F
from sklearn.linear_model import LogisticRegression
from sklearn.manifold import TSNE
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline

from skdec import KMeansFilterInitializer, init_conv_stack
from skdec.datasets import load_digits

torch.set_num_threads(1)
X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(
    X, y, test_size=0.3, stratify=y, random_state=0
)

init = KMeansFilterInitializer(n_filters=8, kernel_size=3, random_state=0)
init.fit(X_train)
print(
    f"silhouette of the patch clustering: {init.silhouette_:.2f} "
    f"(ClusterCNN reading: {init.silhouette_reading_!r})"
)

fig, axes = plt.subplots(1, 8, figsize=(8, 1.3))
for ax, w, size in zip(axes, init.filters_[:, 0], init.cluster_sizes_):
    ax.imshow(w, cmap="gray")
    ax.set_title(str(size), fontsize=8)
    ax.axis("off")
fig.suptitle("k-means filters (patches per cluster)")

# %%
# Patches of handwriting do not fall into well separated groups: the
# silhouette is low (``'none'``: no substantial structure). The filters are
# still oriented strokes and edges, and useful as a start, as below.
#
# The patch clusters
# ------------------
# :meth:`~skdec.KMeansFilterInitializer.sample_patches` returns normalised
# patches and their cluster; a t-SNE map shows how separate the clusters are.
patches, labels = init.sample_patches(X_train, n_patches=800, random_state=0)
embedding = TSNE(init="pca", perplexity=30, random_state=0).fit_transform(patches)
fig, ax = plt.subplots(figsize=(4.5, 4.5))
ax.scatter(embedding[:, 0], embedding[:, 1], c=labels, cmap="tab10", s=6)
ax.set_title("t-SNE of 3x3 patches, coloured by cluster")

# %%
# Frozen filters as features
# --------------------------
# ``transform`` gives rectified, max-pooled filter responses, so the
# initializer can sit in a pipeline. Random filters of the same shape, with
# the same rectification and pooling, are the baseline.
probe = make_pipeline(init, LogisticRegression(max_iter=500)).fit(X_train, y_train)
print(f"k-means filters + logistic regression: {probe.score(X_test, y_test):.3f}")


def random_features(images, seed=0):
    conv = torch.nn.Conv2d(1, 8, 3)
    torch.manual_seed(seed)
    conv.reset_parameters()
    with torch.no_grad():
        x = torch.as_tensor(images.reshape(-1, 1, 8, 8))
        return F.max_pool2d(F.relu(conv(x)), 2, ceil_mode=True).flatten(1).numpy()


clf = LogisticRegression(max_iter=500).fit(random_features(X_train), y_train)
random_score = clf.score(random_features(X_test), y_test)
print(f"random filters + logistic regression:  {random_score:.3f}")

# %%
# SGD from k-means filters versus random filters
# ----------------------------------------------
# The same small CNN, seeds, labelled subsets and batches; only the
# convolution weights differ. :func:`skdec.init_conv_stack` sets the first
# layer from image patches and the second from patches of the first layer's
# responses. The k-means filters are rescaled to the norm of the default
# initialisation so that only their directions differ.


def make_cnn():
    return torch.nn.Sequential(
        torch.nn.Conv2d(1, 8, 3),
        torch.nn.ReLU(),
        torch.nn.Conv2d(8, 16, 3),
        torch.nn.ReLU(),
        torch.nn.Flatten(),
        torch.nn.Linear(16 * 4 * 4, 10),
    )


x_all = torch.as_tensor(X_train.reshape(-1, 1, 8, 8))
t_all = torch.as_tensor(y_train).long()
x_test = torch.as_tensor(X_test.reshape(-1, 1, 8, 8))
t_test = torch.as_tensor(y_test).long()


def train(net, x, t, epochs=15, seed=0):
    opt = torch.optim.SGD(net.parameters(), lr=0.05, momentum=0.9)
    gen = torch.Generator().manual_seed(seed)
    curve = []
    for _ in range(epochs):
        for idx in torch.randperm(len(x), generator=gen).split(16):
            opt.zero_grad()
            F.cross_entropy(net(x[idx]), t[idx]).backward()
            opt.step()
        with torch.no_grad():
            curve.append(float((net(x_test).argmax(1) == t_test).float().mean()))
    return curve


curves = {}
for budget in (0.1, 1.0):
    for seed in range(3):
        rng = np.random.RandomState(seed)
        labelled = rng.choice(len(x_all), int(budget * len(x_all)), replace=False)
        torch.manual_seed(seed)
        random_net = make_cnn()
        kmeans_net = make_cnn()
        kmeans_net.load_state_dict(random_net.state_dict())
        template = KMeansFilterInitializer(n_patches=5000, n_init=2)
        init_conv_stack(kmeans_net, X_train, template, random_state=seed)
        with torch.no_grad():
            for i in (0, 2):
                norm = random_net[i].weight.flatten(1).norm(dim=1).mean()
                kmeans_net[i].weight.mul_(norm)
        for name, net in (("random", random_net), ("k-means", kmeans_net)):
            curve = train(net, x_all[labelled], t_all[labelled], seed=seed)
            curves.setdefault((budget, name), []).append(curve)

fig, axes = plt.subplots(1, 2, figsize=(8, 3.2), sharey=True)
for ax, budget in zip(axes, (0.1, 1.0)):
    for name, colour in (("random", "tab:grey"), ("k-means", "tab:blue")):
        c = np.array(curves[budget, name])
        epochs = np.arange(1, c.shape[1] + 1)
        ax.plot(epochs, c.mean(0), color=colour, label=name)
        ax.fill_between(
            epochs, c.mean(0) - c.std(0), c.mean(0) + c.std(0), color=colour, alpha=0.25
        )
        print(
            f"{budget:>4.0%} labels, {name:7s}: epoch 1 "
            f"{c[:, 0].mean():.3f}, epoch {c.shape[1]} {c[:, -1].mean():.3f}"
        )
    ax.set(title=f"{budget:.0%} of the training labels", xlabel="epoch")
axes[0].set_ylabel("test accuracy (mean +/- std, 3 seeds)")
axes[0].legend()
fig.tight_layout()
plt.show()
