import os

import keras
import pytest

import keras_dropout


def pytest_report_header(config):
    return (
        f"keras {keras.__version__}, backend {keras.backend.backend()}, "
        f"keras_dropout {keras_dropout.__version__}, "
        f"rng {keras_dropout.config.get_rng()}"
    )


@pytest.fixture(autouse=True)
def _restore_rng():
    rng = keras_dropout.config.get_rng()
    yield
    keras_dropout.config.set_rng(rng)


os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
