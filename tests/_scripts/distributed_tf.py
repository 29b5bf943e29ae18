"""keras_dropout under `tf.distribute.MirroredStrategy` on 2 logical CPUs.

Run by `tests/test_distributed.py` in a fresh process with
`KERAS_BACKEND=tensorflow`: the two logical devices must be configured
before TensorFlow runs any op. Prints one JSON line of measurements; the
test asserts on them.

* `fit` in the strategy's scope on a model with a layer of every family;
* the masks the two replicas draw in one step (`strategy.run` inside a
  `tf.function`, as `fit` does) in two successive steps, on identical
  per-replica batches, for keras_dropout's `Dropout` under each generator
  and for `keras.layers.Dropout` with and without a seed.
"""

import json

import tensorflow as tf

CPU = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(
    CPU, [tf.config.LogicalDeviceConfiguration()] * 2
)

import keras  # noqa: E402 - after the device configuration
import numpy as np  # noqa: E402

import keras_dropout as kd  # noqa: E402
from tests._scripts.families import data  # noqa: E402
from tests._scripts.families import every_family  # noqa: E402


def main():
    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    results = {"replicas": strategy.num_replicas_in_sync}
    with strategy.scope():
        model = every_family()
        model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="mse")
    x, y = data()
    history = model.fit(x, y, batch_size=32, epochs=2, shuffle=False, verbose=0)
    results["losses"] = history.history["loss"]
    results["finite"] = bool(all(np.isfinite(w).all() for w in model.get_weights()))

    results["replica_masks"] = {}
    layers = {
        "keras_dropout portable": ("portable", lambda: kd.Dropout(0.5, seed=3)),
        "keras_dropout native": ("native", lambda: kd.Dropout(0.5, seed=3)),
        "keras.layers.Dropout": (None, lambda: keras.layers.Dropout(0.5, seed=3)),
        "keras.layers.Dropout, no seed": (None, lambda: keras.layers.Dropout(0.5)),
    }
    for name, (rng, make) in layers.items():
        if rng is not None:
            kd.config.set_rng(rng)
        with strategy.scope():
            layer = make()
            layer.build((8, 16))

        @tf.function
        def step(x, layer=layer):
            return strategy.run(lambda x: layer(x, training=True), args=(x,))

        steps = []  # per step, each replica's mask of 8 identical rows
        for _ in range(2):
            local = strategy.experimental_local_results(step(tf.ones((8, 16))))
            steps.append([np.asarray(t) == 0 for t in local])
        results["replica_masks"][name] = {
            "identical_across_replicas": [
                bool(np.array_equal(*replicas)) for replicas in steps
            ],
            "new_masks_next_step": not np.array_equal(steps[0][0], steps[1][0]),
            "distinct_rows_in_a_replica": len({r.tobytes() for r in steps[0][0]}),
        }
    print(json.dumps(results))


if __name__ == "__main__":
    main()
