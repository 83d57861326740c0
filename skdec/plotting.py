"""Figures: embeddings, training curves, cluster montages, filters (matplotlib)."""

import numpy as np

__all__ = ["plot_cluster_montage", "plot_embedding", "plot_training_curves"]


def _axes(ax, **subplots):
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(**subplots)
    return ax


def plot_embedding(Z, labels, *, ax=None, title=None, max_points=5000, random_state=0):
    """Scatter a 2-D view of an embedding, coloured by cluster.

    Embeddings wider than two dimensions are projected on their first two
    principal components.

    Parameters
    ----------
    Z : array-like of shape (n_samples, n_components)
    labels : array-like of shape (n_samples,)
    ax : matplotlib Axes, default=None
        Created when omitted.
    title : str, default=None
    max_points : int, default=5000
        A random subset of this size is drawn for large data sets.
    random_state : int, default=0
        Seeds the subset.

    Returns
    -------
    ax : matplotlib Axes

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np
    >>> from skdec.plotting import plot_embedding
    >>> ax = plot_embedding(np.random.RandomState(0).rand(50, 4), np.arange(50) % 3)
    >>> ax.get_xlabel()
    'PC 1'
    """
    from sklearn.decomposition import PCA

    Z = np.asarray(Z, dtype=np.float64)
    labels = np.asarray(labels)
    if Z.ndim != 2 or len(Z) != len(labels):
        raise ValueError(
            f"Z must be 2-D with one row per label; got shape {Z.shape} and "
            f"{len(labels)} labels."
        )
    if len(Z) > max_points:
        keep = np.random.RandomState(random_state).choice(len(Z), max_points, False)
        Z, labels = Z[keep], labels[keep]
    if Z.shape[1] > 2:
        Z = PCA(2, random_state=random_state).fit_transform(Z)
        xlabel, ylabel = "PC 1", "PC 2"
    else:
        Z = np.column_stack([Z, np.zeros(len(Z))]) if Z.shape[1] == 1 else Z
        xlabel, ylabel = "z 1", "z 2"
    ax = _axes(ax, figsize=(5, 5))
    ax.scatter(Z[:, 0], Z[:, 1], c=labels, cmap="tab10", s=4, alpha=0.7)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title or "Embedding coloured by cluster")
    return ax


def plot_training_curves(model, *, axes=None):
    """Plot a fitted DECClusterer's pretraining loss and clustering progress.

    Left: reconstruction loss per pretraining epoch. Right: clustering loss and
    fraction of samples that changed cluster at each target update.

    Parameters
    ----------
    model : DECClusterer
        A fitted model.
    axes : sequence of two matplotlib Axes, default=None
        Created when omitted.

    Returns
    -------
    axes : array of matplotlib Axes
    """
    from sklearn.utils.validation import check_is_fitted

    check_is_fitted(model, "history_")
    if axes is None:
        import matplotlib.pyplot as plt

        _, axes = plt.subplots(1, 2, figsize=(10, 4))
    ax_pre, ax_dec = axes
    if model.pretrain_history_:
        losses = model.pretrain_history_[-1][:, "train_loss"]
        ax_pre.plot(np.arange(1, len(losses) + 1), losses)
        ax_pre.set_yscale("log")
    ax_pre.set_xlabel("pretraining epoch")
    ax_pre.set_ylabel("reconstruction loss (MSE)")
    ax_pre.set_title("Autoencoder pretraining")
    it = [h["iteration"] for h in model.history_]
    ax_dec.plot(it, [h["loss"] for h in model.history_], "o-", label="KL(P||Q)")
    ax_dec.set_xlabel("clustering iteration")
    ax_dec.set_ylabel("clustering loss")
    twin = ax_dec.twinx()
    twin.plot(
        it,
        [h["delta_label"] for h in model.history_],
        "s--",
        color="C1",
        label="label change",
    )
    twin.set_ylabel("fraction of samples changing cluster")
    ax_dec.set_title("DEC self-training")
    return np.asarray(axes)


def plot_cluster_montage(
    images,
    clusters,
    selected=None,
    *,
    n_per_cluster=8,
    image_shape=None,
    cmap="gray_r",
    fig=None,
):
    """Grid of subject images, one row per cluster.

    This is what volunteers would be shown: for each cluster, its selected
    subjects (for instance from :func:`skdec.select_queries`), or its first
    members when ``selected`` is None.

    Parameters
    ----------
    images : array-like of shape (n_samples, height, width[, channels]) or \
            (n_samples, n_features)
        Subject images; flat rows need ``image_shape``.
    clusters : array-like of shape (n_samples,)
        Cluster id of each subject.
    selected : array-like of int, default=None
        Row indices to draw; each is drawn in its cluster's row, in the given
        order. If None, every subject is a candidate.
    n_per_cluster : int, default=8
        Images per cluster row (a cluster with fewer leaves blank cells; the
        row label says how many of its subjects were selected).
    image_shape : tuple of int, default=None
        Shape of one image when ``images`` holds flat rows, e.g. ``(8, 8)``.
    cmap : str, default='gray_r'
        Colour map of single-channel images.
    fig : matplotlib Figure, default=None
        Created when omitted.

    Returns
    -------
    fig : matplotlib Figure

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np
    >>> from skdec.plotting import plot_cluster_montage
    >>> rng = np.random.RandomState(0)
    >>> fig = plot_cluster_montage(rng.rand(30, 8, 8), np.arange(30) % 3,
    ...                            n_per_cluster=4)
    >>> len(fig.axes)
    12
    """
    import matplotlib.pyplot as plt

    images = np.asarray(images)
    clusters = np.asarray(clusters)
    if clusters.ndim != 1 or len(clusters) != len(images):
        raise ValueError(
            f"clusters must be 1-D with one id per image; got shape "
            f"{clusters.shape} for {len(images)} images."
        )
    if image_shape is not None:
        images = images.reshape(len(images), *image_shape)
    if images.ndim not in (3, 4):
        raise ValueError(
            f"images must be (n, height, width[, channels]); got shape "
            f"{images.shape}. Pass image_shape for flat rows."
        )
    if n_per_cluster < 1:
        raise ValueError(f"n_per_cluster must be >= 1; got {n_per_cluster}.")
    if selected is None:
        selected = np.arange(len(images))
    selected = np.asarray(selected, dtype=np.int64).ravel()
    bad = np.flatnonzero((selected < 0) | (selected >= len(images)))
    if bad.size:
        raise ValueError(
            f"selected[{bad[0]}]={selected[bad[0]]} is not a row of images "
            f"(n_samples={len(images)})."
        )
    ids = np.unique(clusters)
    if fig is None:
        fig = plt.figure(figsize=(1.0 * n_per_cluster + 1.2, 1.0 * len(ids) + 0.3))
    axes = fig.subplots(len(ids), n_per_cluster, squeeze=False)
    for row, k in enumerate(ids):
        chosen = selected[clusters[selected] == k]
        for col in range(n_per_cluster):
            ax = axes[row, col]
            ax.set_xticks([])
            ax.set_yticks([])
            for spine in ax.spines.values():
                spine.set_visible(False)
            if col < chosen.size:
                ax.imshow(images[chosen[col]], cmap=cmap, interpolation="nearest")
        axes[row, 0].set_ylabel(
            f"{k}\n({chosen.size})", rotation=0, ha="right", va="center"
        )
    fig.supylabel("cluster (selected)")
    return fig
