import subprocess
import sys

import keras
import numpy as np
import tensorflow as tf

from tfclone.config import experiment_config
from tfclone.models.tacotron2 import build_tacotron2
from tfclone.text import text_to_ids
from tfclone.text.symbols import SymbolTable

from tests.export.helpers import run_saved_model


def test_saved_model_without_tfclone_matches_keras(tmp_path, repo_root):
    keras.utils.set_random_seed(3)
    config = experiment_config("synthesizer", [str(repo_root / "configs/synthesizer/tiny.yaml")],
                               "model.max_decoder_steps_per_token=3")
    symbols = SymbolTable()
    model = build_tacotron2(len(symbols), config.audio, config.model)
    model_dir = tmp_path / "model_dir"
    config.save(str(model_dir / "config.yaml"))
    tf.train.Checkpoint(model=model).save(str(model_dir / "ckpt"))
    result = subprocess.run([sys.executable, "-m", "tools.export", "--model=synthesizer", f"--model_dir={model_dir}",
                             f"--export_dir={tmp_path / 'exported'}", "--noprenet_dropout"],
                            capture_output=True, text=True, cwd=repo_root)
    assert result.returncode == 0, result.stderr[-2000:]
    export_dir = tmp_path / "exported" / "synthesizer" / "1"
    assert SymbolTable.load(str(export_dir / "assets" / "symbols.txt")) == symbols  # vocabulary ships with it
    # Each weight is stored once (the raw tf.Variables TF Serving restores, not the Keras wrappers beside them).
    stored = [name for name, _ in tf.train.list_variables(str(export_dir / "variables" / "variables"))
              if name != "_CHECKPOINTABLE_OBJECT_GRAPH"]
    assert len(stored) == len(model.variables), (len(stored), len(model.variables))
    assert all(name.startswith("tf_variables/") for name in stored), stored[:5]
    ids = [text_to_ids(t) for t in ("Good morning, everyone.", "Hi.", "The quick brown fox jumps.")]
    token_ids = np.zeros([3, max(map(len, ids))], np.int32)
    for i, row in enumerate(ids):
        token_ids[i, :len(row)] = row
    lengths = np.array([len(r) for r in ids], np.int32)
    embedding = np.random.default_rng(0).standard_normal((3, 256)).astype(np.float32)
    served = run_saved_model(export_dir, {"token_ids": token_ids, "token_length": lengths,
                                          "speaker_embedding": embedding}, tmp_path)
    keras_side = model.infer(tf.constant(token_ids), tf.constant(lengths), tf.constant(embedding), prenet_dropout=False)
    np.testing.assert_array_equal(served["mel_length"], keras_side["mel_length"].numpy())
    assert served["mel"].shape == tuple(keras_side["mel"].shape) and served["mel"].shape[2] == 80
    np.testing.assert_allclose(served["mel"], keras_side["mel"].numpy(), atol=1e-4)
    np.testing.assert_allclose(served["alignment"], keras_side["alignment"].numpy(), atol=1e-5)
    # Batches of 1 and 2 take the XLA-compiled decode (width 16 after padding), larger ones the plain graph;
    # the `plain` signature decodes every batch in the plain graph, to the same outputs.
    signatures = tf.saved_model.load(str(export_dir)).signatures
    for rows in ([1], [0, 2]):
        n = int(lengths[rows].max())
        expected = model.infer(tf.constant(token_ids[rows, :n]), tf.constant(lengths[rows]),
                               tf.constant(embedding[rows]), prenet_dropout=False)
        for name in ("serving_default", "plain"):
            out = signatures[name](token_ids=tf.constant(token_ids[rows, :n]), token_length=tf.constant(lengths[rows]),
                                   speaker_embedding=tf.constant(embedding[rows]))
            np.testing.assert_array_equal(out["mel_length"].numpy(), expected["mel_length"].numpy())
            np.testing.assert_allclose(out["mel"].numpy(), expected["mel"].numpy(), atol=1e-4)
            np.testing.assert_allclose(out["alignment"].numpy(), expected["alignment"].numpy(), atol=1e-5)
