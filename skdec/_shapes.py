"""The checks of ``image_shape`` against the rows it describes."""

from __future__ import annotations

import math

import numpy as np

__all__ = ["check_image_shape", "rows_image_shape"]


def _parse(image_shape, *, free):
    """``image_shape`` as a ``(C, H, W)`` tuple of ints, ``(H, W)`` read as
    one channel; with ``free``, one entry may be -1. A ValueError names it
    when it is not such a shape."""
    try:
        shape = tuple(int(s) for s in np.ravel(image_shape))
    except (TypeError, ValueError):
        shape = ()
    if (
        len(shape) not in (2, 3)
        or any(s < 1 and not (free and s == -1) for s in shape)
        or shape.count(-1) > 1
    ):
        raise ValueError(
            "image_shape must be (height, width) or (channels, height, width) "
            f"of positive ints{', one of which may be -1;' if free else ','} "
            f"got {image_shape!r}."
        )
    return shape if len(shape) == 3 else (1, *shape)


def check_image_shape(image_shape, n_features):
    """``image_shape`` as ``(C, H, W)`` checked against ``n_features``, or None."""
    if image_shape is None:
        return None
    shape = _parse(image_shape, free=False)
    if int(np.prod(shape)) != n_features:
        raise ValueError(
            f"image_shape {shape} holds {int(np.prod(shape))} values but X has "
            f"{n_features} features."
        )
    return shape


def rows_image_shape(image_shape, n_features):
    """``(C, H, W)`` of rows of ``n_features`` values: ``image_shape`` is
    ``(H, W)`` or ``(C, H, W)``, one entry of which may be -1, or None for
    square single-channel images; a ValueError says why rows do not fit."""
    if image_shape is None:
        side = math.isqrt(n_features)
        if side * side != n_features:
            raise ValueError(
                f"X has {n_features} features per row, which is not a square "
                "number: pass image_shape=(height, width) or "
                "(channels, height, width) to say how rows are images."
            )
        return (1, side, side)
    shape = _parse(image_shape, free=True)
    known = [s for s in shape if s != -1]
    size = int(np.prod(known))
    if size > 0 and len(known) == 2 and n_features % size == 0:
        shape = tuple(n_features // size if s == -1 else s for s in shape)
    if int(np.prod(shape)) != n_features:
        raise ValueError(
            f"image_shape={tuple(image_shape)} does not fit rows of "
            f"{n_features} features."
        )
    return shape
