"""keras_dropout under Keras's JAX distribution API, on 8 virtual CPU devices.

Run by `tests/test_distributed.py` in a fresh process whose environment sets
`KERAS_BACKEND=jax` and `XLA_FLAGS=--xla_force_host_platform_device_count=8`
(read once, when JAX starts). Prints one JSON line of measurements; the test
asserts on them.

* `DataParallel` over the 8 devices: `fit` on a model with a layer of every
  family; the same run again from the same variable values gives the same
  weights; the masks drawn on the 8 shards of a batch of identical rows
  (`predict` in MC mode, and a jitted training-mode call on a sharded
  batch); the same call on one device, for comparison.
* `ModelParallel` on a 2 x 4 mesh ("batch", "model") with a `LayoutMap`
  that splits Dense kernels (a plain `Dense` and the one inside
  `DropConnectDense`) over "model": `fit` runs, the kernels stay sharded.
"""

import json
import sys

import jax
import keras
import numpy as np
from jax.sharding import NamedSharding
from jax.sharding import PartitionSpec

import keras_dropout as kd
from tests._scripts.families import data
from tests._scripts.families import every_family

DEVICES = 8
ROWS = 64  # the global batch: 8 rows per device


def _values(variables):
    return [np.array(v.value) for v in variables]


def data_parallel(results):
    distribution = keras.distribution.DataParallel(devices=jax.devices())
    keras.distribution.set_distribution(distribution)
    model = every_family()
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="mse")
    model.optimizer.build(model.trainable_variables)
    state = list(model.variables) + list(model.optimizer.variables)
    start = _values(state)
    x, y = data()
    runs = []
    for _ in range(2):
        for variable, value in zip(state, start, strict=True):
            variable.assign(value)
        history = model.fit(x, y, batch_size=32, epochs=2, shuffle=False, verbose=0)
        runs.append((history.history["loss"], _values(model.weights)))
    (losses, weights), (_, again) = runs
    results["dp_losses"] = losses
    results["dp_finite"] = bool(all(np.isfinite(w).all() for w in weights))
    results["dp_reproducible"] = (
        all(np.array_equal(a, b) for a, b in zip(weights, again, strict=True))
        and runs[0][0] == runs[1][0]
    )

    # MC predictions of identical rows: the batch is split over the devices.
    drop = keras.Sequential([keras.Input((16,)), kd.Dropout(0.5, seed=3)])
    ones = np.ones((ROWS, 16), "float32")
    with kd.mc_dropout():
        zeros = drop.predict(ones, batch_size=ROWS, verbose=0) == 0
    shards = zeros.reshape(DEVICES, -1, 16)
    results["mc_distinct_shards"] = len({s.tobytes() for s in shards})
    results["mc_distinct_rows"] = len({r.tobytes() for r in zeros})

    # A jitted training-mode call on a batch sharded over the devices, as in
    # `fit`, against the same call on one device.
    mesh = jax.sharding.Mesh(np.array(jax.devices()), ("batch",))
    sharded = jax.device_put(ones, NamedSharding(mesh, PartitionSpec("batch")))
    results["train"] = {}
    for rng in ("portable", "native"):
        kd.config.set_rng(rng)
        out = _training_call(sharded)
        keras.distribution.set_distribution(None)
        single = _training_call(ones)
        keras.distribution.set_distribution(distribution)
        zeros = np.asarray(out) == 0
        results["train"][rng] = {
            "spec": str(out.sharding.spec),
            "devices": len(out.sharding.device_set),
            "distinct_shards": len({s.tobytes() for s in zeros.reshape(DEVICES, -1)}),
            "same_as_one_device": bool(np.array_equal(np.asarray(out), single)),
        }
    kd.config.set_rng("auto")
    keras.distribution.set_distribution(None)


def _training_call(x):
    layer = kd.Dropout(0.5, seed=3)
    layer.build(x.shape)
    state = [v.value for v in layer.non_trainable_variables]

    @jax.jit
    def call(state, x):
        return layer.stateless_call([], state, x, training=True)[0]

    return call(state, x) if isinstance(x, jax.Array) else np.asarray(call(state, x))


def model_parallel(results):
    mesh = keras.distribution.DeviceMesh((2, 4), ["batch", "model"], jax.devices())
    layout_map = keras.distribution.LayoutMap(mesh)
    layout_map[".*wide.*kernel"] = (None, "model")
    layout_map[".*wide.*bias"] = ("model",)
    keras.distribution.set_distribution(
        keras.distribution.ModelParallel(layout_map=layout_map, batch_dim_name="batch")
    )
    inputs = keras.Input((16,))
    h = keras.layers.Dense(32, activation="relu", name="wide")(inputs)
    h = kd.Dropout(0.3, seed=1)(h)
    dropconnect = kd.DropConnectDense(32, 0.3, seed=2, name="wide_dropconnect")
    h = kd.DropPath(0.2, seed=3)(dropconnect(h))
    model = keras.Model(inputs, keras.layers.Dense(1)(h))
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="mse")
    rng = np.random.default_rng(1)
    x = rng.normal(size=(ROWS, 16)).astype("float32")
    y = rng.normal(size=(ROWS, 1)).astype("float32")
    history = model.fit(x, y, batch_size=32, epochs=2, shuffle=False, verbose=0)
    results["mp_losses"] = history.history["loss"]
    results["mp_finite"] = bool(
        all(np.isfinite(np.asarray(w)).all() for w in model.get_weights())
    )
    results["mp_kernel_spec"] = str(model.get_layer("wide").kernel.value.sharding.spec)
    results["mp_dropconnect_kernel_spec"] = str(
        dropconnect.layer.kernel.value.sharding.spec
    )
    keras.distribution.set_distribution(None)


def main():
    results = {"devices": len(jax.devices())}
    if results["devices"] == DEVICES:
        data_parallel(results)
        model_parallel(results)
    print(json.dumps(results))


if __name__ == "__main__":
    main()
    sys.stdout.flush()
