"""The wheel holds the package and nothing else."""

import pathlib
import subprocess
import sys
import zipfile

import pytest

ROOT = pathlib.Path(__file__).parents[1]


@pytest.mark.slow
def test_wheel_holds_only_the_package(tmp_path):
    subprocess.run(
        [
            sys.executable,
            "-m",
            "build",
            "--wheel",
            "--no-isolation",
            "--outdir",
            str(tmp_path),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
    )
    (wheel,) = tmp_path.glob("keras_dropout-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "keras_dropout/py.typed" in names
    assert "keras_dropout/layers/dropout.py" in names
    outside = [
        n for n in names if not n.startswith(("keras_dropout/", "keras_dropout-"))
    ]
    assert outside == []
