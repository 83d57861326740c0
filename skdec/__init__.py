"""skdec: deep embedded clustering and clustering-based network initialisation.

The public API is re-exported here; private modules (``_name.py``) hold the code.
"""

from importlib.metadata import PackageNotFoundError, version

from ._autoencoders import (
    ContrastiveEncoder,
    ConvAutoencoder,
    MLPAutoencoder,
    PretrainedEncoder,
    ShiftRotate,
    StackedAutoencoder,
)
from ._dec import DECClusterer, DegenerateClusteringWarning
from ._features import FeatureExtractor
from ._filters import KMeansFilterInitializer, copy_filters_to_conv, init_conv_stack
from ._head import LabelHeadClassifier
from ._labels import ClusterLabelMapper
from ._morphology import MorphologyFeatures
from ._query import select_queries
from ._surgery import dissolve_cluster, merge_clusters
from ._votes import (
    aggregate_votes,
    dawid_skene,
    read_workflow_answers,
    read_zooniverse_export,
    simulate_volunteers,
    write_zooniverse_export,
)

try:
    __version__ = version("skdec")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0+unknown"

__all__ = [
    "aggregate_votes",
    "ClusterLabelMapper",
    "ContrastiveEncoder",
    "ConvAutoencoder",
    "copy_filters_to_conv",
    "dawid_skene",
    "DECClusterer",
    "DegenerateClusteringWarning",
    "dissolve_cluster",
    "FeatureExtractor",
    "init_conv_stack",
    "KMeansFilterInitializer",
    "LabelHeadClassifier",
    "merge_clusters",
    "MLPAutoencoder",
    "MorphologyFeatures",
    "PretrainedEncoder",
    "read_workflow_answers",
    "read_zooniverse_export",
    "select_queries",
    "ShiftRotate",
    "simulate_volunteers",
    "StackedAutoencoder",
    "write_zooniverse_export",
    "__version__",
]
