import os
import subprocess
import sys

import numpy as np

RUNNER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "saved_model_runner.py")


def run_saved_model(export_dir, inputs, tmp_path):
    """Runs the SavedModel's serving_default in a fresh process that never imports tfclone."""
    inputs_path, outputs_path = tmp_path / "inputs.npz", tmp_path / "outputs.npz"
    np.savez(inputs_path, **inputs)
    result = subprocess.run([sys.executable, RUNNER, str(export_dir), str(inputs_path), str(outputs_path)],
                            capture_output=True, text=True, cwd=str(tmp_path), timeout=300,
                            env={**os.environ, "PYTHONPATH": ""})
    assert result.returncode == 0, result.stderr[-3000:]
    return dict(np.load(outputs_path))


def padded_batch(wavs):
    lengths = np.array([len(w) for w in wavs], np.int32)
    batch = np.zeros([len(wavs), lengths.max()], np.float32)
    for i, w in enumerate(wavs):
        batch[i, :len(w)] = w
    return batch, lengths
