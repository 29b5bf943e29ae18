"""The layers, one small module per family."""

from keras_dropout.layers.dropout import Dropout as Dropout
