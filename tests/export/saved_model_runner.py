"""Runs a tfclone SavedModel with TensorFlow alone (no tfclone import) — the way TF Serving sees it.

    python saved_model_runner.py EXPORT_DIR INPUTS.npz OUTPUTS.npz [SIGNATURE]
"""
import sys

import numpy as np
import tensorflow as tf

export_dir, inputs_path, outputs_path = sys.argv[1:4]
signature = sys.argv[4] if len(sys.argv) > 4 else "serving_default"
inputs = dict(np.load(inputs_path))
loaded = tf.saved_model.load(export_dir)
outputs = loaded.signatures[signature](**{k: tf.constant(v) for k, v in inputs.items()})
assert not any(name == "tfclone" or name.startswith("tfclone.") for name in sys.modules), "tfclone was imported"
np.savez(outputs_path, **{k: v.numpy() for k, v in outputs.items()})
print("ok", sorted(outputs))
