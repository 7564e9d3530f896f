"""What a tool's start costs: TensorFlow imported without the modules Keras pulls in for features tfclone
never uses (tfclone.cli.UNUSED_BY_KERAS), which stay importable afterwards."""
import subprocess
import sys

import pytest

from tfclone import cli


def test_without_blocks_only_inside_and_only_modules_not_yet_imported():
    import importlib

    importlib.import_module("json")  # imported before the block
    with cli._without(("tfclone_no_such_module_x", "json")):
        with pytest.raises(ImportError, match="halted"):
            importlib.import_module("tfclone_no_such_module_x")
        assert importlib.import_module("json").dumps([1]) == "[1]"  # already imported: not blocked
    assert "tfclone_no_such_module_x" not in sys.modules  # the block is lifted: a real import is tried again
    with pytest.raises(ModuleNotFoundError, match="No module named"):
        importlib.import_module("tfclone_no_such_module_x")


def test_tool_import_of_tensorflow_leaves_out_matplotlib_and_sklearn_which_still_import_later():
    code = (
        "import sys\n"
        "from tfclone.cli import import_tensorflow\n"
        "tf = import_tensorflow()\n"
        "import keras\n"
        "print(sorted(m for m in ('matplotlib', 'sklearn') if m in sys.modules))\n"
        "y = keras.layers.Dense(3, kernel_initializer='ones')(tf.ones([2, 4]))\n"
        "print(float(tf.reduce_sum(y)))\n"
        "import matplotlib\n"
        "matplotlib.use('Agg')\n"
        "import matplotlib.pyplot as plt\n"
        "import sklearn.base\n"
        "print(type(plt.figure()).__name__, sklearn.base.BaseEstimator.__name__)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split("\n")[:3] == ["[]", "24.0", "Figure BaseEstimator"]
