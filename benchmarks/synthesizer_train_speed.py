"""Tacotron 2 training speed on CPU: seconds per teacher-forced train step (forward, backward, Adam) and
mel frames per second, for a synthetic batch of the given size, with the LSTM cells' fast backward path
(kernels transposed once per decode, `ZoneoutLSTMCell.transposed_kernels`) beside Keras's LSTMCell path
(the baseline, from the same run). Weights are random: speed does not depend on them.

    python benchmarks/synthesizer_train_speed.py [--config demo] [--batch 16] [--frames 300] [--tokens 60]
"""
import os

from absl import app, flags

import timing  # benchmarks/timing.py (this folder is on sys.path when a benchmark runs)

FLAGS = flags.FLAGS
flags.DEFINE_string("config", "demo", "Synthesizer config (configs/synthesizer/<name>.yaml).")
flags.DEFINE_integer("batch", 16, "Utterances per step.")
flags.DEFINE_integer("frames", 300, "Mel frames per utterance (300 at hop 256 / 22.05 kHz: 3.5 s).")
flags.DEFINE_integer("tokens", 60, "Input tokens per utterance.")
flags.DEFINE_float("min_time", 20.0, "Seconds to time each case for (at least two steps).")


def main(argv):
    del argv
    import numpy as np
    import tensorflow as tf

    from tfclone.config import experiment_config
    from tfclone.layers.tacotron import ZoneoutLSTMCell
    from tfclone.tasks import build_task

    config = experiment_config("synthesizer", [f"configs/synthesizer/{FLAGS.config}.yaml"], "")
    task = build_task("synthesizer", config)
    rng = np.random.default_rng(0)
    b, t, f = FLAGS.batch, FLAGS.tokens, FLAGS.frames
    batch = {"token_ids": tf.constant(rng.integers(3, len(task.symbols), (b, t)), tf.int32),
             "token_length": tf.fill([b], t),
             "speaker_embedding": tf.constant(rng.normal(size=(b, config.model.speaker_embedding_dim)), tf.float32),
             "mel": tf.constant(rng.uniform(-8, 0, (b, f, config.audio.n_mels)), tf.float32),
             "mel_length": tf.fill([b], f)}
    fast = ZoneoutLSTMCell.transposed_kernels
    print(f"config {FLAGS.config}, batch {b} x {f} frames x {t} tokens; {timing.machine()}")
    results = {}
    for name, path in [("Keras LSTMCell backward (baseline)", lambda cell: None), ("transposed kernels", fast)]:
        ZoneoutLSTMCell.transposed_kernels = path
        model = task.build_model()
        optimizer = tf.keras.optimizers.Adam(1e-4)

        @tf.function
        def step(batch):
            with tf.GradientTape() as tape:
                loss, _ = task.compute_loss(model, None, batch, training=True, step=0)
            grads = tape.gradient(loss, model.trainable_variables)
            optimizer.apply_gradients(zip(grads, model.trainable_variables))
            return loss

        seconds = timing.timed(step, batch, min_time=FLAGS.min_time)
        results[name] = seconds
        print(f"{name:<40} {seconds:6.2f} s/step  {b * f / seconds:7.0f} mel frames/s")
    ZoneoutLSTMCell.transposed_kernels = fast
    base, ours = results.values()
    print(f"train step: {ours:.2f} s ({base / ours:.2f}x the Keras path's {base:.2f} s)")


if __name__ == "__main__":
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    app.run(main)
