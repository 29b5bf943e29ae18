"""Portability across backends and processes: `.keras` files, masks, configs.

A functional model with every keras_dropout layer (wrappers and the RNN
cell included; `tests/_scripts/portability.py` builds it) is saved as a
`.keras` file by each backend, each in its own process, and every backend
loads every file (`safe_mode=True`, no `custom_objects`). Then:

* (a) every load gives the saving process's inference outputs, within
  float tolerance: 3 x 3 pairs of (saved by, loaded by), 6 of them across
  backends;
* (b) with `config.set_rng("portable")`, the first three training-mode
  calls of a freshly loaded model give the same outputs on the three
  backends for every layer: the same units dropped (exactly) and the same
  values (within float tolerance). Compiled and eager calls draw the same
  portable masks (`test_compiled_call_matches_eager` in the harness), so
  these are the masks of the first steps of `fit` too;
* (c) configs are plain JSON: the model's and every layer's `get_config()`
  go through `json.dumps`, and the file's `config.json` holds no lambda or
  pickled function.

The cross-process part runs in one backend's pytest run only (PyTorch's
by default; set `KERAS_DROPOUT_PORTABILITY_HOME` to run it from another):
the pytest process is one of the three backends, two subprocesses the
other two, all at the same time.
"""

import hashlib
import json
import os
import subprocess
import sys
import zipfile

import keras
import numpy as np
import pytest

import keras_dropout as kd
from tests._scripts import child_env
from tests._scripts import portability as script
from tests.harness import BACKEND

BACKENDS = ("tensorflow", "jax", "torch")
OTHERS = tuple(b for b in BACKENDS if b != BACKEND)
HOME = os.environ.get("KERAS_DROPOUT_PORTABILITY_HOME", "torch")
SCRIPT = os.path.join(os.path.dirname(__file__), "_scripts", "portability.py")

# The module-scoped fixture starts subprocesses: under pytest-xdist
# (`--dist loadgroup`) the whole module runs on one worker, so only once.
pytestmark = pytest.mark.xdist_group("portability")

cross_process = pytest.mark.skipif(
    BACKEND != HOME,
    reason=f"cross-backend portability runs in the {HOME} run only",
)

OUTPUTS = sorted(script.OUTPUT_NAMES)

# ZoneoutCell's masks depend on the exact float bits of each step's inputs
# and states (each step's seed mixes in a hash of their values quantized to
# 2**-20), and those bits differ between backends by an ulp or so (a Dense
# layer before it, the cell's own matrix products): so the masks differ from
# the first step on. Strict: the mark must go when that is fixed.
NOT_PORTABLE = {
    "zoneout": "ZoneoutCell seeds each step with a hash of float values",
}


@pytest.fixture(scope="module")
def exchanged(tmp_path_factory):
    """Every backend saves its model and loads all three, concurrently.

    Returns the directory with the models and outputs (see the script).
    """
    directory = str(tmp_path_factory.mktemp("portability"))
    logs = {b: os.path.join(directory, f"{b}.log") for b in OTHERS}
    children = []
    for backend in OTHERS:
        with open(logs[backend], "w") as log:
            children.append(
                subprocess.Popen(
                    [sys.executable, SCRIPT, directory, *BACKENDS],
                    env=child_env(backend),
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            )
    rng = kd.config.get_rng()
    try:
        script.save(directory)
        for source in BACKENDS:
            script.load(directory, source)
    finally:
        kd.config.set_rng(rng)
        for child in children:
            child.wait(timeout=600)
    for backend, child in zip(OTHERS, children, strict=True):
        with open(logs[backend]) as log:
            output = log.read()
        assert child.returncode == 0, f"{backend} process failed:\n{output[-3000:]}"
    return directory


def _load(directory, kind, source, loader):
    return np.load(script._path(directory, kind, source, loader))


PAIRS = [(source, loader) for source in BACKENDS for loader in BACKENDS]


@cross_process
@pytest.mark.slow
@pytest.mark.parametrize("source, loader", PAIRS, ids=lambda b: b)
def test_loaded_model_gives_the_same_inference(exchanged, source, loader):
    saved = _load(exchanged, "infer", source, source)
    loaded = _load(exchanged, "infer", source, loader)
    assert sorted(loaded.files) == OUTPUTS
    for name in OUTPUTS:
        np.testing.assert_allclose(
            loaded[name], saved[name], rtol=1e-5, atol=1e-5, err_msg=name
        )


def _digest(array):
    """A short hash of which units are exactly zero (the dropped ones)."""
    return hashlib.sha256(np.packbits(array == 0).tobytes()).hexdigest()[:12]


@cross_process
@pytest.mark.slow
@pytest.mark.parametrize("source", BACKENDS)
@pytest.mark.parametrize(
    "output",
    [
        pytest.param(
            name,
            marks=pytest.mark.xfail(reason=NOT_PORTABLE[name], strict=True),
        )
        if name in NOT_PORTABLE
        else name
        for name in OUTPUTS
    ],
)
def test_portable_masks_are_identical_on_every_backend(exchanged, source, output):
    runs = {b: _load(exchanged, "train", source, b) for b in BACKENDS}
    for call in range(script.TRAINING_CALLS):
        key = f"{output}/{call}"
        digests = {b: _digest(runs[b][key]) for b in BACKENDS}
        assert len(set(digests.values())) == 1, (key, digests)
        for backend in BACKENDS[1:]:
            np.testing.assert_allclose(
                runs[backend][key],
                runs[BACKENDS[0]][key],
                rtol=1e-4,
                atol=1e-5,
                err_msg=f"{key}: {backend} vs {BACKENDS[0]}",
            )


@cross_process
@pytest.mark.slow
@pytest.mark.parametrize("source", BACKENDS)
def test_keras_file_config_is_plain_json(exchanged, source):
    with zipfile.ZipFile(script._path(exchanged, "model", source)) as archive:
        text = archive.read("config.json").decode("utf-8")
    config = json.loads(text)
    assert "lambda" not in text.lower()
    assert '"class_name": "function"' not in text
    registered = {
        obj["registered_name"]
        for obj in _walk(config)
        if str(obj.get("registered_name", "")).startswith("keras_dropout>")
    }
    # Every pack layer class is in the file, under its registered name.
    assert registered == {
        f"keras_dropout>{name}" for name in script.pack_layer_types(_model())
    }


def _walk(node):
    """Every dict in a JSON tree."""
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)


_MODEL = []


def _model():
    if not _MODEL:
        _MODEL.append(script.build_model())
    return _MODEL[0]


def test_every_pack_layer_is_in_the_model():
    public = {
        name
        for name in kd.__all__
        if isinstance(getattr(kd, name), type)
        and issubclass(getattr(kd, name), kd.BaseDropout)
        and name != "BaseDropout"
    }
    assert set(script.pack_layer_types(_model())) == public


def test_model_outputs():
    assert sorted(_model().output) == OUTPUTS


def test_configs_are_plain_json():
    model = _model()
    text = json.dumps(model.get_config())  # raises on anything not JSON
    # Rebuilt from the JSON text alone, with no custom objects.
    rebuilt = keras.Model.from_config(json.loads(text))
    assert json.dumps(rebuilt.get_config()) == text
    for layer in kd.models.pack_layers(model):
        text = json.dumps(layer.get_config())
        clone = type(layer).from_config(json.loads(text))
        assert json.dumps(clone.get_config()) == text
