"""Distributed training on Keras's own engines, each in a fresh process.

* JAX (in the JAX run): `keras.distribution.DataParallel` on 8 virtual CPU
  devices and a `ModelParallel` layout for Dense kernels on a 2 x 4 mesh
  (`tests/_scripts/distributed_jax.py`). The device count is fixed when
  JAX starts (`XLA_FLAGS=--xla_force_host_platform_device_count=8`), hence
  the subprocess.
* TensorFlow (in the TensorFlow run): `tf.distribute.MirroredStrategy` over
  2 logical CPU devices (`tests/_scripts/distributed_tf.py`), which must be
  configured before TensorFlow runs its first op.

Each script prints one JSON line of measurements; the tests check them.
`docs/guides/distributed.md` explains the results.
"""

import json
import os
import subprocess
import sys

import pytest

from tests._scripts import child_env
from tests.harness import BACKEND

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _run(module, backend, **env):
    done = subprocess.run(
        [sys.executable, "-m", module],
        cwd=ROOT,
        env=child_env(backend, **env),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def jax_results():
    flags = os.environ.get("XLA_FLAGS", "")
    return _run(
        "tests._scripts.distributed_jax",
        "jax",
        XLA_FLAGS=f"{flags} --xla_force_host_platform_device_count=8".strip(),
    )


# The module-scoped fixture starts subprocesses: under pytest-xdist
# (`--dist loadgroup`) the whole module runs on one worker, so only once.
pytestmark = pytest.mark.xdist_group("distributed")

jax_only = pytest.mark.skipif(BACKEND != "jax", reason="runs in the JAX run")
tf_only = pytest.mark.skipif(
    BACKEND != "tensorflow", reason="runs in the TensorFlow run"
)


@jax_only
@pytest.mark.slow
def test_jax_data_parallel_fit(jax_results):
    assert jax_results["devices"] == 8
    assert len(jax_results["dp_losses"]) == 2
    assert all(map(_finite, jax_results["dp_losses"]))
    assert jax_results["dp_finite"]
    # The same variable values (weights, seed states, optimizer) give the
    # same run, bit for bit.
    assert jax_results["dp_reproducible"]


@jax_only
@pytest.mark.slow
def test_jax_data_parallel_masks_differ_across_shards(jax_results):
    # 64 identical rows, 8 per device: every row and every shard has its own
    # mask, in MC prediction and in a jitted training call on the sharded
    # batch.
    assert jax_results["mc_distinct_shards"] == 8
    assert jax_results["mc_distinct_rows"] == 64
    for rng in ("portable", "native"):
        train = jax_results["train"][rng]
        assert train["spec"] == "P('batch',)"
        assert train["devices"] == 8
        assert train["distinct_shards"] == 8
        # The mask is drawn over the global batch: the same as on one device.
        assert train["same_as_one_device"], rng


@jax_only
@pytest.mark.slow
def test_jax_model_parallel_dense_kernels(jax_results):
    assert all(map(_finite, jax_results["mp_losses"]))
    assert jax_results["mp_finite"]
    assert jax_results["mp_kernel_spec"] == "P(None, 'model')"
    # DropConnect's masked copy of a sharded kernel works; the kernel stays
    # split over the "model" axis.
    assert jax_results["mp_dropconnect_kernel_spec"] == "P(None, 'model')"


@tf_only
@pytest.mark.slow
def test_tensorflow_mirrored_strategy():
    results = _run("tests._scripts.distributed_tf", "tensorflow")
    assert results["replicas"] == 2
    assert all(map(_finite, results["losses"]))
    assert results["finite"]
    # Measured behaviour, explained in docs/guides/distributed.md: the
    # replicas read the same mirrored seed state, so on identical batches
    # they draw the same masks, for keras_dropout's layers (either
    # generator) as for Keras's own Dropout; the state advances, so the
    # next step draws new masks; the 8 rows of a replica differ. If this
    # changes, update the guide.
    assert set(results["replica_masks"]) == {
        "keras_dropout portable",
        "keras_dropout native",
        "keras.layers.Dropout",
        "keras.layers.Dropout, no seed",
    }
    for name, masks in results["replica_masks"].items():
        assert masks == {
            "identical_across_replicas": [True, True],
            "new_masks_next_step": True,
            "distinct_rows_in_a_replica": 8,
        }, name


def _finite(value):
    return value == value and abs(value) != float("inf")
