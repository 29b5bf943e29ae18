"""Every docstring example in the package runs and prints what it shows."""

import doctest
import importlib
import pathlib

import pytest

import keras_dropout

PACKAGE = pathlib.Path(keras_dropout.__file__).parent
MODULES = sorted(
    "keras_dropout." + ".".join(p.relative_to(PACKAGE).with_suffix("").parts)
    for p in PACKAGE.rglob("*.py")
    if p.name != "__init__.py"
)


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    finder = doctest.DocTestFinder(exclude_empty=True)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    for test in finder.find(module, name):
        runner.run(test)
    result = runner.summarize(verbose=False)
    assert result.failed == 0, f"{result.failed} docstring examples failed in {name}"


def test_public_layers_have_examples():
    for name in keras_dropout.__all__:
        obj = getattr(keras_dropout, name)
        if obj is keras_dropout.BaseDropout:
            continue  # abstract: its subclasses show it in use
        if isinstance(obj, type) and issubclass(obj, keras_dropout.BaseDropout):
            assert ">>>" in (obj.__doc__ or ""), f"{name} has no example"
