"""The one check of ``image_shape`` against the rows it describes."""

from __future__ import annotations

import numpy as np

__all__ = ["check_image_shape"]


def check_image_shape(image_shape, n_features):
    """``image_shape`` as ``(C, H, W)`` checked against ``n_features``, or None."""
    if image_shape is None:
        return None
    try:
        shape = tuple(int(s) for s in np.ravel(image_shape))
    except (TypeError, ValueError):
        shape = ()
    if len(shape) not in (2, 3) or min(shape) < 1:
        raise ValueError(
            "image_shape must be (height, width) or (channels, height, width) "
            f"of positive ints, got {image_shape!r}."
        )
    if len(shape) == 2:
        shape = (1, *shape)
    if int(np.prod(shape)) != n_features:
        raise ValueError(
            f"image_shape {shape} holds {int(np.prod(shape))} values but X has "
            f"{n_features} features."
        )
    return shape
