import atexit
import os
import queue
import subprocess
import sys
import tempfile
import threading

import numpy as np

RUNNER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "saved_model_runner.py")


_RUNNER = {}


def _runner():
    """This test worker's runner process, started on first use: TensorFlow imported once. A thread
    moves its answer lines into a queue, so a caller can wait with a timeout."""
    proc = _RUNNER.get("proc")
    if proc is None or proc.poll() is not None:
        workdir = tempfile.mkdtemp(prefix="saved_model_runner-")
        log = open(os.path.join(workdir, "stderr.txt"), "w+")
        proc = subprocess.Popen([sys.executable, RUNNER], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=log, text=True, cwd=workdir, env={**os.environ, "PYTHONPATH": ""})
        answers = queue.Queue()

        def forward():
            for line in proc.stdout:
                if line.startswith("@@runner "):
                    answers.put(line.rstrip("\n"))
            answers.put(None)  # the process ended

        threading.Thread(target=forward, daemon=True).start()
        _RUNNER.update(proc=proc, log=log, answers=answers)
        atexit.register(proc.kill)
    return proc, _RUNNER["answers"]


def run_saved_model(export_dir, inputs, tmp_path, signature="serving_default", timeout=300):
    """Runs one of the SavedModel's signatures in a process that never imports tfclone (kept for the
    worker's later calls); returns {output name: array}."""
    inputs_path, outputs_path = tmp_path / "inputs.npz", tmp_path / "outputs.npz"
    np.savez(inputs_path, **inputs)
    proc, answers = _runner()
    proc.stdin.write(f"{export_dir}\t{inputs_path}\t{outputs_path}\t{signature}\n")
    proc.stdin.flush()
    try:
        answer = answers.get(timeout=timeout)
    except queue.Empty:
        answer = None
    if answer is None:
        proc.kill()
        _RUNNER["log"].seek(0)
        raise AssertionError(f"the SavedModel runner died or timed out: {_RUNNER['log'].read()[-3000:]}")
    assert answer.startswith("@@runner ok"), answer
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
