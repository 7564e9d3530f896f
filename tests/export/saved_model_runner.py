"""Runs tfclone SavedModels with TensorFlow alone (no tfclone import) — the way TF Serving sees them.

    python saved_model_runner.py     one job per stdin line "EXPORT_DIR<TAB>INPUTS.npz<TAB>OUTPUTS.npz<TAB>SIGNATURE",
                                     one "@@runner ok ..." or "@@runner error ..." line per job

One process for many jobs (tests/export/helpers.py keeps one per test worker), so TensorFlow is imported
once; each job still loads its SavedModel from disk.
"""
import sys
import traceback

import numpy as np
import tensorflow as tf


def run(export_dir, inputs_path, outputs_path, signature="serving_default"):
    inputs = dict(np.load(inputs_path))
    loaded = tf.saved_model.load(export_dir)
    outputs = loaded.signatures[signature](**{k: tf.constant(v) for k, v in inputs.items()})
    assert not any(name == "tfclone" or name.startswith("tfclone.") for name in sys.modules), "tfclone was imported"
    np.savez(outputs_path, **{k: v.numpy() for k, v in outputs.items()})
    return sorted(outputs)


if __name__ == "__main__":
    for line in sys.stdin:
        try:
            names = run(*line.rstrip("\n").split("\t"))
            print("@@runner ok", " ".join(names), flush=True)
        except Exception:  # pylint: disable=broad-except
            message = traceback.format_exc().replace("\n", " | ")
            print("@@runner error", message[-3000:], flush=True)
