"""skorch nets and callbacks that train the modules of :mod:`skdec.nn`."""

from ._callbacks import EmptyClusterWarning, TargetDistributionUpdate, embed
from ._loader import TensorBatchIterator, as_float_tensor, epochs_for_iterations
from ._nets import AutoencoderNet, DECNet, TrainingDivergedError, check_finite_loss

__all__ = [
    "AutoencoderNet",
    "DECNet",
    "EmptyClusterWarning",
    "TargetDistributionUpdate",
    "TensorBatchIterator",
    "TrainingDivergedError",
    "as_float_tensor",
    "check_finite_loss",
    "embed",
    "epochs_for_iterations",
]
