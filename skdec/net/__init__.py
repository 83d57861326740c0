"""skorch nets and callbacks that train the modules of :mod:`skdec.nn`."""

from ._allocator import tune_malloc
from ._callbacks import (
    ClusterCollapseWarning,
    EmptyClusterWarning,
    TargetDistributionUpdate,
    embed,
)
from ._loader import TensorBatchIterator, as_float_tensor, epochs_for_iterations
from ._nets import (
    AutoencoderNet,
    DECNet,
    LabelHeadNet,
    TrainingDivergedError,
    check_finite_loss,
)

__all__ = [
    "AutoencoderNet",
    "DECNet",
    "ClusterCollapseWarning",
    "EmptyClusterWarning",
    "LabelHeadNet",
    "TargetDistributionUpdate",
    "TensorBatchIterator",
    "TrainingDivergedError",
    "as_float_tensor",
    "check_finite_loss",
    "embed",
    "epochs_for_iterations",
    "tune_malloc",
]
