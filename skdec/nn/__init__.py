"""Pure PyTorch building blocks of skdec (no scikit-learn inside)."""

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

__all__ = [
    "ClusteringLayer",
    "DECModule",
    "DenoisingLayerPair",
    "EncoderDecoder",
    "MLPAutoencoder",
    "make_activation",
    "soft_assignment",
    "target_distribution",
]
