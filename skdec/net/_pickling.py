"""Pickling an estimator and its skorch nets as one stream.

skorch pickles each net's module, criterion and optimiser into a byte string
of their own, so that objects shared between an estimator and its nets (the
DEC net's module is the estimator's ``module_``, the clustering stage trains
the pretraining net's encoder) were stored once per holder and came back as
separate copies. :func:`pack_state` pickles an estimator's attributes with
each skorch net written as its plain attribute dictionary, in one stream, so
that every shared object is stored once and is shared again after loading.
"""

from __future__ import annotations

import io
import pickle

from skorch import NeuralNet

__all__ = ["pack_state", "unpack_state"]

_KEY = "_skdec_pickled_attributes"


def _new_net(cls):
    return cls.__new__(cls)


def _set_net_state(net, state):
    # what skorch's own __setstate__ ends with, minus its separate buffer
    net.__dict__.update(state)


class _SharedNetPickler(pickle.Pickler):
    def reducer_override(self, obj):
        if isinstance(obj, NeuralNet):
            return (
                _new_net,
                (type(obj),),
                dict(obj.__dict__),
                None,
                None,
                _set_net_state,
            )
        return NotImplemented


def pack_state(state: dict) -> dict:
    """An estimator's ``__getstate__`` dict with its attributes in one stream.

    Entries whose name starts with ``_sklearn`` (scikit-learn's version check)
    stay as they are; the others are pickled together into one byte string.
    The objects are loaded back on the devices they were saved from.

    Parameters
    ----------
    state : dict
        What ``BaseEstimator.__getstate__`` returned.

    Returns
    -------
    state : dict
        To be returned by the estimator's ``__getstate__``; its
        ``__setstate__`` passes it to :func:`unpack_state`.

    Examples
    --------
    >>> import pickle, torch
    >>> from skdec.net import AutoencoderNet, pack_state, unpack_state
    >>> from skdec.nn import MLPAutoencoder
    >>> net = AutoencoderNet(MLPAutoencoder(4, (8,), 2)).initialize()
    >>> state = pack_state({"net_": net, "module_": net.module_})
    >>> loaded = unpack_state(pickle.loads(pickle.dumps(state)))
    >>> loaded["net_"].module_ is loaded["module_"]
    True
    """
    kept = {k: v for k, v in state.items() if k.startswith("_sklearn")}
    packed = {k: v for k, v in state.items() if k not in kept}
    buffer = io.BytesIO()
    _SharedNetPickler(buffer, protocol=pickle.HIGHEST_PROTOCOL).dump(packed)
    return {**kept, _KEY: buffer.getvalue()}


def unpack_state(state: dict) -> dict:
    """The inverse of :func:`pack_state` (a state without packed attributes,
    for instance from an older skdec, is returned as it is)."""
    if _KEY not in state:
        return state
    state = dict(state)
    state.update(pickle.loads(state.pop(_KEY)))
    return state
