"""Timing helpers shared by the benchmark scripts (`layers.py`, `rng.py`).

Every backend runs asynchronously to some degree (JAX dispatches and
returns; TensorFlow and PyTorch may too on an accelerator), so a timed call
counts only once its output exists: `sync` waits for it.
"""

import time


def sync(output):
    """Wait until `output` has been computed.

    JAX: `block_until_ready`. TensorFlow and PyTorch: read one element back
    to the host, which waits for the op that produced it.
    """
    import keras

    if keras.backend.backend() == "jax":
        import jax

        jax.block_until_ready(output)
        return
    keras.ops.convert_to_numpy(keras.ops.reshape(output, (-1,))[0])


def measure(step, repeats, budget, min_runs=1):
    """Time `step()` (waiting for its output): `(first_s, [timed_s, ...])`.

    The first call (tracing and compiling, for compiled modes) is timed on
    its own. If it took less than `budget` seconds, one more untimed call
    warms up caches. Then up to `repeats` calls are timed, stopping early
    once at least `min_runs` ran and `budget` seconds are spent, so that a
    slow row (Keras's Dropout under XLA takes seconds) does not hold up the
    suite.
    """
    start = time.perf_counter()
    sync(step())
    first = time.perf_counter() - start
    if first < budget:
        sync(step())
    times = []
    start = time.perf_counter()
    while len(times) < repeats:
        begin = time.perf_counter()
        sync(step())
        times.append(time.perf_counter() - begin)
        if len(times) >= min_runs and time.perf_counter() - start >= budget:
            break
    return first, times
