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
from ._contrastive import ContrastiveModule, ConvFeatureEncoder, nt_xent_loss
from ._conv import ConvAutoencoder, ConvDecoder, ConvEncoder
from ._head import ClusterLabelLayer, LabelHeadModule

__all__ = [
    "ClusterLabelLayer",
    "ClusteringLayer",
    "ContrastiveModule",
    "ConvFeatureEncoder",
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
    "nt_xent_loss",
    "soft_assignment",
    "target_distribution",
]
