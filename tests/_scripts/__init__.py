"""Scripts the tests run in child processes, one backend each."""

import os


def child_env(backend, **extra):
    """This process's environment for a child on `backend`, CPU only."""
    env = dict(os.environ)
    env.update(
        KERAS_BACKEND=backend,
        TF_CPP_MIN_LOG_LEVEL="3",
        JAX_PLATFORMS="cpu",
        CUDA_VISIBLE_DEVICES="",
        **extra,
    )
    return env
