"""Tacotron 2 free-running decoder speed on CPU: mel frames per second at batch 1 and batch 8, for the tiny,
demo and paper-size configs, plain graph beside XLA (the exported decode: `decode_fixed` under jit_compile,
then `finish`), with the real-time factor (seconds of audio made per second). The decoder is forced to
run a fixed number of steps (stop threshold ~1) so every item costs the same. Weights are random: speed
does not depend on them.

    python benchmarks/synthesizer_speed.py [--steps 100] [--configs tiny,demo,base]
"""
import os

from absl import app, flags

import timing  # benchmarks/timing.py (this folder is on sys.path when a benchmark runs)

FLAGS = flags.FLAGS
flags.DEFINE_integer("steps", 100, "Decoder steps per call.")
flags.DEFINE_integer("tokens", 64, "Input tokens per item (a multiple of 16, as the export pads to).")
flags.DEFINE_list("configs", ["tiny", "demo", "base"], "Synthesizer configs (configs/synthesizer/<name>.yaml).")
flags.DEFINE_list("batches", ["1", "8"], "Batch sizes.")
flags.DEFINE_float("min_time", 8.0, "Seconds to time each case for (at least two calls).")


def timed(fn, *args):
    return timing.timed(fn, *args, min_time=FLAGS.min_time)


def main(argv):
    del argv
    import numpy as np
    import tensorflow as tf

    from tfclone.config import experiment_config
    from tfclone.models.tacotron2 import build_tacotron2

    print(timing.machine())
    print(f"{'config':<8}{'batch':>6}{'graph':>7}{'frames/s':>12}{'x real time':>13}{'s/call':>9}")
    for name in FLAGS.configs:
        config = experiment_config("synthesizer", [f"configs/synthesizer/{name}.yaml"], "model.stop_threshold=0.999999")
        r = config.model.reduction_factor
        model = build_tacotron2(123, config.audio, config.model)
        # Frames per token chosen so that max_steps(tokens) is exactly --steps (read when tracing).
        model.max_decoder_steps_per_token = (FLAGS.steps - 1) * r / FLAGS.tokens
        plain = tf.function(lambda ids, n, e: model.infer(ids, n, e)["mel_length"])
        fixed = tf.function(lambda ids, n, e: model.decode_fixed(ids, n, e), jit_compile=True)

        def xla(ids, n, e):
            frames, lengths, alignment, steps = fixed(ids, n, e)
            return model.finish(frames[:, :steps * r], lengths, alignment[:, :steps])["mel_length"]

        for batch in map(int, FLAGS.batches):
            ids = tf.constant(np.random.default_rng(0).integers(3, 120, (batch, FLAGS.tokens)), tf.int32)
            lengths = tf.fill([batch], FLAGS.tokens)
            emb = tf.random.normal([batch, 256])
            for graph, fn in (("plain", plain), ("XLA", xla)):
                frames = int(tf.reduce_sum(fn(ids, lengths, emb)))
                seconds = timed(fn, ids, lengths, emb)
                rate = frames / seconds
                realtime = rate * config.audio.hop_length / config.audio.sample_rate
                print(f"{name:<8}{batch:>6}{graph:>7}{rate:>12.0f}{realtime:>13.2f}{seconds:>9.3f}", flush=True)


if __name__ == "__main__":
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    app.run(main)
