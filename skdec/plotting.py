"""Figures: embeddings, training curves, cluster montages, filters (matplotlib)."""

import numpy as np

__all__ = ["plot_embedding", "plot_training_curves"]


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
    if model.pretrain_nets_:
        losses = model.pretrain_nets_[-1].history[:, "train_loss"]
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
