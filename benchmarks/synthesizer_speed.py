"""Tacotron 2 free-running decoder speed on CPU: mel frames per second at batch 1 and batch 8, for the
tiny and the paper-size config, with the real-time factor (seconds of audio made per second). The
decoder is forced to run a fixed number of steps (stop threshold 1.0) so every item costs the same.

    python benchmarks/synthesizer_speed.py [--steps 100]
"""
import os
import time

from absl import app, flags

FLAGS = flags.FLAGS
flags.DEFINE_integer("steps", 100, "Decoder steps per call.")
flags.DEFINE_integer("tokens", 60, "Input tokens per item.")


def main(argv):
    del argv
    import numpy as np
    import tensorflow as tf

    from tfclone.config import experiment_config
    from tfclone.models.tacotron2 import build_tacotron2

    print(f"{'config':<8}{'batch':>6}{'frames/s':>12}{'x real time':>13}{'s/call':>9}")
    for name, files in (("tiny", ["configs/synthesizer/tiny.yaml"]), ("base", ["configs/synthesizer/base.yaml"])):
        config = experiment_config("synthesizer", files, "model.stop_threshold=0.999999")
        model = build_tacotron2(123, config.audio, config.model)
        infer = tf.function(lambda ids, n, e: model.infer(ids, n, e, max_steps=FLAGS.steps)["mel_length"])
        for batch in (1, 8):
            ids = tf.constant(np.random.default_rng(0).integers(3, 120, (batch, FLAGS.tokens)), tf.int32)
            lengths = tf.fill([batch], FLAGS.tokens)
            emb = tf.random.normal([batch, 256])
            infer(ids, lengths, emb)  # trace
            began, calls = time.perf_counter(), 0
            while time.perf_counter() - began < 10 or calls < 2:
                infer(ids, lengths, emb)
                calls += 1
            seconds = (time.perf_counter() - began) / calls
            frames = batch * FLAGS.steps * config.model.reduction_factor
            rate = frames / seconds
            realtime = rate * config.audio.hop_length / config.audio.sample_rate
            print(f"{name:<8}{batch:>6}{rate:>12.0f}{realtime:>13.2f}{seconds:>9.3f}")


if __name__ == "__main__":
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    app.run(main)
