"""Shared base of skdec's deep clustering estimators."""

from __future__ import annotations

from numbers import Integral

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClusterMixin, TransformerMixin
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import check_is_fitted

from ._validation import validate_rows
from .net import embed, embed_and_assign, pack_state, unpack_state
from .nn import target_distribution


class BaseDeepClusterer(ClusterMixin, TransformerMixin, BaseEstimator):
    """Common prediction API of estimators whose fitted state is a ``DECModule``.

    Subclasses set ``module_`` (a :class:`skdec.nn.DECModule`), ``device_``,
    ``cluster_centers_``, ``labels_`` and ``n_features_in_`` in ``fit``.
    """

    _parameter_constraints: dict = {
        "n_clusters": [Interval(Integral, 1, None, closed="left")],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    def __getstate__(self):
        # one pickle stream for the estimator and its skorch nets: what they
        # share (``module_`` is ``dec_net_.module_``) is stored once and stays
        # shared after loading
        return pack_state(super().__getstate__())

    def __setstate__(self, state):
        super().__setstate__(unpack_state(state))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64"]
        return tags

    def _validate_test_data(self, X):
        check_is_fitted(self)
        # rows on disk are checked for NaN as each batch is read
        return validate_rows(self, X, reset=False, check_finite="batches")

    def _embed(self, X):
        X = self._validate_test_data(X)
        return embed(self.module_.encoder, X, device=self.device_)

    def _soft_assign(self, X):
        X = self._validate_test_data(X)
        z, q = embed_and_assign(self.module_, X, device=self.device_)
        return q, z

    def transform(self, X):
        """Embed ``X`` with the trained encoder.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        Z : ndarray of shape (n_samples, n_components)
        """
        return self._embed(X).cpu().numpy().astype(np.float64)

    def predict_proba(self, X):
        """Student's t soft assignment of each sample to each cluster.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        Q : ndarray of shape (n_samples, n_clusters)
            Rows sum to one.
        """
        q, _ = self._soft_assign(X)
        return q.cpu().numpy().astype(np.float64)

    def predict(self, X):
        """Index of the cluster with the largest soft assignment.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        labels : ndarray of shape (n_samples,)
        """
        q, _ = self._soft_assign(X)
        return q.argmax(dim=1).cpu().numpy()

    def score(self, X, y=None):
        """Opposite of DEC's objective ``KL(P || Q)`` on ``X`` (higher is better).

        ``P`` is the target distribution computed from ``Q`` on ``X`` itself,
        so the score rewards confident, balanced assignments.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : Ignored

        Returns
        -------
        score : float
        """
        q, _ = self._soft_assign(X)
        q = q.double()
        p = target_distribution(q)
        tiny = torch.finfo(q.dtype).tiny
        kl = (p * (p.clamp_min(tiny).log() - q.clamp_min(tiny).log())).sum(dim=1)
        return -float(kl.mean())
