"""What the layers keep for the backward pass (PyTorch, where it can be read).

The issue's target: a mask-style layer keeps at most one byte per input
element between the forward and backward passes (a boolean mask, not a
float copy of the noise), and a mask shared over some axes keeps only that
small mask. PyTorch's saved-tensor hooks list exactly what autograd keeps;
TensorFlow and JAX have no per-op equivalent outside a compiled program
(their figures are on the Performance page, from `make bench`).
"""

import numpy as np
import pytest

import keras_dropout
from tests.harness import BACKEND

pytestmark = pytest.mark.skipif(
    BACKEND != "torch", reason="saved-tensor hooks are PyTorch's"
)

SHAPE = (8, 16, 16, 12)  # 24576 elements
ELEMENTS = int(np.prod(SHAPE))


def _saved_bytes(layer):
    """Bytes of the tensors autograd saves in `layer`'s forward pass,
    besides the input itself."""
    import torch

    x = torch.rand(SHAPE, requires_grad=True)
    saved = {}

    def pack(tensor):
        if tensor.data_ptr() != x.data_ptr():
            saved[tensor.data_ptr()] = tensor.numel() * tensor.element_size()
        return tensor

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        y = layer(x, training=True)
    y.sum().backward()  # the saved tensors are the ones backward needs
    assert x.grad is not None
    return sum(saved.values())


@pytest.mark.parametrize(
    "make",
    [
        lambda: keras_dropout.Dropout(0.3, seed=1),
        lambda: keras_dropout.AlphaDropout(0.3, seed=1),
        lambda: keras_dropout.DropBlock2D(0.2, block_size=3, seed=1),
        lambda: keras_dropout.DropBlock2D(
            0.2, block_size=3, data_format="channels_first", seed=1
        ),
    ],
    ids=["Dropout", "AlphaDropout", "DropBlock2D", "DropBlock2D-channels_first"],
)
def test_full_masks_keep_at_most_one_byte_per_element(make):
    # The boolean mask, plus scalars (the scale factor: 4 bytes).
    assert _saved_bytes(make()) <= ELEMENTS + 64


@pytest.mark.parametrize(
    "make, mask_elements",
    [
        (lambda: keras_dropout.SpatialDropout2D(0.3, seed=1), 8 * 12),
        (lambda: keras_dropout.VariationalDropout(0.3, seed=1), 8 * 16 * 12),
        (lambda: keras_dropout.Dropout(0.3, noise_shape=(None, 1, 1, None)), 8 * 12),
    ],
    ids=["SpatialDropout2D", "VariationalDropout", "Dropout-noise_shape"],
)
def test_shared_masks_keep_only_the_small_mask(make, mask_elements):
    """A mask shared over axes is applied as one multiply by the small
    scaled mask: what backward keeps is that mask (float32), not a tensor of
    the input's size."""
    assert _saved_bytes(make()) <= 4 * mask_elements + 64
