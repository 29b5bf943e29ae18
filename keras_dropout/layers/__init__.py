"""The layers, one small module per family."""

from keras_dropout.layers.attention import (
    DropKeyMultiHeadAttention as DropKeyMultiHeadAttention,
)
from keras_dropout.layers.concrete import ConcreteDropout as ConcreteDropout
from keras_dropout.layers.dropblock import DropBlock1D as DropBlock1D
from keras_dropout.layers.dropblock import DropBlock2D as DropBlock2D
from keras_dropout.layers.dropblock import DropBlock3D as DropBlock3D
from keras_dropout.layers.dropconnect import DropConnect as DropConnect
from keras_dropout.layers.dropconnect import DropConnectDense as DropConnectDense
from keras_dropout.layers.dropout import Dropout as Dropout
from keras_dropout.layers.droppath import DropPath as DropPath
from keras_dropout.layers.droppath import StochasticDepth as StochasticDepth
from keras_dropout.layers.droppath import SubsetDropPath as SubsetDropPath
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
