"""Pure PyTorch building blocks of skdec (no scikit-learn inside)."""

from ._augment import RandomShiftRotate
from ._autoencoder import (
    DenoisingLayerPair,
    EncoderDecoder,
    MLPAutoencoder,
    make_activation,
)
from ._clustering import (
    ClusteringLayer,
    DECModule,
    soft_assignment,
    target_distribution,
)
from ._conv import ConvAutoencoder, ConvDecoder, ConvEncoder
from ._head import ClusterLabelLayer, LabelHeadModule

__all__ = [
    "ClusterLabelLayer",
    "ClusteringLayer",
    "ConvAutoencoder",
    "ConvDecoder",
    "ConvEncoder",
    "DECModule",
    "DenoisingLayerPair",
    "EncoderDecoder",
    "LabelHeadModule",
    "MLPAutoencoder",
    "RandomShiftRotate",
    "make_activation",
    "soft_assignment",
    "target_distribution",
]
