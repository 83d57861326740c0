"""skdec: deep embedded clustering and clustering-based network initialisation.

The public API is re-exported here; private modules (``_name.py``) hold the code.
"""

from importlib.metadata import PackageNotFoundError, version

from ._dec import DECClusterer
from ._filters import KMeansFilterInitializer, copy_filters_to_conv, init_conv_stack
from ._labels import ClusterLabelMapper
from ._surgery import dissolve_cluster, merge_clusters

try:
    __version__ = version("skdec")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0+unknown"

__all__ = [
    "ClusterLabelMapper",
    "DECClusterer",
    "KMeansFilterInitializer",
    "copy_filters_to_conv",
    "dissolve_cluster",
    "init_conv_stack",
    "merge_clusters",
    "__version__",
]
