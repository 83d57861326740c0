"""skorch callbacks of the DEC self-training stage."""

from __future__ import annotations

import math
import warnings

import torch
from skorch.callbacks import Callback

from ..nn import target_distribution
from ._inference import INFERENCE_BATCH_SIZE
from ._loader import as_float_tensor
from ._progress import Progress
from ._rows import ArrayRows

__all__ = [
    "ClusterCollapseWarning",
    "EmptyClusterWarning",
    "TargetDistributionUpdate",
]


class EmptyClusterWarning(UserWarning):
    """A cluster lost all its members during DEC training and was re-seeded."""


class ClusterCollapseWarning(UserWarning):
    """A cluster collapsed during DEC training and training was rolled back."""


class TargetDistributionUpdate(Callback):
    """Recompute DEC's target distribution on the whole data set.

    Every ``update_interval`` training iterations the soft assignment ``Q`` of
    the whole data set is computed, the net's ``target_`` is set to
    ``target_distribution(Q)``, and the fraction of samples whose hard label
    changed since the previous update is recorded. Training stops (skorch's
    ``KeyboardInterrupt`` convention) when that fraction falls below ``tol`` or
    after ``max_iter`` iterations; a last record is added at the end of training
    when the last update is older than the last iteration.

    Collapse recovery: when a cluster holds fewer than ``collapse_share`` of
    the members it had at the start of training, the module is rolled back to
    its state at the previous update, the optimiser's state is cleared and its
    learning rate halved, and a :class:`ClusterCollapseWarning` is issued.
    After ``max_recoveries`` roll-backs a further collapse ends training at the
    last state that passed the check. Clusters that start with no members are
    exempt (they can only gain).

    Start partition: with ``initial_target`` (the posteriors of a partition
    found before training, for instance a Gaussian mixture on a UMAP
    projection), the first target is that partition instead of the sharpened
    soft assignment, its hard labels are the initial labels, and it is held
    (not recomputed) until the net reproduces it: until the share of samples
    whose label agrees with the partition rises by less than ``tol`` between
    two updates (the first comparison is with the untrained net's agreement),
    or half of ``max_iter`` has passed. From then on the target is recomputed
    from ``Q`` as usual; with ``end_at_release``, training ends there instead
    (converged), so the net keeps the partition it was taught.
    Without this, a partition whose clusters are not convex in the embedding
    would be replaced by its centres' nearest-centre partition and lose much
    of its accuracy.

    A cluster left without members (possible when collapse recovery is off or
    the cluster started empty) is re-seeded on the embedding of the
    worst-fitting sample (the lowest largest soft assignment) and an
    :class:`EmptyClusterWarning` is issued.

    Parameters
    ----------
    update_interval : int, default=140
    tol : float, default=1e-3
    max_iter : int, default=2000
    batch_size : int, default=INFERENCE_BATCH_SIZE
        Batch size of the whole-data forward pass (see
        :func:`skdec.net.embed_and_assign`).
    collapse_share : float or None, default=0.5
        A cluster whose membership falls below this fraction of its initial
        membership counts as collapsed; None turns collapse recovery off.
    max_recoveries : int, default=3
        Roll-backs allowed before a collapse ends training.
    initial_target : Tensor of shape (n_samples, n_clusters), default=None
        Start partition held as the target until the net reproduces it.
    end_at_release : bool, default=False
        End training when the start partition is released (the net
        reproduces it, or ``max_iter`` has passed) instead of self-training
        on from there.
    verbose : int, default=0
        Print one line per update when positive.

    Attributes
    ----------
    iteration_ : int
        Training iterations done.
    updates_ : list of dict
        One record per target update: ``iteration``, ``loss`` (mean training
        loss since the previous update), ``delta_label``, ``n_reseeded``,
        ``largest_cluster`` (share of the samples in the largest cluster),
        ``smallest_kept`` (the lowest ratio of a cluster's members to its
        initial members), ``rolled_back`` (whether this update found a collapse
        and restored the previous state; its ``delta_label`` is NaN) and ``lr``
        (the learning rate from this update on), ``start_target`` (whether the
        start partition was the target from this update on).
    n_recoveries_ : int
        Roll-backs done.
    converged_ : bool
        Whether training stopped because of ``tol``.
    labels_ : Tensor
        Hard labels at the last update.
    """

    def __init__(
        self,
        update_interval=140,
        tol=1e-3,
        max_iter=2000,
        batch_size=INFERENCE_BATCH_SIZE,
        collapse_share=0.5,
        max_recoveries=3,
        initial_target=None,
        end_at_release=False,
        verbose=0,
    ):
        self.update_interval = update_interval
        self.tol = tol
        self.max_iter = max_iter
        self.batch_size = batch_size
        self.collapse_share = collapse_share
        self.max_recoveries = max_recoveries
        self.initial_target = initial_target
        self.end_at_release = end_at_release
        self.verbose = verbose

    def on_train_begin(self, net, X=None, y=None, **kwargs):
        # rows on disk are read batch by batch at each update
        self.X_ = X if isinstance(X, ArrayRows) else as_float_tensor(X)
        self.iteration_ = 0
        self.updates_ = []
        self.converged_ = False
        self.labels_ = None
        self.n_recoveries_ = 0
        self._initial_counts = None
        self._snapshot = None
        self._losses = []
        self._start = None
        self.progress_ = None
        if self.verbose > 0:  # a bar on a terminal, a line per update elsewhere
            self.progress_ = Progress(
                "clustering", self.max_iter, "iteration", tenths=False
            )
        if self.initial_target is not None:
            target = torch.as_tensor(self.initial_target, dtype=torch.float32)
            # the partition, its labels, and the share of them the net agrees with
            self._start = [target, target.argmax(dim=1), None]
        self._update(net)

    def on_batch_begin(self, net, batch=None, training=False, **kwargs):
        if not training:
            return
        if self.iteration_ >= self.max_iter:
            raise KeyboardInterrupt
        if self.iteration_ > 0 and self.iteration_ % self.update_interval == 0:
            delta = self._update(net)
            if delta is None:  # a collapse beyond max_recoveries
                raise KeyboardInterrupt
            if delta < self.tol:
                self.converged_ = True
                raise KeyboardInterrupt
        self.iteration_ += 1
        if self.progress_ is not None:
            self.progress_.update(1)

    def on_batch_end(self, net, batch=None, training=False, loss=None, **kwargs):
        if training:
            self._losses.append(loss.item())

    def on_train_end(self, net, X=None, y=None, **kwargs):
        if self.updates_[-1]["iteration"] != self.iteration_:
            self._update(net, final=True)  # close the record with the final state
        self.X_ = None  # do not pickle the training data with the net
        self._snapshot = None
        if self.progress_ is not None:
            self.progress_.close()
            self.progress_ = None

    @torch.no_grad()
    def _update(self, net, final=False):
        """One target update; the label change, or None when training must end
        at the restored state (a collapse beyond ``max_recoveries``, or one
        found by the ``final`` update that closes the record)."""
        module = net.unwrapped_module()
        layer = module.clustering_layer
        n_clusters = layer.centers.shape[0]
        # the whole data set's, gathered from all processes in data-parallel
        # training: every process then takes the same decisions below
        z, q = net.embed_and_assign(self.X_, self.batch_size)
        labels = own_labels = q.argmax(dim=1)
        if self._start is not None and self.labels_ is None:
            # the partition's own labels; the untrained net's agreement with
            # them is the baseline that distilling must raise
            start_labels = self._start[1].to(labels.device)
            self._start[2] = (labels == start_labels).float().mean().item()
            labels = start_labels
        counts = torch.bincount(labels, minlength=n_clusters)
        if self._initial_counts is None:
            self._initial_counts = counts
        kept = self._kept(counts)
        loss = sum(self._losses) / len(self._losses) if self._losses else math.nan
        self._losses = []
        # the first update defines the initial counts (kept == 1), so a
        # collapse always has an earlier snapshot to return to
        if self.collapse_share is not None and kept < self.collapse_share:
            return self._roll_back(net, loss, kept, final)
        n_reseeded = self._reseed_empty(layer, z, q, counts)
        if n_reseeded:
            q = layer(z)
            labels = own_labels = q.argmax(dim=1)
            counts = torch.bincount(labels, minlength=n_clusters)
        held = self._start is not None
        if self.labels_ is None:
            delta = math.nan  # the partition's first update holds it
        else:
            delta = (labels != self.labels_).float().mean().item()
            held = held and not self._release(labels)
        # training ends where the net reproduces its start, whatever `tol`
        ends = self.end_at_release and self.initial_target is not None and not held
        self.labels_ = labels
        if held:
            net.target_ = self._start[0].to(q.device)
        else:
            net.target_ = target_distribution(q)
        self._record(net, loss, delta, n_reseeded, counts, kept, False, held)
        if held and not final:
            delta = math.inf  # not converged while the partition is distilled
        if self.collapse_share is not None:
            self._snapshot = (
                {k: v.clone() for k, v in module.state_dict().items()},
                net.target_,
                own_labels,  # the net's, also where the partition's are compared
                counts,
                self.iteration_,
            )
        return -math.inf if ends else delta

    def _release(self, labels) -> bool:
        """Whether the start partition is released: the share of labels that
        agree with it rose by less than ``tol`` since the previous update."""
        _, start_labels, agreed = self._start
        agree = (labels == start_labels.to(labels.device)).float().mean().item()
        self._start[2] = agree
        cap = self.max_iter if self.end_at_release else self.max_iter // 2
        if agree - agreed < self.tol or self.iteration_ >= cap:
            self._start = None
            return True
        return False

    def _kept(self, counts) -> float:
        """The lowest ratio of a cluster's members to its initial members."""
        start = self._initial_counts
        alive = start > 0  # never all zero: every sample has a cluster
        return (counts[alive].float() / start[alive].float()).min().item()

    def _roll_back(self, net, loss, kept, final):
        state, target, labels, counts, last = self._snapshot
        net.unwrapped_module().load_state_dict(state)
        net.target_, self.labels_ = target, labels
        net.optimizer_.state.clear()
        stop = final or self.n_recoveries_ >= self.max_recoveries
        if not stop:
            self.n_recoveries_ += 1
            for group in net.optimizer_.param_groups:
                group["lr"] = group["lr"] * 0.5
        lr = net.optimizer_.param_groups[0]["lr"]
        action = (
            "training ends there"
            if stop
            else f"training goes on from there with the learning rate halved to {lr:g}"
        )
        warnings.warn(
            f"A cluster collapsed at iteration {self.iteration_} of DEC training "
            f"(it kept {kept:.0%} of its initial members, under the "
            f"collapse_share of {self.collapse_share:.0%}); the model was rolled "
            f"back to its state at iteration {last} and {action}.",
            ClusterCollapseWarning,
            stacklevel=2,
        )
        # no label change is defined for an update that was undone
        held = self._start is not None
        self._record(net, loss, math.nan, 0, counts, kept, True, held)
        return None if stop else math.inf

    def _record(self, net, loss, delta, n_reseeded, counts, kept, rolled_back, held):
        self.updates_.append(
            {
                "iteration": self.iteration_,
                "loss": loss,
                "delta_label": delta,
                "n_reseeded": n_reseeded,
                "largest_cluster": counts.max().item() / counts.sum().item(),
                "smallest_kept": kept,
                "rolled_back": rolled_back,
                "lr": net.optimizer_.param_groups[0]["lr"],
                "start_target": held,
            }
        )
        if self.progress_ is not None:
            info = {}
            if math.isfinite(loss):  # not before the first iteration
                info["loss"] = f"{loss:.5f}"
            if math.isfinite(delta):
                info["label change"] = f"{delta:.4f}"
            if rolled_back:
                info["collapse"] = "rolled back"
            if held:
                info["target"] = "start partition"
            if info:
                self.progress_.note(**info)

    @staticmethod
    def _reseed_empty(layer, z, q, counts) -> int:
        empty = torch.nonzero(counts == 0).flatten()
        if len(empty) == 0:
            return 0
        # worst-fitting samples first; one distinct sample per empty cluster
        worst = torch.argsort(q.max(dim=1).values)[: len(empty)]
        layer.centers.data[empty] = z[worst]
        warnings.warn(
            f"{len(empty)} cluster(s) {empty.tolist()} lost all members during "
            "DEC training; their centres were re-seeded on the worst-fitting "
            "samples. Consider fewer clusters or a smaller `lr`.",
            EmptyClusterWarning,
            stacklevel=2,
        )
        return len(empty)
