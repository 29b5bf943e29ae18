"""keras_dropout: dropout and its relatives for Keras 3.

One code path on TensorFlow, JAX and PyTorch. The public API is exactly what
this module re-exports.
"""

from keras_dropout import callbacks as callbacks
from keras_dropout import config as config
from keras_dropout import functional as functional
from keras_dropout import random as random
from keras_dropout import schedules as schedules
from keras_dropout import uncertainty as uncertainty
from keras_dropout._base import BaseDropout as BaseDropout
from keras_dropout._base import mc_dropout as mc_dropout
from keras_dropout.layers.attention import (
    DropKeyMultiHeadAttention as DropKeyMultiHeadAttention,
)
from keras_dropout.layers.concrete import ConcreteDropout as ConcreteDropout
from keras_dropout.layers.concrete import concrete_regularizers as concrete_regularizers
from keras_dropout.layers.dropblock import DropBlock1D as DropBlock1D
from keras_dropout.layers.dropblock import DropBlock2D as DropBlock2D
from keras_dropout.layers.dropblock import DropBlock3D as DropBlock3D
from keras_dropout.layers.dropconnect import DropConnect as DropConnect
from keras_dropout.layers.dropconnect import DropConnectDense as DropConnectDense
from keras_dropout.layers.dropout import Dropout as Dropout
from keras_dropout.layers.droppath import DropPath as DropPath
from keras_dropout.layers.droppath import StochasticDepth as StochasticDepth
from keras_dropout.layers.droppath import SubsetDropPath as SubsetDropPath
from keras_dropout.layers.droppath import drop_path_rates as drop_path_rates
from keras_dropout.layers.embedding import EmbeddingDropout as EmbeddingDropout
from keras_dropout.layers.noise import AlphaDropout as AlphaDropout
from keras_dropout.layers.noise import GaussianDropout as GaussianDropout
from keras_dropout.layers.spatial import SpatialDropout1D as SpatialDropout1D
from keras_dropout.layers.spatial import SpatialDropout2D as SpatialDropout2D
from keras_dropout.layers.spatial import SpatialDropout3D as SpatialDropout3D
from keras_dropout.layers.tokens import DropHead as DropHead
from keras_dropout.layers.tokens import PatchDropout as PatchDropout
from keras_dropout.layers.variational import VariationalDropout as VariationalDropout
from keras_dropout.layers.zoneout import ZoneoutCell as ZoneoutCell
from keras_dropout.models import MCPrediction as MCPrediction
from keras_dropout.models import convert as convert
from keras_dropout.models import mc_predict as mc_predict
from keras_dropout.models import revert as revert

__version__ = "0.1.0"

__all__ = [
    "AlphaDropout",
    "BaseDropout",
    "ConcreteDropout",
    "DropBlock1D",
    "DropBlock2D",
    "DropBlock3D",
    "DropConnect",
    "DropConnectDense",
    "DropHead",
    "DropKeyMultiHeadAttention",
    "DropPath",
    "Dropout",
    "EmbeddingDropout",
    "GaussianDropout",
    "MCPrediction",
    "PatchDropout",
    "SpatialDropout1D",
    "SpatialDropout2D",
    "SpatialDropout3D",
    "StochasticDepth",
    "SubsetDropPath",
    "VariationalDropout",
    "ZoneoutCell",
    "__version__",
    "concrete_regularizers",
    "drop_path_rates",
    "callbacks",
    "config",
    "convert",
    "functional",
    "mc_dropout",
    "mc_predict",
    "random",
    "revert",
    "schedules",
    "uncertainty",
]
