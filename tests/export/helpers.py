import os
import subprocess
import sys

import numpy as np

RUNNER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "saved_model_runner.py")


def run_saved_model(export_dir, inputs, tmp_path, signature="serving_default"):
    """Runs one of the SavedModel's signatures in a fresh process that never imports tfclone."""
    inputs_path, outputs_path = tmp_path / "inputs.npz", tmp_path / "outputs.npz"
    np.savez(inputs_path, **inputs)
    result = subprocess.run([sys.executable, RUNNER, str(export_dir), str(inputs_path), str(outputs_path), signature],
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


def saved_model_cli_run(export_dir, inputs, tmp_path, signature="serving_default"):
    """Runs a signature through `saved_model_cli run` (TF1-style loading, as TF Serving's C++ loader does);
    returns {output name: array}."""
    import shutil

    np.savez(tmp_path / "cli_inputs.npz", **inputs)
    cli = shutil.which("saved_model_cli", path=os.path.dirname(sys.executable))
    out = tmp_path / f"cli-{signature}"
    result = subprocess.run([cli, "run", "--dir", str(export_dir), "--tag_set", "serve", "--signature_def", signature,
                             "--outdir", str(out), "--overwrite",
                             "--inputs", ";".join(f"{k}={tmp_path / 'cli_inputs.npz'}[{k}]" for k in inputs)],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    return {p.stem: np.load(p) for p in out.glob("*.npy")}
