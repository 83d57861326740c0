"""skorch nets and callbacks that train the modules of :mod:`skdec.nn`."""

from ._allocator import tune_malloc
from ._callbacks import (
    ClusterCollapseWarning,
    EmptyClusterWarning,
    TargetDistributionUpdate,
)
from ._inference import (
    INFERENCE_BATCH_SIZE,
    embed,
    embed_and_assign,
    inference_batches,
    predict_batched,
)
from ._interrupt import interruptible, interruptible_fit
from ._loader import (
    BlockShuffleIterator,
    TensorBatchIterator,
    as_float_tensor,
    batch_iterator,
    epochs_for_iterations,
    read_ahead,
    to_device_ahead,
)
from ._nets import (
    AutoencoderNet,
    ContrastiveNet,
    DECNet,
    LabelHeadNet,
    TrainingDivergedError,
    check_finite_loss,
)
from ._parallel import (
    AcceleratedAutoencoderNet,
    AcceleratedDECNet,
    DataParallel,
    ShardedBatchIterator,
    SingleProcess,
    gather_rows,
    is_main_process,
    parallelism,
)
from ._pickling import pack_state, unpack_state
from ._progress import EpochProgress, Progress
from ._rows import ArrayRows, EncodedRows

__all__ = [
    "INFERENCE_BATCH_SIZE",
    "AcceleratedAutoencoderNet",
    "AcceleratedDECNet",
    "DataParallel",
    "ShardedBatchIterator",
    "SingleProcess",
    "gather_rows",
    "is_main_process",
    "parallelism",
    "ArrayRows",
    "AutoencoderNet",
    "BlockShuffleIterator",
    "ContrastiveNet",
    "DECNet",
    "ClusterCollapseWarning",
    "EmptyClusterWarning",
    "EncodedRows",
    "EpochProgress",
    "LabelHeadNet",
    "Progress",
    "TargetDistributionUpdate",
    "TensorBatchIterator",
    "TrainingDivergedError",
    "as_float_tensor",
    "batch_iterator",
    "check_finite_loss",
    "embed",
    "embed_and_assign",
    "epochs_for_iterations",
    "pack_state",
    "inference_batches",
    "interruptible",
    "interruptible_fit",
    "predict_batched",
    "read_ahead",
    "to_device_ahead",
    "tune_malloc",
    "unpack_state",
]
